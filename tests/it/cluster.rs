//! The demo job on a real Ballista cluster: `cvm scheduler` and two
//! `cvm executor` processes on 127.0.0.1, a shared folder as the store.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// The cluster's processes, stopped when dropped.
struct Cluster {
    processes: Vec<Child>,
    scheduler_port: u16,
}

impl Cluster {
    /// The `--engine` URL of its scheduler.
    fn engine(&self) -> String {
        format!("df://127.0.0.1:{}", self.scheduler_port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port nothing listens on now (and its successor, for an executor's task port).
fn free_port_pair() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

fn start_cluster(dir: &Path, executors: usize) -> Cluster {
    let scheduler_port = free_port_pair();
    let log = |name: &str| Stdio::from(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap());
    let scheduler = cvm_process()
        .args(["scheduler", "--bind", &format!("127.0.0.1:{scheduler_port}")])
        .stdout(log("scheduler-out"))
        .stderr(log("scheduler"))
        .spawn()
        .expect("cvm scheduler starts");
    let mut cluster = Cluster { processes: vec![scheduler], scheduler_port };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", scheduler_port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "the scheduler never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    for n in 0..executors {
        let port = free_port_pair();
        let executor = cvm_process()
            .args(["executor", "--scheduler", &format!("127.0.0.1:{scheduler_port}")])
            .args(["--port", &port.to_string(), "--slots", "1"])
            .arg("--work-dir")
            .arg(dir.join(format!("executor-{n}")))
            .stdout(log(&format!("executor-{n}-out")))
            .stderr(log(&format!("executor-{n}")))
            .spawn()
            .expect("cvm executor starts");
        cluster.processes.push(executor);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(120), "executor {n} never listened");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    cluster
}

/// `cvm run` of the demo job for `as_of` into `warehouse`, on `engine` (None:
/// local). A run still going after five minutes is killed: a query Ballista
/// never finishes fails the test instead of hanging it.
fn run_demo(engine: Option<&str>, as_of: &str, warehouse: &Path) -> std::process::Output {
    let mut cmd = cvm_process();
    cmd.arg("run").arg(demo_job()).args(["--as-of", as_of]).arg("--warehouse").arg(warehouse);
    if let Some(engine) = engine {
        cmd.args(["--engine", engine]);
    }
    // the log goes to a file: a pipe nobody reads while waiting could fill up
    let log = warehouse.with_extension(format!("{as_of}.log"));
    let mut child = cmd.stdout(Stdio::null()).stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("night {as_of} still running after 5 minutes:\n{}", std::fs::read_to_string(&log).unwrap());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    std::process::Output { status, stdout: Vec::new(), stderr: std::fs::read(&log).unwrap() }
}

#[test]
fn the_demo_job_on_a_ballista_cluster_publishes_what_the_local_run_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), 2);
    let engine = cluster.engine();
    let logs = |name: &str| std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap_or_default();
    let on_cluster = dir.path().join("cluster-warehouse");
    let local = dir.path().join("local-warehouse");
    // two nights: the second folds one new day of CDR into the published usage_daily
    for as_of in [DAY_BEFORE, AS_OF] {
        let out = run_demo(Some(&engine), as_of, &on_cluster);
        assert!(
            out.status.success(),
            "night {as_of}: {}\nscheduler:\n{}",
            String::from_utf8_lossy(&out.stderr),
            logs("scheduler").lines().rev().take(30).collect::<Vec<_>>().join("\n")
        );
        assert!(run_demo(None, as_of, &local).status.success());
    }
    // both executors ran tasks of the job, and the extracts were read there
    for n in 0..2 {
        assert!(logs(&format!("executor-{n}")).contains("Finished task"), "executor {n} ran no task");
    }
    assert!(logs("scheduler").contains("RawScanExec: source=cdr"), "the CDR extracts were not read on the cluster");
    assert!(logs("scheduler").contains("StageWriteExec"), "the staged rows were not written by the executors");
    assert!(
        logs("scheduler").contains("source=cdr/ingest_status=rejected/"),
        "the rejects table was not made on the cluster"
    );
    assert_same(&published_rows(&on_cluster), &published_rows(&local));
    // and ingest's report says the same: rows read, staged, rejected and warned, per rule
    for as_of in [DAY_BEFORE, AS_OF] {
        let reports = |warehouse: &Path| {
            let mut sources = manifest_at(warehouse, "demo", as_of)["sources"].clone();
            for report in sources.as_object_mut().unwrap().values_mut() {
                report.as_object_mut().unwrap().remove("seconds");
            }
            sources
        };
        assert_eq!(reports(&on_cluster), reports(&local), "night {as_of}");
    }
}

#[test]
fn a_file_that_fails_on_an_executor_stops_the_run_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), 2);
    let engine = cluster.engine();
    let landing = Landing::new();
    let job = job_file(dir.path(), "");
    let warehouse = dir.path().join("warehouse");
    let first = run_job_with(&job, Some(landing.path()), &warehouse, &["--engine", &engine]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let published = snapshot_files(&warehouse);

    landing.write("cdr/dt=2026-11-23/part-0.csv", "subscriber_id,event_type\nA1,voice\n");
    let out = run_job_with(&job, Some(landing.path()), &warehouse, &["--engine", &engine]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let message = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
    assert!(
        message.starts_with("error: source cdr: file://")
            && message.ends_with("cdr/dt=2026-11-23/part-0.csv: missing required column 'event_time'"),
        "the message names the source, the file and the column, as on a local run: {stderr}"
    );
    // A task of the failed job still running when the job failed may write
    // its part under the run's own _staging/<run>/ after the run cleaned it
    // up; no commit lists such a file, and a later run sweeps it
    // (docs/cluster.md). The published files are what must not change.
    let published_only = |files: Vec<(std::path::PathBuf, Vec<u8>)>| -> Vec<_> {
        files
            .into_iter()
            .filter(|(p, _)| !p.starts_with(warehouse.join("_manifests")) && !p.starts_with(warehouse.join("_staging")))
            .collect()
    };
    let after = published_only(snapshot_files(&warehouse));
    let before = published_only(published);
    assert!(after == before, "a failed run changed the published outputs");
}

/// The night before [`AS_OF`].
const DAY_BEFORE: &str = "2026-11-21";

#[test]
fn a_scheduler_refuses_an_executor_timeout_too_short_to_be_safe() {
    let out = cvm().args(["scheduler", "--executor-timeout", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--executor-timeout"), "{stderr}");
}

/// The demo job for T on `engine`, started and paused at `point` until
/// `pause` is removed.
fn start_paused_on(engine: &str, warehouse: &Path, point: &str, pause: &Path) -> Paused {
    let mut run = cvm_process();
    run.args(["--log-format", "json", "run"]).arg(demo_job()).args(["--as-of", AS_OF, "--warehouse"]).arg(warehouse);
    run.args(["--engine", engine]).env("CVM_PAUSE_AT", point).env("CVM_PAUSE_WHILE", pause);
    start_paused(run)
}

/// Path 2 of issue 19: a cluster run beside another snapshot's publish
/// neither deletes nor reads the files that run has moved into place and
/// is about to commit (the scheduler plans the files the run record lists,
/// and lists no folder).
#[test]
fn a_cluster_run_beside_another_snapshots_publish_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), 1);
    let engine = cluster.engine();
    let w = dir.path().join("cluster-warehouse");
    let ok = |out: std::process::Output, what: &str| {
        assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    };
    ok(run_demo(Some(&engine), "2026-11-20", &w), "the first night");

    // run A (T) moves its files into place and waits before committing
    let pause = tempfile::NamedTempFile::new().unwrap();
    let a = start_paused_on(&engine, &w, "publish", pause.path());
    let moved: Vec<_> = snapshot_files(&w.join("usage_daily"))
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !p.to_string_lossy().contains("_delta_log"))
        .collect();

    // meanwhile run B (the day before) runs on the cluster and publishes
    ok(run_demo(Some(&engine), DAY_BEFORE, &w), "the run beside it");
    assert!(moved.iter().all(|p| p.exists()), "no file of the usage folders was deleted under run A");

    // A publishes, or, as both rebuilt the same usage days, fails on the
    // conflict and publishes nothing; re-run, the warehouse equals a sequential build
    pause.close().unwrap();
    let (code, log) = a.finish();
    assert!(code == Some(0) || (code == Some(1) && log.contains("run it again")), "{log}");
    ok(run_demo(Some(&engine), AS_OF, &w), "run A again");
    let local = dir.path().join("local-warehouse");
    for as_of in ["2026-11-20", DAY_BEFORE, AS_OF] {
        ok(run_demo(None, as_of, &local), "the sequential build");
    }
    assert_same(&published_rows(&w), &published_rows(&local));
}

/// Issue 19, point 9: when the job keeps msisdn (the demo allows it in
/// exports), a cluster run stages the extracts beside the contacts, under
/// their tighter access, not in the warehouse's staging; and removes them.
#[test]
fn a_cluster_run_stages_msisdn_only_beside_the_contacts() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), 1);
    let engine = cluster.engine();
    let w = dir.path().join("warehouse");
    let pause = tempfile::NamedTempFile::new().unwrap();
    let run = start_paused_on(&engine, &w, "models", pause.path());
    let staged = |folder: &Path| -> Vec<String> {
        snapshot_files(folder)
            .into_iter()
            .map(|(p, _)| p.display().to_string())
            .filter(|p| p.contains("source=subscribers"))
            .collect()
    };
    let restricted = w.join("_restricted/contacts/_staging");
    assert!(!staged(&restricted).is_empty(), "the staged subscribers are beside the contacts");
    assert_eq!(staged(&w.join("_staging")), Vec::<String>::new(), "and not in the warehouse's staging");
    pause.close().unwrap();
    let (code, log) = run.finish();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(snapshot_files(&restricted).len(), 0, "removed at the end of the run");
}
