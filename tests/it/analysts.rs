//! The outputs read correctly in the tools analysts use, as Delta Lake
//! tables: the `deltalake` package (pyarrow), Polars and DuckDB
//! (pip-installed into a virtual environment under the target folder on
//! first use) read the demo warehouse with typed partition columns and exact
//! decimals, travel back to an earlier version, and agree with `cvm query`.
//!
//! Without Python the test says so and passes, unless CVM_REQUIRE_DUCKDB=1
//! (set by .ci/run), where a missing reader is a failure.

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

const DAY_BEFORE: &str = "2026-11-21";

/// The Python packages the test reads with.
const READERS: [&str; 4] = ["duckdb", "pyarrow", "deltalake", "polars"];

/// A Python with the readers: $CVM_PYTHON, or a venv made (once) under the target folder.
///
/// The tests run side by side in one process; the first to ask makes the
/// venv and the others wait for it, since two `python3 -m venv` on one
/// folder at once fail with "File exists".
fn python_with_readers() -> Result<PathBuf, String> {
    static MADE: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    MADE.get_or_init(make_python_with_readers).clone()
}

fn make_python_with_readers() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CVM_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("analysts-venv");
    let python = venv.join("bin/python");
    let ready = |p: &PathBuf| {
        Command::new(p)
            .args(["-c", "import duckdb, pyarrow, deltalake, polars"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
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
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(READERS)
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !pip.status.success() || !ready(&python) {
        return Err(format!("pip install {} failed: {}", READERS.join(" "), String::from_utf8_lossy(&pip.stderr)));
    }
    Ok(python)
}

/// The Python with the readers, or None (the test `name` says it skips)
/// when there is none and CVM_REQUIRE_DUCKDB is not 1.
fn python_or_skip(name: &str) -> Option<PathBuf> {
    match python_with_readers() {
        Ok(p) => Some(p),
        Err(why) if std::env::var("CVM_REQUIRE_DUCKDB").as_deref() != Ok("1") => {
            eprintln!("SKIPPED {name}: {why}");
            None
        }
        Err(why) => panic!("{why}"),
    }
}

#[test]
fn delta_readers_read_the_outputs_as_cvm_does() {
    let Some(python) = python_or_skip("delta_readers_read_the_outputs_as_cvm_does") else {
        return;
    };
    let w = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), DAY_BEFORE, w.path());
    run_ok(&demo_job(), AS_OF, w.path());
    // a file moved into place by a run that never committed: no reader may see it
    let partition = w.path().join(format!("customer_value/snapshot_date={AS_OF}"));
    let published = std::fs::read_dir(&partition).unwrap().next().unwrap().unwrap().path();
    std::fs::copy(&published, partition.join("part-20990101T000000Z-deadbeef-00000.parquet")).unwrap();
    let out = Command::new(&python)
        .arg(repo().join("tests/analysts/read_outputs.py"))
        .args([w.path().as_os_str(), AS_OF.as_ref(), DAY_BEFORE.as_ref()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("DuckDB read the tables through {}", found["duckdb_via"]);

    // the same figures as cvm query, to the cent
    let at_t = format!("FROM customer_value WHERE snapshot_date = DATE '{AS_OF}'");
    let cvm_sum = query_csv(w.path(), &format!("SELECT CAST(sum(revenue_12m) AS VARCHAR) AS s {at_t}"));
    let cvm_sum = cvm_sum.lines().nth(1).unwrap();
    assert_eq!(query_csv(w.path(), &format!("SELECT count(*) AS n {at_t}")).lines().nth(1), Some("28"));
    assert_eq!(found["customer_value_rows"], 28);
    assert_eq!(found["pyarrow_rows"], 28);
    assert_eq!(found["revenue_12m_sum"].as_str().unwrap(), cvm_sum);
    assert_eq!(found["polars_revenue_12m"].as_str().unwrap(), cvm_sum);
    let day_before = query_csv(
        w.path(),
        &format!("SELECT count(*) AS n FROM customer_value WHERE snapshot_date = DATE '{DAY_BEFORE}'"),
    );
    let day_before: u64 = day_before.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(found["polars_rows_by_snapshot"], serde_json::json!({DAY_BEFORE: day_before, AS_OF: 28}));
    let share = query_csv(
        w.path(),
        &format!(
            "SELECT top_revenue_share_12m FROM kpi WHERE snapshot_date = DATE '{AS_OF}' \
             AND dimension = 'total' AND subscribers_12m IS NOT NULL"
        ),
    );
    let share: f64 = share.lines().nth(1).unwrap().parse().unwrap();
    assert!((found["top_revenue_share_12m"].as_f64().unwrap() - share).abs() < 1e-12);
    let sizes = query_csv(
        w.path(),
        &format!("SELECT campaign, count(*) AS n FROM campaigns WHERE snapshot_date = DATE '{AS_OF}' GROUP BY 1"),
    );
    let sizes: serde_json::Map<String, serde_json::Value> = sizes
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap())
        .map(|(c, n)| (c.to_string(), serde_json::json!(n.parse::<u64>().unwrap())))
        .collect();
    assert_eq!(sizes.len(), 3);
    assert_eq!(found["campaign_sizes"], serde_json::Value::Object(sizes));

    // one Delta version per run; version 0 is the first run's table
    assert_eq!(found["delta_version"], 1);
    assert_eq!(found["version_0_snapshots"], serde_json::json!([DAY_BEFORE]));
    assert_eq!(found["polars_version_0_rows"], day_before);

    // typed partition columns, exact decimals, no surprises
    assert_eq!(found["partition_columns"], serde_json::json!(["snapshot_date"]));
    assert_eq!(found["types"]["snapshot_date"], "DATE");
    assert_eq!(found["types"]["revenue_12m"], "DECIMAL(18,4)");
    assert_eq!(found["types"]["churn_risk"], "DOUBLE");
    assert_eq!(found["types"]["is_active"], "BOOLEAN");
    assert_eq!(found["types"]["subscriber_id"], "VARCHAR");
    assert_eq!(found["usage_date_type"], "DATE");
    assert_eq!(found["pyarrow_types"]["snapshot_date"], "date32[day]");
    assert_eq!(found["pyarrow_types"]["revenue_12m"], "decimal128(18, 4)");
    assert_eq!(found["pyarrow_types"]["clv"], "decimal128(18, 4)");
    assert_eq!(found["pyarrow_types"]["tenure_days"], "int32");
}

/// A table of `versions` versions written by cvm's Delta writer: version v
/// replaces day v % 4 with one file of v + 1 rows, and writes a checkpoint
/// where one is due, as a run's publish does.
fn table_of_versions(dir: &std::path::Path, versions: u64) -> cvm::warehouse::delta::TableLog {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    let url = cvm::storage::StoreUrl::parse(&format!("{}/", dir.display()), std::path::Path::new("/")).unwrap();
    let log =
        cvm::warehouse::delta::TableLog::new(&cvm::storage::Location::open(&url, &Default::default()).unwrap(), "kpi");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for v in 0..versions {
            let partition = format!("snapshot_date=2026-11-{:02}", 1 + v % 4);
            let path = format!("{partition}/part-v{v}-00000.parquet");
            let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
            let rows = Int64Array::from_iter_values(0..v as i64 + 1);
            let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(rows)]).unwrap();
            let bytes = cvm::warehouse::tables::parquet_bytes(schema, &[batch]).unwrap();
            let size = bytes.len() as u64;
            log.location.put_bytes(&log.file_path(&path), bytes).await.unwrap();
            let change = cvm::warehouse::delta::TableChange {
                read_version: v.checked_sub(1),
                replaced: BTreeSet::from([partition]),
                added: vec![(path, size)],
                by: BTreeMap::new(),
            };
            let done = cvm::warehouse::delta::transaction::replace_partitions(&log, &change).await.unwrap().unwrap();
            log.checkpoint_if_due(&done.state, chrono::Duration::hours(1)).await.unwrap();
        }
    });
    log
}

/// The checkpoint cvm writes every ten versions is read by delta-rs and
/// Polars as the table it stands for, and time travel before it still works.
#[test]
fn delta_readers_open_a_table_from_its_checkpoint() {
    let Some(python) = python_or_skip("delta_readers_open_a_table_from_its_checkpoint") else {
        return;
    };
    let w = tempfile::tempdir().unwrap();
    table_of_versions(w.path(), 13);
    let log_folder = w.path().join("kpi/_delta_log");
    assert!(log_folder.join("00000000000000000010.checkpoint.parquet").exists());
    // a reader that used the JSON versions before the checkpoint would still
    // find them; hide them so the checkpoint must carry the table
    for v in 0..10 {
        let json = log_folder.join(format!("{v:020}.json"));
        std::fs::rename(&json, json.with_extension("hidden")).unwrap();
    }
    let out = Command::new(&python)
        .arg(repo().join("tests/analysts/read_checkpointed.py"))
        .arg(w.path().join("kpi"))
        .arg("11")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // versions 9..=12 hold days 2, 3, 4 and 1 with 10..=13 rows
    assert_eq!(found["version"], 12);
    assert_eq!(found["files"], 4);
    assert_eq!(found["rows"], 10 + 11 + 12 + 13);
    assert_eq!(
        found["rows_by_partition"],
        serde_json::json!({"2026-11-01": 13, "2026-11-02": 10, "2026-11-03": 11, "2026-11-04": 12})
    );
    // version 11: day 1 still held version 8's 9 rows
    assert_eq!(found["earlier_rows"], 9 + 10 + 11 + 12);
    assert_eq!(found["polars_earlier_rows"], 9 + 10 + 11 + 12);
}
