//! Campaign exports (list, CSV and Parquet with checksum sidecars, msisdn
//! rules, the HMAC key), personal data absent from every analyst table, and
//! the HTML run report.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::support::*;

fn demo_run() -> tempfile::TempDir {
    let w = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), AS_OF, w.path());
    w
}

/// `cvm campaign export JOB --as-of T --warehouse W ARGS`, to run as is or with a changed environment.
fn export_command(job: &Path, warehouse: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = cvm();
    cmd.args(["campaign", "export"]).arg(job).args(["--as-of", AS_OF, "--warehouse"]).arg(warehouse).args(args);
    cmd
}

fn export(job: &Path, warehouse: &Path, args: &[&str]) -> std::process::Output {
    export_command(job, warehouse, args).output().unwrap()
}

fn sidecar(file: &Path) -> serde_json::Value {
    let text = std::fs::read(format!("{}.sidecar.json", file.display())).expect("the sidecar is written");
    serde_json::from_slice(&text).unwrap()
}

/// A copy of the demo job with `[exports]` replaced, in `dir`.
fn demo_with_exports(dir: &Path, exports: &str) -> PathBuf {
    let text = std::fs::read_to_string(demo_job()).unwrap();
    let text = text[..text.find("[exports]").unwrap()].to_string() + exports;
    let text =
        text.replace("\"../fixtures/demo/input\"", &format!("\"{}\"", repo().join("fixtures/demo/input").display()));
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn list_and_export_a_campaign_with_a_checksum_sidecar() {
    // the demo job and a campaign that selects nobody
    let dir = tempfile::tempdir().unwrap();
    let job = demo_with_exports(
        dir.path(),
        "[exports]\non_run = true\nmsisdn = \"allow\"\n\n[[campaigns]]\nname = \"nobody\"\nchannel = \"sms\"\n\
         rule = \"false\"\nrank_by = \"clv\"\nreason = \"'never'\"\n",
    );
    let w = tempfile::tempdir().unwrap();
    run_ok(&job, AS_OF, w.path());
    let out = cvm()
        .args(["campaign", "list"])
        .arg(&job)
        .args(["--as-of", AS_OF, "--warehouse"])
        .arg(w.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let sizes: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[2].to_string())
        })
        .collect();
    let want = [
        ("retention_priority", "0"),
        ("upsell_potential", "2"),
        ("winback_dormant", "2"),
        ("loyalty_care", "2"),
        ("nobody", "0"),
    ];
    assert_eq!(sizes, want.map(|(a, b)| (a.to_string(), b.to_string())), "{text}");

    let csv = w.path().join("_exports/upsell.csv");
    let out = export(&job, w.path(), &["--campaign", "upsell_potential", "--output", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&csv).unwrap();
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    let (header, rows) = parse_csv(&text);
    assert_eq!(
        header,
        ["snapshot_date", "campaign", "rank", "subscriber_id", "channel", "score", "value_at_stake", "reason"]
    );
    assert_eq!(rows.len(), 2);
    let ranks: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(ranks, ["1", "2"]);
    let meta = sidecar(&csv);
    assert_eq!(meta["rows"], 2);
    assert_eq!(meta["msisdn"], "dropped");
    assert_eq!(meta["sha256"].as_str().unwrap(), cvm::job::hex(&Sha256::digest(&bytes)));
    // the export the run wrote itself is the same file
    let on_run = w.path().join("_exports/snapshot_date=2026-11-22/upsell_potential.csv");
    assert_eq!(std::fs::read(on_run).unwrap(), bytes);

    // Parquet, and an empty campaign still has a header-only file
    let parquet = w.path().join("_exports/winback.parquet");
    let out = export(
        &job,
        w.path(),
        &["--campaign", "winback_dormant", "--format", "parquet", "--output", parquet.to_str().unwrap()],
    );
    assert!(out.status.success());
    assert_eq!(&std::fs::read(&parquet).unwrap()[..4], b"PAR1");
    assert_eq!(sidecar(&parquet)["rows"], 2);
    let empty = w.path().join("_exports/nobody.csv");
    assert!(export(&job, w.path(), &["--campaign", "nobody", "--output", empty.to_str().unwrap()]).status.success());
    assert_eq!(std::fs::read_to_string(&empty).unwrap().lines().count(), 1);

    // an unknown campaign is a usage error naming the known ones
    let out = export(&job, w.path(), &["--campaign", "nope", "--output", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("upsell_potential"));
}

#[test]
fn msisdn_only_when_the_job_allows_and_the_command_asks() {
    let w = demo_run();
    let dir = tempfile::tempdir().unwrap();
    let file = w.path().join("_exports/winback.csv");
    let args = ["--campaign", "winback_dormant", "--output", file.to_str().unwrap()];

    // the demo allows it on request
    let out = export(&demo_job(), w.path(), &[&args[..], &["--with-msisdn"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (header, rows) = parse_csv(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(header.last().unwrap(), "msisdn");
    assert_eq!(rows[0][3], "S010");
    assert_eq!(rows[0].last().unwrap(), "+3361000010");
    assert_eq!(sidecar(&file)["msisdn"], "clear");

    // a job that drops msisdn refuses the flag
    let job = demo_with_exports(dir.path(), "[exports]\nmsisdn = \"drop\"\n");
    let out = export(&job, w.path(), &[&args[..], &["--with-msisdn"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not allow msisdn"));

    // a job that hashes it needs the key, and never falls back to a default
    let job = demo_with_exports(dir.path(), "[exports]\nmsisdn = \"hmac\"\nhmac_key_env = \"CVM_TEST_HMAC_KEY\"\n");
    let out = export_command(&job, w.path(), &args).env_remove("CVM_TEST_HMAC_KEY").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("CVM_TEST_HMAC_KEY"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = export_command(&job, w.path(), &args).env("CVM_TEST_HMAC_KEY", "s3cret").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&file).unwrap();
    let (header, rows) = parse_csv(&text);
    assert_eq!(header.last().unwrap(), "msisdn_hmac");
    assert_eq!(rows[0].last().unwrap(), &cvm::stages::campaigns::export::hmac_hex(b"s3cret", "+3361000010"));
    assert!(!text.contains("+3361000010"));
}

#[test]
fn a_hashing_job_without_its_key_fails_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let job = demo_with_exports(
        dir.path(),
        "[exports]\non_run = true\nmsisdn = \"hmac\"\nhmac_key_env = \"CVM_TEST_HMAC_KEY\"\n",
    );
    let w = dir.path().join("warehouse");
    let out = cvm()
        .arg("run")
        .arg(&job)
        .args(["--as-of", AS_OF, "--warehouse"])
        .arg(&w)
        .env_remove("CVM_TEST_HMAC_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CVM_TEST_HMAC_KEY"));
    assert!(!w.exists(), "nothing is written");
}

/// Every msisdn and other_party value of the demo extracts.
fn personal_values() -> Vec<String> {
    let input = repo().join("fixtures/demo/input");
    let mut values = Vec::new();
    for (path, bytes) in snapshot_files(&input) {
        let name = path.to_string_lossy().to_string();
        let text = if name.ends_with(".gz") {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s).unwrap();
            s
        } else if name.ends_with(".csv") {
            String::from_utf8_lossy(&bytes).to_string()
        } else {
            continue;
        };
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
        for column in ["msisdn", "other_party"] {
            if let Some(i) = header.iter().position(|h| h == column) {
                for record in reader.records().flatten() {
                    if let Some(v) = record.get(i).filter(|v| v.len() >= 6) {
                        values.push(v.to_string());
                    }
                }
                reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
            }
        }
    }
    values.sort();
    values.dedup();
    values
}

#[test]
fn no_analyst_table_holds_personal_data_in_clear() {
    let w = demo_run();
    let personal = personal_values();
    assert!(personal.len() > 20, "the scan needs the fixtures' personal values: {personal:?}");
    let tables = query_csv(w.path(), "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    let (_, rows) = parse_csv(&tables);
    let tables: Vec<String> = rows.into_iter().map(|r| r[0].clone()).collect();
    for t in ["customer_value", "usage_daily", "kpi", "campaigns", "model_metrics", "rejects"] {
        assert!(tables.contains(&t.to_string()), "{t} not found among {tables:?}");
    }
    for table in &tables {
        // every column of every row, as text
        let text = query_csv(w.path(), &format!("SELECT * FROM {table}"));
        for value in &personal {
            assert!(!text.contains(value.as_str()), "{table} holds {value} in clear");
        }
    }
    // the campaign files the run exported carry no msisdn either
    for (path, bytes) in snapshot_files(&w.path().join("_exports")) {
        let text = String::from_utf8_lossy(&bytes);
        for value in &personal {
            assert!(!text.contains(value.as_str()), "{} holds {value}", path.display());
        }
    }
}

#[test]
fn every_run_writes_a_self_contained_report_and_cvm_report_rewrites_it() {
    let w = demo_run();
    let folder = w.path().join("_manifests/demo/snapshot_date=2026-11-22");
    let report = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".report.html"))
        .expect("the run writes a report next to its manifest");
    let html = std::fs::read_to_string(&report).unwrap();
    for heading in [
        "Value tiers",
        "Pareto: who brings the revenue",
        "Profit curve (20/80/30)",
        "Network ARPU, last 12 months",
        "Churn risk",
        "Churn model calibration",
        "Retention by cohort group",
        "Campaigns",
        "Rejected input rows by rule",
    ] {
        assert!(html.contains(heading), "no section {heading}");
    }
    assert!(html.matches("<svg").count() >= 8, "every picture is inline SVG");
    // self-contained: no scripts, no external resources (the SVG namespace is not fetched)
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"));
    assert_eq!(html.matches("http").count(), html.matches("http://www.w3.org/2000/svg").count());
    // figures from the tables: the demo's top 20% bring 41.6% of revenue; 29 rows were rejected
    assert!(html.contains("41.6%") && html.contains(">29<"), "headline figures missing");

    std::fs::remove_file(&report).unwrap();
    let out =
        cvm().arg("report").arg(demo_job()).args(["--as-of", AS_OF, "--warehouse"]).arg(w.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&report).unwrap().len(), html.len());

    // where a headless Chromium is installed, it renders the page
    if let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| which(c)) {
        let png = w.path().join("report.png");
        let status = std::process::Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000"])
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", report.display()))
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        assert!(std::fs::metadata(&png).unwrap().len() > 50_000, "the screenshot is not blank");
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false)
}

#[test]
fn outputs_named_on_the_command_line_stay_below_the_export_root() {
    let w = demo_run();
    let outside = tempfile::tempdir().unwrap();
    for output in [outside.path().join("x.csv").display().to_string(), "../customer_value/x.csv".to_string()] {
        let out = export(&demo_job(), w.path(), &["--campaign", "loyalty_care", "--output", &output]);
        assert_eq!(out.status.code(), Some(2), "{output}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--output"), "{output}");
        let out = query_to(w.path(), "csv", &output, "SELECT 1");
        assert_eq!(out.status.code(), Some(2), "{output}");
    }
    assert!(snapshot_files(outside.path()).is_empty());
    // nor may a query's output replace a campaign export: it has a root of its own
    let list = w.path().join(format!("_exports/snapshot_date={AS_OF}/loyalty_care.csv"));
    let out = query_to(w.path(), "csv", &list, "SELECT 1");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out = query_to(w.path(), "csv", "top.csv", "SELECT 1 AS one");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(w.path().join("_queries/top.csv").exists());
    // a relative path lands below the export root
    let out = export(&demo_job(), w.path(), &["--campaign", "loyalty_care", "--output", "lists/loyalty.csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(w.path().join("_exports/lists/loyalty.csv").exists());
}
