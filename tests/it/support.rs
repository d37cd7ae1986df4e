//! Shared helpers: running the binary, building small landing folders,
//! reading tables back.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub const AS_OF: &str = "2026-11-22";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn demo_job() -> PathBuf {
    repo().join("jobs/demo.toml")
}

pub fn cvm() -> Command {
    let mut cmd = Command::cargo_bin("cvm").expect("the cvm binary is built");
    cmd.env_remove("CVM_LOG");
    cmd
}

/// Runs `cvm run JOB --as-of T` with the given roots; returns the finished command's output.
pub fn run_job(job: &Path, input_root: Option<&Path>, warehouse: &Path) -> std::process::Output {
    run_job_with(job, input_root, warehouse, &[])
}

/// [`run_job`] with more arguments after the roots.
pub fn run_job_with(job: &Path, input_root: Option<&Path>, warehouse: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = cvm();
    cmd.arg("run").arg(job).args(["--as-of", AS_OF]).arg("--warehouse").arg(warehouse);
    if let Some(input) = input_root {
        cmd.arg("--input-root").arg(input);
    }
    cmd.args(extra).output().expect("cvm runs")
}

/// The demo job with extra settings, writing to `dir`/warehouse.
pub fn demo_job_with(dir: &Path, extra: &str) -> PathBuf {
    let input = repo().join("fixtures/demo/input");
    let text = format!(
        "name = \"demo\"\ninput_root = \"{}\"\nwarehouse = \"warehouse\"\n[rejects]\nmax_rate = 0.25\n{extra}",
        input.display()
    );
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `cvm run JOB --as-of T --warehouse W`, which must succeed; returns its standard output.
pub fn run_ok(job: &Path, as_of: &str, warehouse: &Path) -> String {
    run_ok_with(cvm(), job, as_of, warehouse)
}

/// [`run_ok`] run by `cmd` (e.g. with an environment of its own).
pub fn run_ok_with(mut cmd: Command, job: &Path, as_of: &str, warehouse: &Path) -> String {
    let out = cmd.arg("run").arg(job).args(["--as-of", as_of]).arg("--warehouse").arg(warehouse).output().unwrap();
    assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `cvm query --format FORMAT --output OUTPUT --warehouse W SQL`; returns the finished command's output.
pub fn query_to(
    warehouse: &Path,
    format: &str,
    output: impl AsRef<std::ffi::OsStr>,
    sql: &str,
) -> std::process::Output {
    cvm()
        .args(["query", "--format", format, "--output"])
        .arg(output)
        .arg("--warehouse")
        .arg(warehouse)
        .arg(sql)
        .output()
        .expect("cvm query runs")
}

/// `cvm query` as CSV text.
pub fn query_csv(warehouse: &Path, sql: &str) -> String {
    query_csv_with(cvm(), warehouse.as_os_str(), sql)
}

/// `cvm query` as CSV text, run by `cmd` (e.g. with a store's environment).
pub fn query_csv_with(mut cmd: Command, warehouse: &std::ffi::OsStr, sql: &str) -> String {
    let out =
        cmd.args(["query", "--format", "csv", "--warehouse"]).arg(warehouse).arg(sql).output().expect("cvm query runs");
    assert!(out.status.success(), "query failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Parses CSV text into a header and rows of fields.
pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let header = reader.headers().expect("header").iter().map(str::to_string).collect();
    let rows = reader.records().map(|r| r.expect("record").iter().map(str::to_string).collect()).collect();
    (header, rows)
}

/// A small, valid landing folder (three subscribers, their bills and calls)
/// that a test can spoil one row at a time.
pub struct Landing {
    pub dir: tempfile::TempDir,
}

pub const SUBSCRIBERS: &str = "subscriber_id,msisdn,activation_date,deactivation_date,deactivation_reason,plan_type,plan_id,segment,region,channel,birth_year
A1,+331,2024-01-10,,,postpaid,P1,consumer,north,store,1980
A2,+332,2025-05-01,,,prepaid,P2,youth,south,dealer,2001
A3,+333,2023-03-03,2026-10-01,voluntary,postpaid,P1,business,east,store,1970
";
pub const BILLING: &str = "subscriber_id,bill_month,invoice_id,charge_type,net_amount,currency
A1,2026-08,I1,recurring,30.00,EUR
A1,2026-09,I2,recurring,30.00,EUR
A1,2026-10,I3,recurring,30.00,EUR
A2,2026-10,I4,recurring,10.00,EUR
A3,2026-09,I5,recurring,45.00,EUR
";
pub const CDR: &str =
    "subscriber_id,event_time,event_type,direction,duration_s,volume_bytes,charged_amount,other_party,roaming
A1,2026-11-20T10:00:00Z,voice,out,120,,,+339999,false
A1,2026-11-21T10:00:00Z,data,out,60,1048576,,,false
A2,2026-11-22T10:00:00Z,sms,out,,,,+338888,false
";

impl Landing {
    pub fn new() -> Landing {
        let landing = Landing { dir: tempfile::tempdir().expect("temp dir") };
        landing.write("subscribers/dt=2026-11-22/part-0.csv", SUBSCRIBERS);
        landing.write("billing/dt=2026-11-05/part-0.csv", BILLING);
        landing.write("cdr/dt=2026-11-22/part-0.csv", CDR);
        landing
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        self.write_bytes(rel, text.as_bytes());
    }

    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }

    /// Appends one line to a CSV file written before.
    pub fn append(&self, rel: &str, line: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(self.dir.path().join(rel)).expect("open");
        writeln!(f, "{line}").expect("append");
    }
}

/// A job file in its own temp folder; `extra` is appended TOML.
pub fn job_file(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("job.toml");
    let text = format!("name = \"t\"\ninput_root = \"landing\"\nwarehouse = \"warehouse\"\n{extra}");
    std::fs::write(&path, text).expect("write job");
    path
}

/// Every file under `dir` with its bytes, sorted by path. A file removed
/// between the listing and the read (a run's staging being cleaned up, a
/// cluster task's late part swept) is left out, and named on stderr.
pub fn snapshot_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                match std::fs::read(&p) {
                    Ok(bytes) => out.push((p.clone(), bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => eprintln!("gone while read: {}", p.display()),
                    Err(e) => panic!("read {}: {e}", p.display()),
                }
            }
        }
    }
    out.sort();
    out
}

/// Every file of a warehouse but run documents (they carry times and run
/// ids: manifests, commits, the tables' Delta logs, locks, export sidecars),
/// by path with the run id taken out of published file names
/// (`part-<run_id>-00000.parquet`).
pub fn data_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    snapshot_files(dir)
        .into_iter()
        .filter(|(p, _)| {
            let p = p.to_string_lossy();
            !p.contains("/_manifests/")
                && !p.contains("/_commits/")
                && !p.contains("/_delta_log/")
                && !p.contains("/_locks/")
                && !p.ends_with(".sidecar.json")
        })
        .map(|(p, b)| (without_run_id(&p.strip_prefix(dir).unwrap().display().to_string()), b))
        .collect()
}

pub fn without_run_id(path: &str) -> String {
    match path.rsplit_once("/part-") {
        Some((dir, name)) => match name.rsplit_once('-') {
            Some((_run, n)) => format!("{dir}/part-{n}"),
            None => path.to_string(),
        },
        None => path.to_string(),
    }
}

/// Copies a folder's files (recursively) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    for (path, bytes) in snapshot_files(from) {
        let target = to.join(path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
}

/// A `cvm` process started with its standard error read as it runs, to
/// wait for the run's `paused at` line (`CVM_PAUSE_AT`) and keep the log.
pub struct Paused {
    pub child: std::process::Child,
    log: std::thread::JoinHandle<String>,
}

/// A `cvm` command to start with [`start_paused`].
pub fn cvm_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("cvm"));
    cmd.env_remove("CVM_LOG");
    cmd
}

/// Starts `cmd` (a run, or a scheduler whose runs inherit its environment)
/// and returns once it logs that it is paused; panics after 5 minutes.
pub fn start_paused(mut cmd: std::process::Command) -> Paused {
    use std::io::BufRead;
    let mut child =
        cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().expect("cvm starts");
    let stderr = child.stderr.take().expect("piped");
    let (tx, paused) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("paused at") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    if let Err(why) = paused.recv_timeout(std::time::Duration::from_secs(300)) {
        let _ = child.kill();
        let _ = child.wait();
        let all = log.join().unwrap_or_default();
        let start = (all.len().saturating_sub(3000)..).find(|&i| all.is_char_boundary(i)).unwrap_or(all.len());
        let tail = &all[start..];
        // Disconnected: the run ended before its pause point; Timeout: still going after 5 minutes
        panic!("{cmd:?} never paused ({why:?}); the end of its log:\n{tail}");
    }
    Paused { child, log }
}

impl Paused {
    /// Waits for the process to end; its exit code and standard error.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("cvm ends");
        (status.code(), self.log.join().expect("log reader"))
    }
}

/// The tables a run publishes.
pub const PUBLISHED: [&str; 6] = ["usage_daily", "customer_value", "model_metrics", "kpi", "campaigns", "rejects"];

/// Every published table's rows as sorted CSV lines, by table: what any
/// reader sees of the warehouse.
pub fn published_rows(warehouse: &Path) -> Vec<(String, Vec<String>)> {
    published_rows_with(cvm, warehouse.as_os_str())
}

/// [`published_rows`] of a warehouse read by the commands `cmd` makes.
pub fn published_rows_with(cmd: impl Fn() -> Command, warehouse: &std::ffi::OsStr) -> Vec<(String, Vec<String>)> {
    PUBLISHED
        .iter()
        .map(|t| {
            let text = query_csv_with(cmd(), warehouse, &format!("SELECT * FROM {t}"));
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines.sort();
            (t.to_string(), lines)
        })
        .collect()
}

/// The (single) run manifest in a warehouse, parsed.
pub fn manifest_of(warehouse: &Path) -> serde_json::Value {
    run_document(&warehouse.join("_manifests"), ".json", ".models.json")
}

/// The (single) run manifest of `job` for snapshot `t`, parsed.
pub fn manifest_at(warehouse: &Path, job: &str, t: &str) -> serde_json::Value {
    run_document(&warehouse.join(format!("_manifests/{job}/snapshot_date={t}")), ".json", ".models.json")
}

/// The (single) model artifact in a warehouse, parsed.
pub fn models_artifact_of(warehouse: &Path) -> serde_json::Value {
    run_document(&warehouse.join("_manifests"), ".models.json", "\u{0}")
}

/// The (single) model artifact of `job` for snapshot `t`, parsed.
pub fn models_artifact_at(warehouse: &Path, job: &str, t: &str) -> serde_json::Value {
    run_document(&warehouse.join(format!("_manifests/{job}/snapshot_date={t}")), ".models.json", "\u{0}")
}

fn run_document(folder: &Path, suffix: &str, not_suffix: &str) -> serde_json::Value {
    let files: Vec<_> = snapshot_files(folder)
        .into_iter()
        .filter(|(p, _)| {
            let name = p.to_string_lossy();
            name.ends_with(suffix) && !name.ends_with(not_suffix)
        })
        .collect();
    assert_eq!(files.len(), 1, "expected one {suffix} document, found {files:?}");
    serde_json::from_slice(&files[0].1).expect("run documents are JSON")
}

/// Equal tables, or a failure naming the first table and row that differ.
pub fn assert_same(got: &[(String, Vec<String>)], expected: &[(String, Vec<String>)]) {
    for ((table, rows), (_, want)) in got.iter().zip(expected) {
        let first = rows.iter().zip(want).find(|(a, b)| a != b);
        assert!(
            first.is_none() && rows.len() == want.len(),
            "{table}: {} rows vs {} locally; first difference: {first:?}",
            rows.len(),
            want.len()
        );
    }
}
