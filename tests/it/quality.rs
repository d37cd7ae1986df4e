//! The data-quality check: a CDR day delivered in part fails the run with
//! exit 3 before anything is published, naming the source and the figure;
//! a whole day passes, and every figure is in the run's manifest.
//!
//! Each landing is run into a warehouse of its own: usage_daily keeps the
//! CDR files it folded by URL, so a second landing into the same warehouse
//! would add its days to the first's.

use std::path::Path;

use crate::support::*;

/// 1,000 lines in 4 shards: each CDR folder holds 4 part files, so removing
/// 3 of day T's leaves a quarter of the day.
fn generate(landing: &Path) {
    let out = cvm()
        .args(["generate", "--subscribers", "1000", "--days", "14", "--as-of", AS_OF, "--seed", "3"])
        .args(["--cdr-per-day", "5000", "--shard-size", "250", "--out"])
        .arg(landing)
        .output()
        .unwrap();
    assert!(out.status.success(), "generate failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn job(dir: &Path, landing: &Path, extra: &str) -> std::path::PathBuf {
    let text =
        format!("name = \"quality\"\ninput_root = \"{}\"\nwarehouse = \"warehouse\"\n{extra}", landing.display());
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The manifest's check of `source`'s `measure`.
fn check<'a>(manifest: &'a serde_json::Value, source: &str, measure: &str) -> &'a serde_json::Value {
    manifest["quality"]
        .as_array()
        .expect("the manifest records the quality checks")
        .iter()
        .find(|c| c["source"] == source && c["measure"] == measure)
        .unwrap_or_else(|| panic!("no {source} {measure} check in {}", manifest["quality"]))
}

#[test]
fn a_cdr_day_delivered_in_part_fails_the_run_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let landing = dir.path().join("landing");
    generate(&landing);
    let warehouse = dir.path().join("warehouse");
    let job_path = job(dir.path(), &landing, "");
    run_ok(&job_path, AS_OF, &warehouse);
    let manifest = manifest_at(&warehouse, "quality", AS_OF);
    let cdr_rows = check(&manifest, "cdr", "rows");
    assert_eq!(cdr_rows["verdict"], "within", "{cdr_rows}");
    // the 13 local days before T reach back into a 14th UTC day
    assert_eq!(cdr_rows["history_periods"], 14, "{cdr_rows}");
    assert_eq!(check(&manifest, "subscribers", "rows")["verdict"], "not_judged", "no earlier run to judge by");

    // the same landing with 3 of day T's 4 CDR files not delivered
    let partial = dir.path().join("partial");
    copy_dir(&landing, &partial);
    let day_t = partial.join(format!("cdr/dt={AS_OF}"));
    let mut parts: Vec<_> = std::fs::read_dir(&day_t).unwrap().map(|e| e.unwrap().path()).collect();
    parts.sort();
    assert_eq!(parts.len(), 4, "{parts:?}");
    for part in &parts[1..] {
        std::fs::remove_file(part).unwrap();
    }
    let failed = dir.path().join("failed");
    let out = run_job(&job_path, Some(&partial), &failed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cdr: ") && stderr.contains(&format!("rows on {AS_OF}")), "{stderr}");
    assert!(stderr.contains("times the usual") && stderr.contains("band 0.5 to 2"), "{stderr}");
    assert!(stderr.contains("nothing was published"), "{stderr}");
    assert!(!failed.join("customer_value").exists() && !failed.join("_commits").exists(), "nothing is published");
    let manifest = manifest_at(&failed, "quality", AS_OF);
    assert_eq!(
        (manifest["status"].as_str(), check(&manifest, "cdr", "rows")["verdict"].as_str()),
        (Some("failed"), Some("low"))
    );

    // measured and recorded, not enforced: the run publishes and says why it did not fail
    let lenient = job(dir.path(), &partial, "[quality]\ncheck = false\n");
    let out = run_job(&lenient, None, &dir.path().join("lenient"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("check = false"), "{stderr}");
    let manifest = manifest_at(&dir.path().join("lenient"), "quality", AS_OF);
    let rows = check(&manifest, "cdr", "rows");
    assert_eq!(rows["verdict"], "low", "{rows}");
    let ratio = rows["value"].as_f64().unwrap() / rows["usual"].as_f64().unwrap();
    assert!((0.15..0.35).contains(&ratio), "a quarter of the day was delivered: {rows}");
    assert_eq!(check(&manifest, "cdr", "lines")["verdict"], "low");
}
