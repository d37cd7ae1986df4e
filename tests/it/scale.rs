//! Scale on one machine: the engine's memory cap, and incremental usage_daily.

use crate::support::*;

/// A run whose engine may hold less than its working set completes by
/// spilling, and publishes what an uncapped run publishes.
#[test]
fn a_run_under_a_memory_cap_smaller_than_its_working_set_spills_and_matches() {
    let dir = tempfile::tempdir().unwrap();
    // fixed parallelism: the cap is shared by the operators of each partition
    let job = demo_job_with(dir.path(), "[engine]\ntarget_partitions = 2\n");
    let free = dir.path().join("free");
    run_ok(&job, AS_OF, &free);
    let working_set = manifest_of(&free)["engine_memory"]["peak_reserved_bytes"].as_u64().unwrap();

    let cap: u64 = 16 << 20;
    assert!(working_set > cap, "the demo's working set ({working_set} bytes) no longer exceeds the test's cap");
    let capped = dir.path().join("capped");
    let spill = dir.path().join("spill");
    let out = cvm()
        .arg("run")
        .arg(&job)
        .args(["--as-of", AS_OF, "--memory-limit", "16MiB", "--spill-dir"])
        .arg(&spill)
        .arg("--warehouse")
        .arg(&capped)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let memory = &manifest_of(&capped)["engine_memory"];
    assert_eq!(memory["limit_bytes"].as_u64(), Some(cap));
    assert!(memory["peak_reserved_bytes"].as_u64().unwrap() <= cap, "{memory}");
    assert!(memory["refused_reservations"].as_u64().unwrap() > 0, "nothing spilled: {memory}");
    assert!(manifest_of(&capped)["peak_rss_bytes"].as_u64().unwrap() > 0);
    assert_eq!(published_rows(&capped), published_rows(&free));
}
