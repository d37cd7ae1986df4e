//! Runs publishing at the same time lose nothing. Each interleaving is made
//! deterministic with pause points (`CVM_PAUSE_AT`, `CVM_PAUSE_WHILE`): one
//! run waits at a known step while another runs, and the warehouse is
//! then compared, value for value, with a sequential build.

use std::path::Path;

use crate::support::*;

/// The usage of one day, summed per line, as cvm reads it.
fn usage_of_day(warehouse: &Path, day: &str) -> String {
    query_csv(
        warehouse,
        &format!(
            "SELECT subscriber_id, sum(events) AS events, sum(voice_seconds) AS voice_seconds FROM usage_daily \
             WHERE event_date = DATE '{day}' GROUP BY subscriber_id ORDER BY subscriber_id"
        ),
    )
}

fn run_at(landing: &Path, as_of: &str, warehouse: &Path) -> std::process::Command {
    let mut cmd = cvm_process();
    cmd.args(["--log-format", "json", "run"]).arg(demo_job()).args(["--as-of", as_of, "--warehouse"]).arg(warehouse);
    cmd.arg("--input-root").arg(landing);
    cmd
}

fn succeeds(mut cmd: std::process::Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

const LATE: &str =
    "subscriber_id,event_time,event_type,direction,duration_s,volume_bytes,charged_amount,other_party,roaming";

/// Path 1 of issue 19: a run that rebuilt a usage day from what it read
/// must not replace the day once another run has folded a file into it.
#[test]
fn two_runs_rebuilding_the_same_usage_day_lose_nothing() {
    let landing = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("fixtures/demo/input"), landing.path());
    let late = |name: &str, line: &str| {
        let path = landing.path().join(format!("cdr/dt=2026-11-22/{name}"));
        std::fs::write(path, format!("{LATE}\n{line}\n")).unwrap();
    };
    let w = tempfile::tempdir().unwrap();
    succeeds(run_at(landing.path(), "2026-11-21", w.path()));
    let before = usage_of_day(w.path(), "2026-11-20");

    // run B (T = 22nd) folds a late extract into the 20th and waits before publishing
    late("late-1.csv", "S002,2026-11-20T09:00:00Z,voice,out,300,,,+339999,false");
    let pause = tempfile::NamedTempFile::new().unwrap();
    let mut b = run_at(landing.path(), AS_OF, w.path());
    b.env("CVM_PAUSE_AT", "publish").env("CVM_PAUSE_WHILE", pause.path());
    let b = start_paused(b);

    // meanwhile run A (T = 23rd) folds that extract and a second one into the 20th, and publishes
    late("late-2.csv", "S003,2026-11-20T11:00:00Z,voice,out,700,,,+338888,false");
    succeeds(run_at(landing.path(), "2026-11-23", w.path()));
    let with_both = usage_of_day(w.path(), "2026-11-20");
    assert_ne!(with_both, before);

    // B's rebuild of the 20th lacks the second extract: it must not publish
    pause.close().unwrap();
    let (code, log) = b.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("event_date=2026-11-20") && log.contains("run it again"), "{log}");
    assert_eq!(usage_of_day(w.path(), "2026-11-20"), with_both, "the other run's usage is kept");
    let at_t =
        query_csv(w.path(), &format!("SELECT count(*) AS n FROM customer_value WHERE snapshot_date = '{AS_OF}'"));
    assert_eq!(at_t.lines().nth(1), Some("0"), "nothing of the conflicting run is published");

    // re-run, B publishes; the warehouse equals a sequential build of the
    // same runs over the same landing (the late extracts kept aside for the first)
    succeeds(run_at(landing.path(), AS_OF, w.path()));
    let sequential = tempfile::tempdir().unwrap();
    let aside = tempfile::tempdir().unwrap();
    let late_dir = landing.path().join("cdr/dt=2026-11-22");
    for name in ["late-1.csv", "late-2.csv"] {
        std::fs::rename(late_dir.join(name), aside.path().join(name)).unwrap();
    }
    succeeds(run_at(landing.path(), "2026-11-21", sequential.path()));
    for name in ["late-1.csv", "late-2.csv"] {
        std::fs::rename(aside.path().join(name), late_dir.join(name)).unwrap();
    }
    succeeds(run_at(landing.path(), "2026-11-23", sequential.path()));
    succeeds(run_at(landing.path(), AS_OF, sequential.path()));
    assert_eq!(published_rows(w.path()), published_rows(sequential.path()));
}

/// Path 6 of issue 19: a failing run sweeps its own leftovers and those of
/// dead runs, never the staging of a run that is still live, however old.
#[test]
fn a_failing_run_leaves_the_staging_of_live_runs_alone() {
    let w = tempfile::tempdir().unwrap();
    let landing = repo().join("fixtures/demo/input");
    // run X stages its tables and waits before the models
    let pause = tempfile::NamedTempFile::new().unwrap();
    let mut x = run_at(&landing, "2026-11-21", w.path());
    x.env("CVM_PAUSE_AT", "models").env("CVM_PAUSE_WHILE", pause.path());
    let x = start_paused(x);
    let staging = w.path().join("_staging");
    let staged: Vec<_> = snapshot_files(&staging).into_iter().map(|(p, _)| p).collect();
    assert!(!staged.is_empty(), "run X has staged tables");
    // ... for longer than the lock's TTL (a long run whose lock is still live)
    let touched = std::process::Command::new("touch").arg("-d").arg("7 hours ago").args(&staged).status().unwrap();
    assert!(touched.success());

    // another snapshot's run fails (its extracts are missing)
    let missing = tempfile::tempdir().unwrap();
    let failed = run_at(missing.path(), AS_OF, w.path()).output().unwrap();
    assert!(!failed.status.success());
    assert!(staged.iter().all(|p| p.exists()), "the live run's staged tables are kept");

    pause.close().unwrap();
    let (code, log) = x.finish();
    assert_eq!(code, Some(0), "{log}");
}

/// Path 3 of issue 19: a run whose lock was taken over while it worked (its
/// TTL ran out on a frozen host, a skewed clock) publishes nothing.
#[test]
fn a_run_that_lost_its_lock_publishes_nothing() {
    let w = tempfile::tempdir().unwrap();
    let landing = repo().join("fixtures/demo/input");
    let pause = tempfile::NamedTempFile::new().unwrap();
    let mut run = run_at(&landing, AS_OF, w.path());
    run.env("CVM_PAUSE_AT", "publish").env("CVM_PAUSE_WHILE", pause.path());
    let run = start_paused(run);
    // another run takes the lock over, as it would once the TTL ran out
    let lock = w.path().join(format!("_locks/demo/snapshot_date={AS_OF}.lock"));
    let mut record: serde_json::Value = serde_json::from_slice(&std::fs::read(&lock).unwrap()).unwrap();
    record["run_id"] = "20991231T000000Z-7a4e0000".into();
    std::fs::write(&lock, serde_json::to_vec(&record).unwrap()).unwrap();

    pause.close().unwrap();
    let (code, log) = run.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("lost its lock") && log.contains("20991231T000000Z-7a4e0000"), "{log}");
    assert!(!w.path().join("_commits").exists(), "nothing published");
    assert!(!w.path().join("customer_value/_delta_log").exists());
}

/// Path 4 of issue 19: a run that dies at publish leaves the contacts
/// (msisdn, for exports) of the run that published the snapshot in use.
#[test]
fn contacts_of_a_run_that_died_before_its_commit_are_never_exported() {
    let w = tempfile::tempdir().unwrap();
    let landing = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("fixtures/demo/input"), landing.path());
    succeeds(run_at(landing.path(), AS_OF, w.path()));
    let export = || {
        let file = w.path().join("_exports/winback.csv");
        let out = cvm_process()
            .args(["campaign", "export"])
            .arg(demo_job())
            .args(["--as-of", AS_OF, "--warehouse"])
            .arg(w.path())
            .args(["--campaign", "winback_dormant", "--with-msisdn", "--output"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read_to_string(file).unwrap()
    };
    let published = export();
    assert!(published.contains("+3361000010"), "{published}");

    // the line's number changes in a new extract; that run dies before its commit
    let subscribers = landing.path().join("subscribers/dt=2026-11-22/part-0.csv");
    let text = std::fs::read_to_string(&subscribers).unwrap().replace("+3361000010", "+3369999999");
    std::fs::write(&subscribers, text).unwrap();
    let mut run = run_at(landing.path(), AS_OF, w.path());
    run.env("CVM_PAUSE_AT", "publish");
    let mut run = start_paused(run);
    run.child.kill().unwrap();
    run.finish();

    assert_eq!(export(), published, "the exported numbers are the published run's");

    // once a run publishes the new extract, its contacts are the only ones kept
    succeeds(run_at(landing.path(), AS_OF, w.path()));
    assert!(export().contains("+3369999999"));
    let contacts = w.path().join(format!("_restricted/contacts/snapshot_date={AS_OF}"));
    assert_eq!(std::fs::read_dir(contacts).unwrap().count(), 1);
}

/// The files of a table's latest Delta version.
fn delta_files(warehouse: &Path, table: &str) -> Vec<String> {
    let url = cvm::storage::StoreUrl::parse(&format!("{}/", warehouse.display()), Path::new("/")).unwrap();
    let location = cvm::storage::Location::open(&url, &Default::default()).unwrap();
    let log = cvm::warehouse::delta::TableLog::new(&location, table);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(log.state(None)).unwrap().files.into_keys().collect()
}

/// A conflict found on one table after others were committed: those are
/// undone, and every table reads as before the run, for Delta readers too.
#[test]
fn a_conflict_on_a_later_table_undoes_the_tables_already_committed() {
    let w = tempfile::tempdir().unwrap();
    let landing = repo().join("fixtures/demo/input");
    succeeds(run_at(&landing, AS_OF, w.path()));
    let before: Vec<_> = ["_usage_by_file", "campaigns", "customer_value", "kpi"]
        .iter()
        .map(|t| (t.to_string(), delta_files(w.path(), t)))
        .collect();
    let rows = published_rows(w.path());

    // a re-run commits _usage_by_file, campaigns and customer_value, then waits before kpi
    let pause = tempfile::NamedTempFile::new().unwrap();
    let mut run = run_at(&landing, AS_OF, w.path());
    run.env("CVM_PAUSE_AT", "publish:kpi").env("CVM_PAUSE_WHILE", pause.path());
    let run = start_paused(run);
    assert_ne!(delta_files(w.path(), "customer_value"), before[2].1, "customer_value is committed");
    // another writer rewrites kpi's snapshot meanwhile (here: adds a copy of its file)
    let kpi = w.path().join("kpi");
    let partition_file = before[3].1.first().unwrap().clone();
    let copy = partition_file.replace(".parquet", "-copy.parquet");
    std::fs::copy(kpi.join(&partition_file), kpi.join(&copy)).unwrap();
    let size = std::fs::metadata(kpi.join(&copy)).unwrap().len();
    let version = std::fs::read_dir(kpi.join("_delta_log")).unwrap().count();
    let add = serde_json::json!({"add": {"path": copy, "partitionValues": {"snapshot_date": AS_OF},
        "size": size, "modificationTime": 0, "dataChange": true}});
    let info = serde_json::json!({"commitInfo": {"operation": "WRITE", "engineInfo": "another-writer"}});
    std::fs::write(kpi.join(format!("_delta_log/{version:020}.json")), format!("{info}\n{add}\n")).unwrap();

    pause.close().unwrap();
    let (code, log) = run.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("another-writer"), "{log}");
    for (table, files) in &before[..3] {
        assert_eq!(&delta_files(w.path(), table), files, "{table} is back as it was");
    }
    assert_eq!(published_rows(w.path()), rows, "cvm's readers never saw the run");
}
