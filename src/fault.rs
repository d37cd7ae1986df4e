//! Pause points for the fault tests: with `CVM_PAUSE_AT=<point>` in its
//! environment a run stops at that point of its work and waits there (it
//! logs `paused at <point>` first), so a test can kill it at a known moment:
//! `ingest` (some extracts staged, others not), `models` (before the model
//! fits), `publish` (every file moved beside the published ones, nothing
//! committed yet). Without the variable a point costs one environment lookup.

pub const PAUSE_VARIABLE: &str = "CVM_PAUSE_AT";

/// Waits for ever if the environment names this point.
pub fn pause_point(point: &str) {
    if std::env::var(PAUSE_VARIABLE).is_ok_and(|p| p == point) {
        tracing::warn!(point, "paused at {point} ({PAUSE_VARIABLE} is set): waiting to be killed");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
