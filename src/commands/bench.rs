//! `cvm bench`: the nightly job on generated data, measured.
//!
//! For each size: `cvm generate` writes a landing of N subscribers with D
//! days of CDR; night 1 runs the job on it from scratch (every CDR day);
//! then the generator writes the next day's CDR only, and night 2 runs the
//! job for T+1, which reads that one day of CDR and rebuilds the days it
//! touches, and applies the churn and prepaid models night 1 fitted; night 2
//! then runs again with `--refit`, to show what the one night in
//! `[churn] refit_every_days` that fits them costs. Each night's steps are printed from its run manifest: rows in and
//! out, seconds, rows/s and the peak resident size during the step.
//! With `--duckdb`, benches/duckdb_features.py runs the feature step's SQL
//! in DuckDB on night 1's files and prints the ratio cvm / DuckDB.
//!
//! Every run is a child process (`cvm run`), exactly as a scheduler starts
//! it, so the figures are those of a real night and one size's memory does
//! not leak into the next. Benchmarks, not tests: the machine's noise is
//! the reader's to judge (docs/benchmarks.md records the conditions).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::process::Command;

use chrono::NaiveDate;

use crate::observe::thousands;
use crate::warehouse::manifest::Manifest;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub subscribers: Vec<u64>,
    /// Days of CDR before night 1.
    pub days: u32,
    /// CDR rows a day per subscriber (the generator's --cdr-per-day is N x this).
    pub cdr_per_subscriber: u64,
    pub as_of: NaiveDate,
    /// Where landings, warehouses and kept staging tables go (replaced per size).
    pub dir: PathBuf,
    /// The extracts' format: "csv" or "parquet".
    pub format: String,
    pub memory_limit: Option<String>,
    pub seed: u64,
    pub duckdb: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{what}: {message}")]
    Step { what: String, message: String },
}

fn step_error(what: &str, message: impl std::fmt::Display) -> BenchError {
    BenchError::Step { what: what.to_string(), message: message.to_string() }
}

/// Runs the benchmark, printing each size's tables once it is measured.
pub async fn bench(options: &BenchOptions) -> Result<(), BenchError> {
    let exe = std::env::current_exe().map_err(|e| step_error("cvm executable", e))?;
    println!("{}", machine());
    for &n in &options.subscribers {
        print!("{}", bench_size(&exe, options, n).await?);
    }
    Ok(())
}

async fn bench_size(exe: &Path, options: &BenchOptions, n: u64) -> Result<String, BenchError> {
    let root = options.dir.join(n.to_string());
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| step_error(&root.display().to_string(), e))?;
    let (landing, warehouse, scratch) = (root.join("landing"), root.join("warehouse"), root.join("scratch"));
    let job = write_job(&root, &landing, &warehouse, options)?;
    let night2 = options.as_of + chrono::Duration::days(1);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## {n} subscribers, {} days of CDR at {} rows a day per subscriber ({} extracts)\n",
        options.days, options.cdr_per_subscriber, options.format
    );

    let generated = generate(exe, options, n, options.as_of, None, &landing).await?;
    let _ = writeln!(out, "generate: {generated}");
    let first = run_night(exe, &job, &warehouse, options.as_of, Some(&scratch), false).await?;
    out.push_str(&first.render("night 1 (from scratch)"));
    if options.duckdb {
        out.push_str(&duckdb_ratio(&scratch, &warehouse, options.as_of).await);
    }
    let generated = generate(exe, options, n, night2, Some(night2), &landing).await?;
    let _ = writeln!(out, "\ngenerate the next day's CDR: {generated}");
    let second = run_night(exe, &job, &warehouse, night2, None, false).await?;
    out.push_str(&second.render("night 2 (incremental: one new day of CDR; the churn and prepaid models of night 1)"));
    // one night in [churn] refit_every_days fits those models again: night 2 re-run to say what it costs
    let refit = run_night(exe, &job, &warehouse, night2, None, true).await?;
    out.push_str(&refit.render("night 2 again, fitting the churn and prepaid models (`--refit`)"));
    Ok(out)
}

fn write_job(root: &Path, landing: &Path, warehouse: &Path, options: &BenchOptions) -> Result<PathBuf, BenchError> {
    let mut text = format!(
        "# written by cvm bench\nname = \"bench\"\ninput_root = \"{}\"\nwarehouse = \"{}\"\n",
        landing.display(),
        warehouse.display()
    );
    // night 2's landing gains the next day's CDR only (generate --only-cdr-day), so to the
    // data-quality check its recharges and tickets of T+1 are missing: judged and logged, but
    // not failing the night (the check's cost is still measured)
    text.push_str("\n[quality]\ncheck = false\n");
    if let Some(limit) = &options.memory_limit {
        let _ = write!(text, "\n[engine]\nmemory_limit = \"{limit}\"\n");
    }
    if options.format == "parquet" {
        for source in crate::contract::SourceKind::names() {
            let _ = write!(text, "\n[sources.{source}]\nformat = \"parquet\"\n");
        }
    }
    let path = root.join("bench.toml");
    std::fs::write(&path, text).map_err(|e| step_error(&path.display().to_string(), e))?;
    Ok(path)
}

/// Runs `cvm generate`; returns its summary line.
async fn generate(
    exe: &Path,
    options: &BenchOptions,
    n: u64,
    as_of: NaiveDate,
    only_cdr_day: Option<NaiveDate>,
    landing: &Path,
) -> Result<String, BenchError> {
    let mut cmd = Command::new(exe);
    cmd.arg("generate")
        .args(["--subscribers", &n.to_string(), "--days", &options.days.to_string()])
        .args(["--as-of", &as_of.to_string(), "--seed", &options.seed.to_string()])
        .args(["--format", &options.format])
        .args(["--cdr-per-day", &(n * options.cdr_per_subscriber).to_string()])
        .arg("--out")
        .arg(landing);
    if let Some(day) = only_cdr_day {
        cmd.args(["--only-cdr-day", &day.to_string()]);
    }
    let output = cmd.output().await.map_err(|e| step_error("cvm generate", e))?;
    if !output.status.success() {
        return Err(step_error("cvm generate", String::from_utf8_lossy(&output.stderr)));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_string())
}

/// One night: the run's wall time and its manifest.
struct Night {
    as_of: NaiveDate,
    wall: f64,
    manifest: Manifest,
}

async fn run_night(
    exe: &Path,
    job: &Path,
    warehouse: &Path,
    as_of: NaiveDate,
    keep_scratch: Option<&Path>,
    refit: bool,
) -> Result<Night, BenchError> {
    let mut cmd = Command::new(exe);
    cmd.args(["--quiet", "run"]).arg(job).args(["--as-of", &as_of.to_string()]);
    if refit {
        cmd.arg("--refit");
    }
    if let Some(dir) = keep_scratch {
        cmd.env("CVM_KEEP_SCRATCH", dir);
    }
    let what = format!("cvm run --as-of {as_of}");
    let started = Instant::now();
    let output = cmd.output().await.map_err(|e| step_error(&what, e))?;
    let wall = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(step_error(&what, String::from_utf8_lossy(&output.stderr)));
    }
    let url = crate::storage::StoreUrl::parse(&format!("{}/", warehouse.display()), Path::new("/"))
        .map_err(|m| step_error(&what, m))?;
    let location = crate::storage::Location::open(&url, &Default::default()).map_err(|e| step_error(&what, e))?;
    let run =
        crate::commands::status::published_by(&location, "bench", as_of).await.map_err(|e| step_error(&what, e))?;
    let run = run.ok_or_else(|| step_error(&what, "succeeded, but published no manifest"))?;
    Ok(Night { as_of, wall, manifest: run.manifest })
}

impl Night {
    fn render(&self, title: &str) -> String {
        let m = &self.manifest;
        let mut out = String::new();
        let mib = |bytes: Option<u64>| bytes.map(|b| format!("{:.0}", b as f64 / 1048576.0)).unwrap_or("-".into());
        let memory = &m.engine_memory;
        let _ = writeln!(
            out,
            "\n### {title}, T = {}\n\nwall {:.1} s; peak RSS {} MiB; engine: limit {}, peak reserved {} MiB, {} refused reservations (spills)\n",
            self.as_of,
            self.wall,
            mib(m.peak_rss_bytes),
            memory.limit_bytes.map(|b| format!("{} MiB", b >> 20)).unwrap_or("none".into()),
            mib(Some(memory.peak_reserved_bytes)),
            memory.refused_reservations
        );
        let _ = writeln!(out, "| step | rows in | rows out | seconds | rows/s | peak RSS MiB |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        for (name, s) in &m.sources {
            let files = s.files.len();
            let skipped = s.files.iter().filter(|f| f.folded_before).count();
            let note =
                if skipped > 0 { format!(" ({} of {files} files read)", files - skipped) } else { String::new() };
            let _ = writeln!(
                out,
                "| ingest {name}{note} | {} | {} | {:.2} | {} | |",
                thousands(s.rows_read),
                thousands(s.rows_staged),
                s.seconds,
                rate(s.rows_read, s.seconds)
            );
        }
        for step in &m.steps {
            let _ = writeln!(
                out,
                "| **{}** | {} | {} | {:.2} | {} | {} |",
                step.name,
                thousands(step.rows_in),
                thousands(step.rows_out),
                step.seconds,
                rate(step.rows_in.max(step.rows_out), step.seconds),
                mib(step.peak_rss_bytes)
            );
        }
        out
    }
}

async fn duckdb_ratio(scratch: &Path, warehouse: &Path, as_of: NaiveDate) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/duckdb_features.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg("--scratch")
        .arg(scratch)
        .arg("--warehouse")
        .arg(warehouse)
        .args(["--as-of", &as_of.to_string()])
        .output()
        .await;
    match output {
        Ok(o) if o.status.success() => {
            format!("\nDuckDB, the feature step on the same files:\n\n```\n{}```\n", String::from_utf8_lossy(&o.stdout))
        }
        Ok(o) => format!("\nDuckDB comparison failed: {}\n", String::from_utf8_lossy(&o.stderr).trim()),
        Err(e) => format!("\nDuckDB comparison not run ({}: {e})\n", script.display()),
    }
}

fn rate(rows: u64, seconds: f64) -> String {
    if rows == 0 || seconds <= 0.0 { String::new() } else { thousands((rows as f64 / seconds) as u64) }
}

/// The machine, for the record.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string()))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| format!("{:.1} GiB", kib as f64 / 1048576.0))
        .unwrap_or_else(|| "unknown memory".into());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!("# cvm bench: cvm {}, {cores} cores ({cpu}), {memory}", env!("CARGO_PKG_VERSION"))
}
