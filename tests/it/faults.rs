//! Runs killed or refused part-way: what is published stays whole and
//! readable, nothing half-written is ever visible, and the next run
//! succeeds with exactly the output of an uninterrupted one.

use std::path::Path;

use crate::support::*;

const DAY_BEFORE: &str = "2026-11-21";

/// `cvm run` for T, to pause at `point` (`CVM_PAUSE_AT`; see `start_paused`).
fn paused_run_command(point: &str, warehouse: &Path) -> std::process::Command {
    let mut cmd = cvm_process();
    cmd.args(["--log-format", "json", "run"]).arg(demo_job()).args(["--as-of", AS_OF, "--warehouse"]).arg(warehouse);
    cmd.env("CVM_PAUSE_AT", point);
    cmd
}

fn files_of_run(warehouse: &Path, run_id: &str) -> Vec<String> {
    snapshot_files(warehouse).into_iter().map(|(p, _)| p.display().to_string()).filter(|p| p.contains(run_id)).collect()
}

fn killed_at(point: &str) {
    let w = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), DAY_BEFORE, w.path());
    let before = published_rows(w.path());

    // the runs' temporary folder, where the local scratch goes
    let temp = tempfile::tempdir().unwrap();
    let mut cmd = paused_run_command(point, w.path());
    cmd.env("TMPDIR", temp.path());
    let mut paused = start_paused(cmd);
    let lock = std::fs::read_to_string(w.path().join(format!("_locks/demo/snapshot_date={AS_OF}.lock"))).unwrap();
    let killed_run = serde_json::from_str::<serde_json::Value>(&lock).unwrap()["run_id"].as_str().unwrap().to_string();
    if point == "publish" {
        // every file is moved beside the published ones: none may be visible
        assert!(files_of_run(w.path(), &killed_run).iter().any(|p| p.contains("/customer_value/snapshot_date=")));
    }
    paused.child.kill().unwrap(); // SIGKILL: no clean-up of any kind
    paused.finish();
    // its scratch (the staged subscribers, msisdn in clear) stays behind, private to the user
    let scratch = temp.path().join(format!("cvm-{killed_run}"));
    assert!(scratch.is_dir(), "killed during {point}: {} is left", scratch.display());
    if point != "ingest" {
        assert!(
            scratch.join("stg_subscribers.parquet").exists(),
            "killed during {point}: the staged subscribers are left"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&scratch).unwrap().permissions().mode() & 0o777, 0o700);
    }

    assert_eq!(published_rows(w.path()), before, "killed during {point}: what readers see must not change");
    let at_t =
        query_csv(w.path(), &format!("SELECT count(*) AS n FROM customer_value WHERE snapshot_date = '{AS_OF}'"));
    assert_eq!(at_t.lines().nth(1), Some("0"));

    // the re-run takes the dead run's lock over, sweeps its leftovers (its
    // scratch folder too) and publishes what an uninterrupted run publishes
    let mut rerun = cvm();
    rerun.env("TMPDIR", temp.path());
    run_ok_with(rerun, &demo_job(), AS_OF, w.path());
    assert!(files_of_run(w.path(), &killed_run).iter().all(|p| p.ends_with(".broken")), "leftovers swept");
    assert!(!scratch.exists(), "the killed run's scratch folder is removed by the next run");
    assert_eq!(std::fs::read_dir(temp.path()).unwrap().count(), 0, "the re-run left nothing in the temporary folder");
    let clean = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), DAY_BEFORE, clean.path());
    run_ok(&demo_job(), AS_OF, clean.path());
    assert_eq!(data_files(w.path()), data_files(clean.path()), "killed during {point}, then re-run");
}

#[test]
fn a_run_killed_during_ingest_publishes_nothing() {
    killed_at("ingest");
}

#[test]
fn a_run_killed_during_the_models_publishes_nothing() {
    killed_at("models");
}

#[test]
fn a_run_killed_during_publish_publishes_nothing() {
    killed_at("publish");
}

/// Each table's files as a Delta reader sees them (the latest version), and
/// as the latest run record lists them: table-relative paths.
fn delta_and_record_files(w: &Path, table: &str) -> (Vec<String>, Vec<String>) {
    let url = cvm::storage::StoreUrl::parse(&format!("{}/", w.display()), Path::new("/")).unwrap();
    let location = cvm::storage::Location::open(&url, &Default::default()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let state = cvm::warehouse::delta::TableLog::new(&location, table).state(None).await.unwrap();
        let record = cvm::warehouse::commit::latest(&location).await.unwrap().unwrap();
        let listed = record.files.iter().filter(|f| f.table == table);
        let listed = listed.map(|f| f.path.strip_prefix(&format!("{table}/")).unwrap().to_string()).collect();
        (state.files.into_keys().collect(), listed)
    })
}

/// A run killed between two of its table commits leaves the tables it
/// committed at a version no run record lists: a Delta reader would see
/// half a publish. The next run, of any snapshot, undoes those versions.
#[test]
fn a_run_killed_between_its_table_commits_is_undone_by_the_next_run() {
    let tables = cvm::run::PUBLISHED_TABLES;
    let w = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), DAY_BEFORE, w.path());
    let before: Vec<_> = tables.iter().map(|t| delta_and_record_files(w.path(), t)).collect();

    // tables are committed in name order: customer_value is, kpi is not
    let mut paused = start_paused(paused_run_command("publish:kpi", w.path()));
    paused.child.kill().unwrap();
    paused.finish();
    let (customer_value, listed) = delta_and_record_files(w.path(), "customer_value");
    assert_ne!(customer_value, listed, "the killed run committed customer_value");
    assert_eq!(delta_and_record_files(w.path(), "kpi"), before[tables.iter().position(|t| *t == "kpi").unwrap()]);

    // the next run is of another snapshot: it does not take the killed run's lock over
    run_ok(&demo_job(), DAY_BEFORE, w.path());
    for table in tables {
        let (delta, listed) = delta_and_record_files(w.path(), table);
        assert_eq!(delta, listed, "{table}: a Delta reader sees what the run record lists");
    }
    let at_t =
        query_csv(w.path(), &format!("SELECT count(*) AS n FROM customer_value WHERE snapshot_date = '{AS_OF}'"));
    assert_eq!(at_t.lines().nth(1), Some("0"));
    // and T publishes as if the killed run had never been
    run_ok(&demo_job(), AS_OF, w.path());
    let clean = tempfile::tempdir().unwrap();
    for as_of in [DAY_BEFORE, DAY_BEFORE, AS_OF] {
        run_ok(&demo_job(), as_of, clean.path());
    }
    assert_eq!(published_rows(w.path()), published_rows(clean.path()));
}

#[test]
fn a_second_run_of_the_same_snapshot_is_refused_with_its_own_exit_code() {
    let w = tempfile::tempdir().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let locks = w.path().join("_locks/demo");
    std::fs::create_dir_all(&locks).unwrap();
    // held by a live process of this host (this test) until tomorrow
    let lock = serde_json::json!({
        "run_id": "20261122T010000Z-00000001", "job": "demo", "snapshot_date": AS_OF,
        "host": host, "pid": std::process::id(),
        "acquired_at": "2026-11-23T01:00:00Z", "expires_at": "2099-01-01T00:00:00Z"
    });
    std::fs::write(locks.join(format!("snapshot_date={AS_OF}.lock")), lock.to_string()).unwrap();
    let out = run_job(&demo_job(), None, w.path());
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another run holds the lock") && stderr.contains("20261122T010000Z-00000001"), "{stderr}");
    assert!(!w.path().join("_commits").exists(), "the refused run did nothing");
    // another snapshot of the same job is not locked
    run_ok(&demo_job(), DAY_BEFORE, w.path());
}

/// Bytes a folder takes on a filesystem of 4 KiB blocks.
fn disk_usage(dir: &Path) -> u64 {
    snapshot_files(dir).iter().map(|(_, b)| (b.len() as u64).div_ceil(4096).max(1) * 4096).sum()
}

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_the_run_and_loses_nothing() {
    // how much one run takes, measured on an ordinary folder
    let probe = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), AS_OF, probe.path());
    let one_run = disk_usage(probe.path());

    // a filesystem with room for one run's output but not for a second beside it
    let dir = tempfile::tempdir().unwrap();
    let size = one_run * 3 / 2;
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir.path())
        .output();
    match mounted {
        Ok(o) if o.status.success() => {}
        other => {
            eprintln!("SKIPPED a_full_disk_fails_the_run_and_loses_nothing: cannot mount a tmpfs here: {other:?}");
            return;
        }
    }
    let _mount = Mount(dir.path().to_path_buf());
    let w = dir.path().join("warehouse");
    run_ok(&demo_job(), AS_OF, &w);
    let before = published_rows(&w);

    let out = run_job(&demo_job(), None, &w);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("No space left on device") && stderr.contains("/_staging/"), "{stderr}");
    assert_eq!(published_rows(&w), before, "what was published is untouched");
    let staged = snapshot_files(&w.join("_staging"));
    assert!(
        staged.is_empty(),
        "the failed run cleans up its staging: {:?}",
        staged.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
}

#[test]
fn a_warehouse_without_write_permission_fails_clearly_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("warehouse");
    run_ok(&demo_job(), DAY_BEFORE, &w);
    let before = published_rows(&w);
    let read_only = |mode: &str| {
        let s = std::process::Command::new("chmod").args(["-R", mode]).arg(&w).status().unwrap();
        assert!(s.success());
    };
    read_only("a-w");

    // root writes anywhere: run as nobody, with copies of the binary, the job
    // file and the extracts where nobody can read them
    let is_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let out = if is_root {
        let bin = dir.path().join("cvm");
        std::fs::copy(assert_cmd::cargo::cargo_bin("cvm"), &bin).unwrap();
        let input = dir.path().join("input");
        copy_dir(&repo().join("fixtures/demo/input"), &input);
        // the clone itself may sit where nobody cannot read (a 0700 home or temp folder)
        let job = dir.path().join("demo.toml");
        std::fs::copy(demo_job(), &job).unwrap();
        std::process::Command::new("chmod").args(["-R", "a+rX"]).arg(dir.path()).status().unwrap();
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .arg("run")
            .arg(&job)
            .args(["--as-of", AS_OF, "--input-root"])
            .arg(&input)
            .arg("--warehouse")
            .arg(&w)
            .output()
            .unwrap()
    } else {
        run_job(&demo_job(), None, &w)
    };
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Permission denied") && stderr.contains(&w.display().to_string()), "{stderr}");
    read_only("u+w");
    assert_eq!(published_rows(&w), before, "what was published is untouched");
}
