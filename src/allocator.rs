//! How the allocator (mimalloc, the binary's global allocator) treats the
//! memory a run frees.
//!
//! By default mimalloc returns freed pages to the OS a second after they are
//! freed. A night frees most of its memory at the end of ingest, and the
//! feature step that follows faulted it back in page by page: at 1M
//! subscribers that was a quarter of the step (docs/benchmarks.md, "The
//! allocator"). A run without a memory cap therefore keeps what it frees for
//! reuse, on 2 MiB pages where the kernel gives them, the way DuckDB keeps
//! its buffer pool: its peak resident size is the high-water mark of its
//! heap. A run with a cap keeps mimalloc's defaults, so that its resident
//! size follows the engine's use of the cap.

use libmimalloc_sys::{mi_option_large_os_pages, mi_option_set, mi_option_set_enabled, mi_option_t};

/// mimalloc's `mi_option_purge_delay` (ms; -1: never purge). Not among the
/// crate's constants; its position in mimalloc 3's `mi_option_e`.
const MI_OPTION_PURGE_DELAY: mi_option_t = 15;

/// Sets the allocator up for a run with (`Some`) or without a memory cap.
/// Call before the run allocates much; it affects this process only.
pub fn tune_for_run(memory_limit: Option<u64>) {
    if memory_limit.is_some() {
        return;
    }
    // SAFETY: mimalloc's option setters only store a value, read on later
    // allocations; any thread may call them at any time.
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        mi_option_set_enabled(mi_option_large_os_pages, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libmimalloc_sys::{mi_option_get, mi_option_use_numa_nodes};

    /// The number still means the purge delay: the option before the crate's
    /// `use_numa_nodes`, holding mimalloc 3's default for it (1000 ms, where
    /// the options around it hold small counts).
    #[test]
    fn the_purge_delay_option_is_the_one_we_set() {
        assert_eq!(MI_OPTION_PURGE_DELAY, mi_option_use_numa_nodes - 1);
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, 1000);
        }
    }
}
