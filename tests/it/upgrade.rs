//! A warehouse written by a cvm from before Delta Lake tables (plain
//! Parquet and the run records of format cvm-commit/1) is refused until
//! `cvm upgrade` converts it; the conversion moves and rewrites nothing, and
//! every value reads as before.

use std::path::Path;

use crate::support::*;

/// Turns a warehouse into what an older cvm left: no Delta logs, the latest
/// record in the old format.
fn make_old(warehouse: &Path) {
    for (path, _) in snapshot_files(warehouse) {
        if path.to_string_lossy().contains("/_delta_log/") {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let records = warehouse.join("_commits");
    let latest = std::fs::read_dir(&records).unwrap().map(|e| e.unwrap().path()).max().unwrap();
    let mut record: serde_json::Value = serde_json::from_slice(&std::fs::read(&latest).unwrap()).unwrap();
    record["format"] = "cvm-commit/1".into();
    record.as_object_mut().unwrap().remove("tables");
    std::fs::write(&latest, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
}

#[test]
fn an_old_warehouse_is_refused_then_converted_without_a_change_of_value() {
    let w = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), AS_OF, w.path());
    let before = published_rows(w.path());
    make_old(w.path());

    let refused = run_job(&demo_job(), None, w.path());
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("cvm upgrade"), "{message}");

    let upgrade = || cvm().arg("upgrade").arg(w.path()).output().unwrap();
    let out = upgrade();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("customer_value: 1 files, now version 0"), "{printed}");
    assert!(w.path().join("customer_value/_delta_log/00000000000000000000.json").exists());
    assert_eq!(published_rows(w.path()), before, "every value reads as before");
    // twice is harmless
    let again = upgrade();
    assert!(again.status.success() && String::from_utf8_lossy(&again.stdout).contains("already"));

    // and the next run commits version 1 on top of the converted log
    run_ok(&demo_job(), AS_OF, w.path());
    assert!(w.path().join("customer_value/_delta_log/00000000000000000001.json").exists());
    assert_eq!(published_rows(w.path()), before);
}
