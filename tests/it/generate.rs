//! `cvm generate` writes a landing the demo job ingests without a reject,
//! in CSV and in Parquet alike, and the job's figures agree with what the
//! generator says it simulated.

use std::path::Path;

use crate::support::*;

const SUBSCRIBERS: &str = "2000";
const DAYS: &str = "20";

/// Runs `cvm generate` into `out`; returns its summary.
fn generate(out: &Path, format: &str) -> String {
    let output = cvm()
        .args(["generate", "--subscribers", SUBSCRIBERS, "--days", DAYS, "--as-of", AS_OF, "--seed", "7"])
        .args(["--format", format, "--shard-size", "800", "--out"])
        .arg(out)
        .output()
        .expect("cvm generate runs");
    assert!(output.status.success(), "generate failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The number before `word` in the summary's population line, e.g. "(N active".
fn figure(summary: &str, before: &str) -> u64 {
    let line = summary.lines().find(|l| l.starts_with("lines ")).expect("population line");
    let at = line.find(before).unwrap_or_else(|| panic!("'{before}' in {line}"));
    line[..at].split([' ', '(']).rfind(|w| !w.is_empty()).and_then(|w| w.parse().ok()).expect("a number")
}

/// customer_value's generator-independent columns, sorted by subscriber.
fn customer_value(warehouse: &Path) -> String {
    query_csv(
        warehouse,
        "SELECT subscriber_id, plan_type, is_active, tenure_days, revenue_3m, recency_days, active_days_30d, \
         mou_30d, data_mb_30d, sms_30d, complaints_90d FROM customer_value ORDER BY subscriber_id",
    )
}

#[test]
fn a_generated_landing_runs_through_the_demo_job_in_csv_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, parquet) = (dir.path().join("csv"), dir.path().join("parquet"));
    let summary = generate(&csv, "csv");
    assert!(summary.contains("subscribers") && summary.contains(" 2000 "), "{summary}");
    assert!(csv.join("cdr/dt=2026-11-03/part-00002.csv").exists(), "20 days of cdr, 3 shards");
    assert!(csv.join("subscribers/dt=2026-11-22/part-00000.csv").exists());

    let warehouse = dir.path().join("wh-csv");
    let out = run_job(&demo_job(), Some(&csv), &warehouse);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("rejects          0 of "), "{stdout}");
    let active = query_csv(&warehouse, "SELECT count(*) AS n FROM customer_value WHERE is_active");
    assert_eq!(active.lines().nth(1).unwrap(), figure(&summary, " active").to_string(), "{summary}");
    let reference = customer_value(&warehouse);
    assert_eq!(reference.lines().count(), 2001);
    // beside the sources, where ingest does not look: the truth, one row per line in service at T
    let truth = std::fs::read_to_string(csv.join("_truth/churn_truth.csv")).unwrap();
    assert_eq!(truth.lines().count() as u64, 1 + figure(&summary, " active"), "{summary}");
    assert!(summary.lines().any(|l| l.starts_with("truth ") && l.contains("_truth/churn_truth.csv")), "{summary}");

    // the same landing in Parquet (typed columns) gives the same customer_value
    generate(&parquet, "parquet");
    assert!(parquet.join("cdr/dt=2026-11-22/part-00000.parquet").exists());
    let demo = std::fs::read_to_string(demo_job()).unwrap();
    let mut job: String = demo
        .lines()
        .filter(|l| !l.starts_with("input_root") && !l.starts_with("warehouse"))
        .map(|l| format!("{l}\n"))
        .collect();
    job = format!("input_root = \"parquet\"\nwarehouse = \"wh-parquet\"\n{job}");
    for source in ["subscribers", "billing", "cdr", "recharges", "tickets", "optouts", "strategic_fit"] {
        job.push_str(&format!("\n[sources.{source}]\nformat = \"parquet\"\n"));
    }
    let job_path = dir.path().join("parquet.toml");
    std::fs::write(&job_path, job).unwrap();
    let warehouse = dir.path().join("wh-parquet");
    let out = cvm().arg("run").arg(&job_path).args(["--as-of", AS_OF]).output().unwrap();
    assert!(out.status.success(), "parquet run failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rejects          0 of "));
    assert_eq!(customer_value(&warehouse), reference);
}

#[test]
fn generate_refuses_a_day_outside_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let out = cvm()
        .args(["generate", "--subscribers", "10", "--days", "3", "--as-of", AS_OF, "--only-cdr-day", "2026-11-01"])
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside the cdr window"));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written");
}
