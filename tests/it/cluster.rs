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

#[test]
fn the_demo_job_on_a_ballista_cluster_publishes_what_the_local_run_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path(), 2);
    let on_cluster = dir.path().join("cluster-warehouse");
    let out = cvm()
        .arg("run")
        .arg(demo_job())
        .args(["--as-of", AS_OF, "--engine", &format!("df://127.0.0.1:{}", cluster.scheduler_port)])
        .arg("--warehouse")
        .arg(&on_cluster)
        .output()
        .unwrap();
    let logs = |name: &str| std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}\nscheduler:\n{}",
        String::from_utf8_lossy(&out.stderr),
        logs("scheduler").lines().rev().take(30).collect::<Vec<_>>().join("\n")
    );
    // both executors ran tasks of the job
    for n in 0..2 {
        assert!(logs(&format!("executor-{n}")).contains("Finished task"), "executor {n} ran no task");
    }

    let local = dir.path().join("local-warehouse");
    assert!(run_job(&demo_job(), None, &local).status.success());
    assert_same(&published_rows(&on_cluster), &published_rows(&local));
}
