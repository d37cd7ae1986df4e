//! The command line: run, validate and query, and how they fail.

use predicates::prelude::*;

use crate::support::*;

#[test]
fn run_prints_a_summary_of_what_it_published() {
    let w = tempfile::tempdir().unwrap();
    let out = cvm().arg("run").arg(demo_job()).args(["--as-of", AS_OF, "--warehouse"]).arg(w.path()).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let warehouse = url::Url::from_file_path(w.path()).unwrap().to_string();
    for expected in [
        "snapshot 2026-11-22 of job demo published".to_string(),
        format!("customer_value           28 rows  {warehouse}/customer_value"),
        format!("kpi                     214 rows  {warehouse}/kpi"),
        "rejects          29 of 1829 rows (billing 8, cdr 7,".to_string(),
        "churn back-test  AUC 0.737".to_string(),
        "campaigns        retention_priority 0 of cap 50 (call), upsell_potential 2 of cap 2 (sms), winback_dormant 2 (sms), loyalty_care 2 (email)".to_string(),
        format!("exports          5 files with checksum sidecars in {warehouse}/_exports/snapshot_date=2026-11-22/"),
        format!("report           {warehouse}/_manifests/demo/snapshot_date=2026-11-22/"),
        format!("manifest         {warehouse}/_manifests/demo/snapshot_date=2026-11-22/"),
    ] {
        assert!(stdout.contains(&expected), "no `{expected}` in:\n{stdout}");
    }
}

#[test]
fn a_bad_as_of_is_a_usage_error() {
    cvm()
        .arg("run")
        .arg(demo_job())
        .args(["--as-of", "2026-02-30"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("'2026-02-30' is not a date in YYYY-MM-DD form"));
}

#[test]
fn an_unknown_job_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), "[rejects]\nmax_rate = 0.1\nmax_rows = 5\n");
    cvm().arg("run").arg(&job).args(["--as-of", AS_OF]).assert().code(2).stderr(predicate::str::contains("max_rows"));
    cvm().arg("validate").arg(&job).assert().code(2).stderr(predicate::str::contains("max_rows"));
}

#[test]
fn validate_accepts_the_demo_and_writes_nothing() {
    let landing = Landing::new();
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), "");
    cvm()
        .arg("validate")
        .arg(&job)
        .arg("--input-root")
        .arg(landing.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("job t is valid").and(predicate::str::contains("cdr")));
    assert!(!dir.path().join("warehouse").exists(), "validate wrote something");
    cvm().arg("validate").arg(demo_job()).assert().success();
}

#[test]
fn validate_names_a_file_with_a_missing_column() {
    let landing = Landing::new();
    landing.write("billing/dt=2026-11-06/part-0.csv", "subscriber_id,amount\nA1,3\n");
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), "");
    cvm().arg("validate").arg(&job).arg("--input-root").arg(landing.path()).assert().code(1).stderr(
        predicate::str::contains("billing/dt=2026-11-06/part-0.csv").and(predicate::str::contains("bill_month")),
    );
}

#[test]
fn query_prints_an_aligned_table_and_exports() {
    let w = tempfile::tempdir().unwrap();
    assert!(run_job(&demo_job(), None, w.path()).status.success());
    cvm()
        .args(["query", "--warehouse"])
        .arg(w.path())
        .arg("SELECT subscriber_id, revenue_3m, snapshot_date FROM customer_value WHERE subscriber_id = 'S013'")
        .assert()
        .success()
        .stdout(predicate::str::contains("| S013          | -40.0000   | 2026-11-22    |"));
    // partition columns are typed: snapshot_date is a date
    let text = query_csv(w.path(), "SELECT arrow_typeof(snapshot_date) AS t FROM customer_value LIMIT 1");
    assert_eq!(text.lines().nth(1), Some("Date32"));
    let text = query_csv(
        w.path(),
        "SELECT count(DISTINCT event_date) AS days, arrow_typeof(min(event_date)) AS t FROM usage_daily",
    );
    assert!(text.lines().nth(1).unwrap().ends_with(",Date32"), "{text}");
    // export to parquet, read back
    let out = w.path().join("_queries/top.parquet");
    let sql = "SELECT subscriber_id, historical_value FROM customer_value ORDER BY historical_value DESC LIMIT 3";
    let written = query_to(w.path(), "parquet", &out, sql);
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    assert!(std::fs::metadata(&out).unwrap().len() > 0);
    cvm()
        .args(["query", "--format", "json", "--warehouse"])
        .arg(w.path())
        .arg("SELECT subscriber_id FROM customer_value WHERE subscriber_id = 'S001'")
        .assert()
        .success()
        .stdout(predicate::str::contains(r#"{"subscriber_id":"S001"}"#));
}

#[test]
fn query_refuses_writes() {
    let w = tempfile::tempdir().unwrap();
    assert!(run_job(&demo_job(), None, w.path()).status.success());
    cvm()
        .args(["query", "--warehouse"])
        .arg(w.path())
        .arg("DROP TABLE customer_value")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not allowed").or(predicate::str::contains("DDL")));
}

#[test]
fn json_logs_for_schedulers() {
    let w = tempfile::tempdir().unwrap();
    let out = cvm()
        .args(["--log-format", "json", "run"])
        .arg(demo_job())
        .args(["--as-of", AS_OF, "--warehouse"])
        .arg(w.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let steps: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("every log line is JSON"))
        .filter(|v| v["fields"]["message"] == "step done")
        .collect();
    let names: Vec<&str> = steps.iter().map(|v| v["fields"]["step"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "ingest",
            "usage_daily",
            "quality",
            "features",
            "screening_rules",
            "screening",
            "models",
            "scoring",
            "customer_value",
            "tier_migration",
            "model_metrics",
            "kpi",
            "campaigns",
            "campaign_effect",
            "rejects",
            "publish"
        ]
    );
}

#[test]
fn validate_reads_parquet_schemas_from_the_footer() {
    let landing = Landing::new();
    std::fs::remove_dir_all(landing.path().join("billing")).unwrap();
    landing.write_bytes("billing/dt=2026-11-05/part-0.parquet", &crate::formats::billing_parquet());
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(
        dir.path(),
        "[sources.billing]\nformat = \"parquet\"\n[sources.billing.columns]\nnet_amount = \"amount\"\n",
    );
    // the file has net_amount, not amount: the mapping makes it missing
    cvm().arg("validate").arg(&job).arg("--input-root").arg(landing.path()).assert().code(1).stderr(
        predicate::str::contains("part-0.parquet: missing required column 'net_amount' (mapped from 'amount')"),
    );
    let job = job_file(dir.path(), "[sources.billing]\nformat = \"parquet\"\n");
    cvm().arg("validate").arg(&job).arg("--input-root").arg(landing.path()).assert().success();
    landing.write("billing/dt=2026-11-06/part-0.parquet", "PAR1 not really parquet at all PAR1");
    cvm()
        .arg("validate")
        .arg(&job)
        .arg("--input-root")
        .arg(landing.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("billing/dt=2026-11-06/part-0.parquet: unreadable"));
}

#[test]
fn demo_generates_a_base_and_runs_the_job_on_it() {
    // the shipped job file, moved with its folder: its paths are relative to it
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("jobs")).unwrap();
    let job = root.path().join("jobs/generated.toml");
    std::fs::copy(repo().join("jobs/generated.toml"), &job).unwrap();
    let out = cvm().arg("demo").arg("--job").arg(&job).args(["--subscribers", "1500"]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let warehouse = url::Url::from_file_path(root.path().join("warehouse/generated/warehouse")).unwrap().to_string();
    for expected in [
        "lines 1500 (".to_string(),
        "snapshot 2026-11-22 of job generated published".to_string(),
        format!("customer_value         1500 rows  {warehouse}/customer_value"),
        "rejects          0 of ".to_string(),
        "churn model (30-day horizon): fitted".to_string(),
        "  trained on features at 2026-10-23, 2026-09-23 (".to_string(),
        "prepaid (BG/NBD, weeks): fitted".to_string(),
    ] {
        assert!(stdout.contains(&expected), "no `{expected}` in:\n{stdout}");
    }
    assert!(root.path().join("warehouse/generated/landing/_truth/churn_truth.csv").is_file());
}
