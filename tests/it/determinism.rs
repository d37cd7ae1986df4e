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
    // replaced files vacuumed at once: the warehouse then holds one copy of each partition
    let dir = tempfile::tempdir().unwrap();
    let job = demo_job_with(dir.path(), "[publish]\nretention_hours = 0\n");
    let w = dir.path().join("warehouse");
    run_ok(&job, AS_OF, &w);
    let first = data_files(&w);
    let first_run = manifest_of(&w)["run_id"].as_str().unwrap().to_string();
    run_ok(&job, AS_OF, &w);
    assert_eq!(data_files(&w), first, "a re-run must leave exactly one copy of each partition");
    let left: Vec<_> = snapshot_files(&w)
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().contains(&format!("part-{first_run}-")))
        .collect();
    assert!(left.is_empty(), "the replaced files are deleted: {:?}", left.iter().map(|f| &f.0).collect::<Vec<_>>());
    let count = query_csv(&w, "SELECT count(*) AS n FROM customer_value");
    assert_eq!(count.lines().nth(1), Some("28"));
    // the run's staging prefix is gone
    assert!(!w.join("_staging").read_dir().map(|mut d| d.next().is_some()).unwrap_or(false));
}

#[test]
fn replaced_files_stay_for_the_retention_window() {
    let w = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), AS_OF, w.path());
    let first_run = manifest_of(w.path())["run_id"].as_str().unwrap().to_string();
    run_ok(&demo_job(), AS_OF, w.path());
    let kept: Vec<_> = snapshot_files(w.path())
        .into_iter()
        .filter(|(p, _)| {
            p.to_string_lossy().contains(&format!("customer_value/snapshot_date={AS_OF}/part-{first_run}-"))
        })
        .collect();
    assert_eq!(kept.len(), 1, "the first run's file stays for readers of version 0");
    // version 1 of the log removes it, version 0 still lists it
    let log = w.path().join("customer_value/_delta_log");
    let v1 = std::fs::read_to_string(log.join("00000000000000000001.json")).unwrap();
    assert!(v1.lines().any(|l| l.starts_with(r#"{"remove":"#) && l.contains(&first_run)), "{v1}");
    assert!(v1.lines().any(|l| l.starts_with(r#"{"add":"#) && !l.contains(&first_run)), "{v1}");
    // and cvm reads the new version only
    let count = query_csv(w.path(), "SELECT count(*) AS n FROM customer_value");
    assert_eq!(count.lines().nth(1), Some("28"));
}
