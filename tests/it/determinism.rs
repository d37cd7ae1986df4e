//! The same job run twice gives identical Parquet content, and a re-run
//! replaces the snapshot's partitions instead of adding to them.

use crate::support::*;

#[test]
fn two_runs_write_identical_parquet() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert!(run_job(&demo_job(), None, a.path()).status.success());
    assert!(run_job(&demo_job(), None, b.path()).status.success());
    let (fa, fb) = (data_files(a.path()), data_files(b.path()));
    assert!(fa.iter().any(|(p, _)| p.starts_with("customer_value/snapshot_date=2026-11-22/")));
    assert_eq!(fa.len(), fb.len());
    for ((pa, ba), (pb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(pa, pb);
        assert!(ba == bb, "{pa} differs between two runs");
    }
}

#[test]
fn a_rerun_replaces_the_snapshot() {
    let w = tempfile::tempdir().unwrap();
    assert!(run_job(&demo_job(), None, w.path()).status.success());
    let first = data_files(w.path());
    let first_run = manifest_of(w.path())["run_id"].as_str().unwrap().to_string();
    assert!(run_job(&demo_job(), None, w.path()).status.success());
    assert_eq!(data_files(w.path()), first, "a re-run must leave exactly one copy of each partition");
    let left: Vec<_> = snapshot_files(w.path())
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().contains(&format!("part-{first_run}-")))
        .collect();
    assert!(left.is_empty(), "the replaced files are deleted: {:?}", left.iter().map(|f| &f.0).collect::<Vec<_>>());
    let count = query_csv(w.path(), "SELECT count(*) AS n FROM customer_value");
    assert_eq!(count.lines().nth(1), Some("28"));
    // the run's staging prefix is gone
    assert!(!w.path().join("_staging").read_dir().map(|mut d| d.next().is_some()).unwrap_or(false));
}
