//! The demo job on a real S3 server: Ceph's RADOS Gateway, started by the
//! tests themselves (scripts/s3-up.sh: one monitor, one in-memory OSD, two
//! gateways on 127.0.0.1), stopped when the test binary ends. Extracts are
//! read from s3://, the warehouse is written to s3:// (path-style, plain
//! HTTP, credentials from the environment), and what is published equals
//! the local-filesystem run's, value for value.
//!
//! Without radosgw installed the tests print SKIPPED; `.ci/run` installs it
//! and sets CVM_REQUIRE_S3=1, which turns a missing server into a failure.

use std::path::Path;
use std::process::Command as StdCommand;
use std::sync::OnceLock;

use assert_cmd::Command;

use crate::support::*;

const ACCESS_KEY: &str = "cvmtestaccess";
const SECRET_KEY: &str = "cvmtestsecret-not-a-real-one";
const BUCKET: &str = "cvm-test";

pub struct S3Server {
    /// Gateway `a`, for the tests; gateway `b` (port + 1) may be stopped by one.
    pub port: u16,
    pub ceph_dir: std::path::PathBuf,
}

static SERVER: OnceLock<Result<S3Server, String>> = OnceLock::new();

fn start() -> Result<S3Server, String> {
    if StdCommand::new("radosgw").arg("--version").output().is_err() {
        return Err("radosgw is not installed (apt-get install radosgw ceph-mon ceph-osd)".into());
    }
    // ports of our own, away from a default server that may be running
    let port = free_port_pair().ok_or("no free port pair")?;
    let mon = free_port_pair().ok_or("no free port pair")?;
    let ceph_dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ceph-s3-{port}"));
    let out = StdCommand::new("bash")
        .arg(repo().join("scripts/s3-up.sh"))
        .env("CEPH_DIR", &ceph_dir)
        .env("RGW_PORT", port.to_string())
        .env("MON_PORT", mon.to_string())
        .env("S3_ACCESS_KEY", ACCESS_KEY)
        .env("S3_SECRET_KEY", SECRET_KEY)
        .env("S3_BUCKETS", BUCKET)
        .env("WATCH_PID", std::process::id().to_string())
        .output()
        .map_err(|e| format!("scripts/s3-up.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/s3-up.sh failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(S3Server { port, ceph_dir })
}

fn free_port_pair() -> Option<u16> {
    (0..50).find_map(|_| {
        let a = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
        let port = a.local_addr().ok()?.port();
        let _b = std::net::TcpListener::bind(("127.0.0.1", port.checked_add(1)?)).ok()?;
        Some(port)
    })
}

/// The test S3 server, started on first use; None (and SKIPPED printed) where it cannot run.
pub fn server(test: &str) -> Option<&'static S3Server> {
    match SERVER.get_or_init(start) {
        Ok(s) => Some(s),
        Err(why) if std::env::var("CVM_REQUIRE_S3").as_deref() != Ok("1") => {
            eprintln!("SKIPPED {test}: {why}");
            None
        }
        Err(why) => panic!("{why}"),
    }
}

impl S3Server {
    /// `cvm` with the environment that points object_store at gateway `a`.
    pub fn cvm(&self) -> Command {
        self.cvm_via(self.port)
    }

    pub fn cvm_via(&self, port: u16) -> Command {
        let mut cmd = cvm();
        for (k, v) in self.env(port) {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn env(&self, port: u16) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
            ("AWS_ENDPOINT", format!("http://127.0.0.1:{port}")),
            ("AWS_ALLOW_HTTP", "true".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
        ]
    }

    /// A fresh prefix in the test bucket.
    pub fn prefix(&self, name: &str) -> String {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        format!("s3://{BUCKET}/{name}-{nanos:08x}")
    }

    /// Copies a local folder to `s3://BUCKET/<key prefix>/`.
    pub fn upload(&self, local: &Path, url: &str) {
        use object_store::ObjectStoreExt;
        let store = self.store();
        let prefix = url.strip_prefix(&format!("s3://{BUCKET}/")).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            for (path, bytes) in snapshot_files(local) {
                let rel = path.strip_prefix(local).unwrap().to_string_lossy().to_string();
                let key = format!("{prefix}{rel}")
                    .split('/')
                    .filter(|p| !p.is_empty())
                    .fold(object_store::path::Path::default(), |p, part| p.join(part));
                store.put(&key, bytes.into()).await.unwrap();
            }
        });
    }

    /// Every object below `url` (a folder in the test bucket), with its bytes.
    pub fn download_all(&self, url: &str) -> Vec<(String, Vec<u8>)> {
        use futures::TryStreamExt;
        use object_store::{ObjectStore, ObjectStoreExt};
        let store = self.store();
        let prefix = object_store::path::Path::from(url.strip_prefix(&format!("s3://{BUCKET}/")).unwrap());
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let metas: Vec<_> = store.list(Some(&prefix)).try_collect().await.unwrap();
            let mut out = Vec::new();
            for m in metas {
                let bytes = store.get(&m.location).await.unwrap().bytes().await.unwrap();
                out.push((m.location.to_string(), bytes.to_vec()));
            }
            out
        })
    }

    fn store(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(format!("http://127.0.0.1:{}", self.port))
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .build()
            .unwrap()
    }

    /// Every published table's rows, sorted, read with `cvm query` from S3.
    pub fn published_rows(&self, warehouse: &str) -> Vec<(String, Vec<String>)> {
        published_rows_with(|| self.cvm(), warehouse.as_ref())
    }
}

#[test]
fn the_demo_job_on_s3_publishes_what_the_local_run_publishes() {
    let Some(s3) = server("the_demo_job_on_s3_publishes_what_the_local_run_publishes") else {
        return;
    };
    let root = s3.prefix("demo");
    let (input, warehouse) = (format!("{root}/input/"), format!("{root}/warehouse/"));
    s3.upload(&repo().join("fixtures/demo/input"), &input);
    let out = s3
        .cvm()
        .args(["--verbose", "--log-format", "json", "run"])
        .arg(demo_job())
        .args(["--as-of", AS_OF, "--input-root", &input, "--warehouse", &warehouse])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // the credentials are in the environment only: not in the logs, nor in
    // anything written to the warehouse (manifests, commits, locks, reports)
    let mut written =
        vec![String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string()];
    written.extend(s3.download_all(&warehouse).into_iter().map(|(_, b)| String::from_utf8_lossy(&b).to_string()));
    assert!(written.len() > 20, "the warehouse was read back");
    for text in &written {
        assert!(!text.contains(SECRET_KEY) && !text.contains(ACCESS_KEY), "a credential leaked");
    }

    let local = tempfile::tempdir().unwrap();
    assert!(run_job(&demo_job(), None, local.path()).status.success());
    let local_input = format!("{}/", url_of(&repo().join("fixtures/demo/input")));
    let expected = with_input_root(published_rows(local.path()), &local_input);
    assert_same(&with_input_root(s3.published_rows(&warehouse), &input), &expected);

    // a re-run on S3 replaces the snapshot (no atomic rename there: the commit does it)
    let again = s3
        .cvm()
        .args(["run"])
        .arg(demo_job())
        .args(["--as-of", AS_OF, "--input-root", &input, "--warehouse", &warehouse])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_same(&with_input_root(s3.published_rows(&warehouse), &input), &expected);
}

fn url_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Rows with the input root (in rejects' file column) written as `<input>/`.
fn with_input_root(tables: Vec<(String, Vec<String>)>, root: &str) -> Vec<(String, Vec<String>)> {
    tables.into_iter().map(|(t, rows)| (t, rows.into_iter().map(|r| r.replace(root, "<input>/")).collect())).collect()
}

#[test]
fn a_store_that_goes_away_mid_run_fails_it_naming_the_url_and_loses_nothing() {
    let Some(s3) = server("a_store_that_goes_away_mid_run_fails_it_naming_the_url_and_loses_nothing") else {
        return;
    };
    let root = s3.prefix("outage");
    let (input, warehouse) = (format!("{root}/input/"), format!("{root}/warehouse/"));
    s3.upload(&repo().join("fixtures/demo/input"), &input);
    // retries kept short so that the test does not wait minutes for the outage to be declared
    let dir = tempfile::tempdir().unwrap();
    let job = demo_job_with(
        dir.path(),
        "[storage]\nmax_retries = 2\nretry_timeout_seconds = 5\nconnect_timeout_seconds = 1\nrequest_timeout_seconds = 5\n",
    );
    let run = |as_of: &str, port: u16| {
        let mut cmd = s3.cvm_via(port);
        cmd.arg("run").arg(&job).args(["--as-of", as_of, "--input-root", &input, "--warehouse", &warehouse]);
        cmd
    };
    let out = run("2026-11-21", s3.port).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = s3.published_rows(&warehouse);

    // the run goes through gateway b, which is stopped while the run waits before its model fits
    let gateway_b = s3.port + 1;
    let pause = dir.path().join("paused");
    std::fs::write(&pause, "").unwrap();
    let mut cmd = cvm_process();
    cmd.envs(s3.env(gateway_b)).env("CVM_PAUSE_AT", "models").env("CVM_PAUSE_WHILE", &pause);
    cmd.args(["--log-format", "json", "run"]).arg(&job);
    cmd.args(["--as-of", AS_OF, "--input-root", &input, "--warehouse", &warehouse]);
    let paused = start_paused(cmd);
    gateway(s3, "stop");
    std::fs::remove_file(&pause).unwrap();
    let (code, log) = paused.finish();
    gateway(s3, "start");

    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains(&format!("http://127.0.0.1:{gateway_b}")) || log.contains(&warehouse), "{log}");
    assert_eq!(s3.published_rows(&warehouse), before, "what was published is untouched");

    // the store is back: the next run takes the dead run's lock over and publishes
    let out = run(AS_OF, gateway_b).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn gateway(s3: &S3Server, action: &str) {
    let out = StdCommand::new("bash")
        .arg(repo().join("scripts/s3-gateway.sh"))
        .args([action, "b"])
        .env("CEPH_DIR", &s3.ceph_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "s3-gateway.sh {action}: {}", String::from_utf8_lossy(&out.stderr));
}
