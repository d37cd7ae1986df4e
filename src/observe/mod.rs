//! Watching a process from outside its work: logs, the progress line, the
//! memory the kernel counts, the allocator's settings and the fault tests'
//! pause points. Nothing here knows what a run is.

pub mod allocator;
pub mod fault;
pub mod logging;
pub mod memory;
pub mod progress;
