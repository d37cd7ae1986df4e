//! How the allocator (mimalloc, the binary's global allocator) and the
//! kernel treat a run's memory.
//!
//! By default mimalloc returns freed pages to the OS a second after they are
//! freed. A night frees most of its memory at the end of ingest, and the
//! feature step that follows faulted it back in page by page: at 1M
//! subscribers that was a quarter of the step (docs/benchmarks.md, "The
//! allocator"). A run without a memory cap therefore keeps what it frees for
//! reuse, the way DuckDB keeps its buffer pool: its peak resident size is the
//! high-water mark of its heap. A run with a cap keeps mimalloc's purging, so
//! that its resident size follows the engine's use of the cap.
//!
//! Every run turns transparent huge pages off for its process. The kernel
//! zeroes a 2 MiB page whole on its first touch, and on the virtual machines
//! cvm was measured on that first touch was slow and erratic: a third of a
//! 100k night's CPU time was the kernel clearing huge pages, for the model
//! step's matrices as much as the engine's hash tables. With 4 KiB pages the
//! 100k night went from 17 s to 12.5 s and the 1M night 2 from 59-63 s to
//! 54-56 s (docs/benchmarks.md, "Fourth pass: huge pages off").

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// mimalloc's `mi_option_purge_delay` (ms; -1: never purge). Not among the
/// crate's constants; its position in mimalloc 3's `mi_option_e`.
const MI_OPTION_PURGE_DELAY: mi_option_t = 15;

/// mimalloc's `mi_option_allow_thp`: whether it asks the kernel for huge
/// pages (`madvise`). Not among the crate's constants either.
const MI_OPTION_ALLOW_THP: mi_option_t = 43;

/// Sets the allocator up for a run with (`Some`) or without a memory cap.
/// Call before the run allocates much; it affects this process (and the
/// processes it starts) only.
pub fn tune_for_run(memory_limit: Option<u64>) {
    disable_transparent_huge_pages();
    if memory_limit.is_none() {
        // SAFETY: mimalloc's option setters only store a value, read on later
        // allocations; any thread may call them at any time.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

/// Small pages only, for this process: mimalloc stops asking for huge pages
/// and the kernel gives none, whatever its system-wide setting.
fn disable_transparent_huge_pages() {
    // SAFETY: as above
    unsafe { mi_option_set(MI_OPTION_ALLOW_THP, 0) };
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes plain integers and changes only a flag of this
        // process's memory map. A kernel without it returns an error, and the run goes on
        // with the kernel's default.
        let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libmimalloc_sys::{_mi_option_last, mi_option_get, mi_option_use_numa_nodes};

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

    /// The number still means allow_thp: the fourth option from the end of
    /// mimalloc 3's list (minimal_purge_size, arena_max_object_size and
    /// arena_is_numa_local follow it), on by default; turning huge pages off
    /// sets it to 0 and the process's flag. One test, as the two steps share
    /// the process's state.
    #[test]
    fn huge_pages_are_off_after_tuning() {
        assert_eq!(MI_OPTION_ALLOW_THP, _mi_option_last - 4);
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            assert_eq!(unsafe { mi_option_get(MI_OPTION_ALLOW_THP) }, 1);
        }
        disable_transparent_huge_pages();
        assert_eq!(unsafe { mi_option_get(MI_OPTION_ALLOW_THP) }, 0);
        #[cfg(target_os = "linux")]
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) }, 1);
    }
}
