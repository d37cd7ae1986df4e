//! The process's memory, as the kernel counts it: the peak resident set
//! (VmHWM) for the run manifest and the benchmarks. Linux only; elsewhere
//! every figure is None.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation};

/// Peak resident set size of this process in bytes since it started, or
/// since the last [`reset_peak`].
pub fn peak_rss() -> Option<u64> {
    status_kib("VmHWM:").map(|kib| kib * 1024)
}

/// Resident set size now, in bytes.
pub fn current_rss() -> Option<u64> {
    status_kib("VmRSS:").map(|kib| kib * 1024)
}

/// Starts a new peak at the current resident size, so the next
/// [`peak_rss`] is the peak of what ran in between (one step's peak).
/// Returns false where the kernel does not allow it; the peak then stays
/// the process's whole-life peak.
pub fn reset_peak() -> bool {
    // "5" resets the peak RSS (proc(5), clear_refs, since Linux 4.0)
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_peak_follows_what_was_touched_and_resets() {
        let before = peak_rss().unwrap();
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        // the current size first: tests on other threads allocate meanwhile,
        // and a size read after the peak may exceed it
        let current = current_rss().unwrap();
        let peak = peak_rss().unwrap();
        assert!(peak >= before.max(current), "{peak} {before} {current}");
        assert!(peak >= 64 << 20);
        drop(block);
        if reset_peak() {
            assert!(peak_rss().unwrap() < peak, "the peak restarts at the current size");
        }
    }
}

/// The engine's memory pool, metered: the limit as given (or none), the
/// peak of what operators reserved, and how often a reservation was
/// refused (each refusal makes a spilling operator spill, or fails a query
/// whose operator cannot). Figures for the manifest and the benchmarks.
#[derive(Debug)]
pub struct MeteredPool {
    inner: Arc<dyn MemoryPool>,
    peak: AtomicUsize,
    refused: AtomicU64,
}

/// What the engine's memory pool saw during a run.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PoolReport {
    pub limit_bytes: Option<u64>,
    pub peak_reserved_bytes: u64,
    pub refused_reservations: u64,
}

impl MeteredPool {
    pub fn new(inner: Arc<dyn MemoryPool>) -> Self {
        MeteredPool { inner, peak: AtomicUsize::new(0), refused: AtomicU64::new(0) }
    }

    pub fn report(&self) -> PoolReport {
        PoolReport {
            limit_bytes: match self.inner.memory_limit() {
                MemoryLimit::Finite(n) => Some(n as u64),
                _ => None,
            },
            peak_reserved_bytes: self.peak.load(Ordering::Relaxed) as u64,
            refused_reservations: self.refused.load(Ordering::Relaxed),
        }
    }

    fn note_reserved(&self) {
        self.peak.fetch_max(self.inner.reserved(), Ordering::Relaxed);
    }
}

impl std::fmt::Display for MeteredPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "metered {}", self.inner)
    }
}

impl MemoryPool for MeteredPool {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.note_reserved();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> datafusion::error::Result<()> {
        let result = self.inner.try_grow(reservation, additional);
        match &result {
            Ok(()) => self.note_reserved(),
            Err(_) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}
