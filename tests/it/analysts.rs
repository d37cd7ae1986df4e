//! The outputs read correctly in the tools analysts use: DuckDB and pyarrow
//! (pip-installed into a virtual environment under the target folder on
//! first use) read the demo warehouse with typed partition columns and exact
//! decimals, and agree with `cvm query`.
//!
//! Without Python the test says so and passes, unless CVM_REQUIRE_DUCKDB=1
//! (set by .ci/run), where a missing reader is a failure.

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

/// A Python with duckdb and pyarrow: $CVM_PYTHON, or a venv made (once) under the target folder.
fn python_with_readers() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CVM_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("analysts-venv");
    let python = venv.join("bin/python");
    let ready = |p: &PathBuf| {
        Command::new(p).args(["-c", "import duckdb, pyarrow"]).output().map(|o| o.status.success()).unwrap_or(false)
    };
    if ready(&python) {
        return Ok(python);
    }
    let made =
        Command::new("python3").arg("-m").arg("venv").arg(&venv).output().map_err(|e| format!("python3: {e}"))?;
    if !made.status.success() {
        return Err(format!("python3 -m venv failed: {}", String::from_utf8_lossy(&made.stderr)));
    }
    let pip = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "duckdb", "pyarrow"])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !pip.status.success() || !ready(&python) {
        return Err(format!("pip install duckdb pyarrow failed: {}", String::from_utf8_lossy(&pip.stderr)));
    }
    Ok(python)
}

#[test]
fn duckdb_and_pyarrow_read_the_outputs_as_cvm_does() {
    let python = match python_with_readers() {
        Ok(p) => p,
        Err(why) if std::env::var("CVM_REQUIRE_DUCKDB").as_deref() != Ok("1") => {
            eprintln!("SKIPPED duckdb_and_pyarrow_read_the_outputs_as_cvm_does: {why}");
            return;
        }
        Err(why) => panic!("{why}"),
    };
    let w = tempfile::tempdir().unwrap();
    assert!(run_job(&demo_job(), None, w.path()).status.success());
    // a file moved into place by a run that never committed: no reader may see it
    let partition = w.path().join(format!("customer_value/snapshot_date={AS_OF}"));
    let published = std::fs::read_dir(&partition).unwrap().next().unwrap().unwrap().path();
    std::fs::copy(&published, partition.join("part-20990101T000000Z-deadbeef-00000.parquet")).unwrap();
    let out = Command::new(&python)
        .arg(repo().join("tests/analysts/read_outputs.py"))
        .arg(w.path())
        .arg(AS_OF)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // the same figures as cvm query, to the cent
    let cvm_sum = query_csv(w.path(), "SELECT CAST(sum(revenue_12m) AS VARCHAR) AS s FROM customer_value");
    assert_eq!(query_csv(w.path(), "SELECT count(*) AS n FROM customer_value").lines().nth(1), Some("28"));
    assert_eq!(found["customer_value_rows"], 28);
    assert_eq!(found["revenue_12m_sum"].as_str().unwrap(), cvm_sum.lines().nth(1).unwrap());
    let share = query_csv(
        w.path(),
        "SELECT top_revenue_share_12m FROM kpi WHERE dimension = 'total' AND subscribers_12m IS NOT NULL",
    );
    let share: f64 = share.lines().nth(1).unwrap().parse().unwrap();
    assert!((found["top_revenue_share_12m"].as_f64().unwrap() - share).abs() < 1e-12);
    assert_eq!(
        found["campaign_sizes"],
        serde_json::json!({"upsell_potential": 2, "winback_dormant": 2, "loyalty_care": 2})
    );

    // typed partition columns, exact decimals, no surprises
    assert_eq!(found["types"]["snapshot_date"], "DATE");
    assert_eq!(found["types"]["revenue_12m"], "DECIMAL(18,4)");
    assert_eq!(found["types"]["churn_risk"], "DOUBLE");
    assert_eq!(found["types"]["is_active"], "BOOLEAN");
    assert_eq!(found["types"]["subscriber_id"], "VARCHAR");
    assert_eq!(found["usage_date_type"], "DATE");
    assert_eq!(found["pyarrow_rows"], 28);
    assert_eq!(found["pyarrow_types"]["snapshot_date"], "date32[day]");
    assert_eq!(found["pyarrow_types"]["revenue_12m"], "decimal128(18, 4)");
    assert_eq!(found["pyarrow_types"]["clv"], "decimal128(18, 4)");
    assert_eq!(found["pyarrow_types"]["tenure_days"], "int32");
}
