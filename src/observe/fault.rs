//! Pause points for the fault tests: with `CVM_PAUSE_AT=<point>` in its
//! environment a run stops at that point of its work and waits there (it
//! logs `paused at <point>` first), so a test can kill it, or take its
//! store away, at a known moment: `ingest` (some extracts staged, others
//! not), `models` (before the model fits), `publish` (every file moved
//! beside the published ones, nothing committed yet), `publish:<table>`
//! (the tables before it in name order committed, this one not). It waits for ever,
//! or, with `CVM_PAUSE_WHILE=<file>`, until that file is gone. Without the
//! variables a point costs one environment lookup.

pub const PAUSE_AT: &str = "CVM_PAUSE_AT";
pub const PAUSE_WHILE: &str = "CVM_PAUSE_WHILE";

/// Waits if the environment names this point.
pub fn pause_point(point: &str) {
    if !std::env::var(PAUSE_AT).is_ok_and(|p| p == point) {
        return;
    }
    tracing::warn!(point, "paused at {point} ({PAUSE_AT} is set)");
    let file = std::env::var_os(PAUSE_WHILE).map(std::path::PathBuf::from);
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if file.as_ref().is_some_and(|f| !f.exists()) {
            tracing::warn!(point, "resumed at {point}");
            return;
        }
    }
}
