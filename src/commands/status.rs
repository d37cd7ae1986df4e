//! `cvm status`: the recent runs of a job (or of every job of a
//! warehouse), read back from their manifests, and the runs in progress,
//! read from their locks. Also what `cvm schedule` and `cvm backfill` ask:
//! has this snapshot been published by a run of this job?

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use crate::run::lock::LockRecord;
use crate::storage::{Location, StorageError, StoreUrl};
use crate::warehouse::commit::{self, CommitError};

/// One run, as its manifest tells it.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub job: String,
    pub snapshot_date: NaiveDate,
    pub run_id: String,
    pub status: String,
    pub started_at: String,
    pub seconds: Option<f64>,
    /// Rows written, over every table.
    pub rows: u64,
    /// Rows rejected, over every source.
    pub rejects: u64,
    pub error: Option<String>,
    pub config_hash: String,
    /// The manifest itself, for the checks of `cvm backfill`.
    #[serde(skip)]
    pub manifest: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Commit(#[from] CommitError),
}

/// Every run of `job` (every job when None) recorded in the warehouse, newest first.
pub async fn runs(warehouse: &StoreUrl, job: Option<&str>) -> Result<Vec<RunRecord>, StatusError> {
    let location = Location::open(warehouse)?;
    let mut folder = warehouse.store_path().join("_manifests");
    if let Some(job) = job {
        folder = folder.join(job);
    }
    let mut records = Vec::new();
    for meta in location.list_under(&folder).await? {
        let name = meta.location.filename().unwrap_or_default();
        // the run's own document, not its models artifact or report
        if !name.ends_with(".json") || name.ends_with(".models.json") || name.ends_with(".sidecar.json") {
            continue;
        }
        let bytes = location.get_bytes(&meta.location).await?;
        let Ok(manifest) = serde_json::from_slice::<Value>(&bytes) else {
            tracing::warn!("skipping unreadable manifest {}", warehouse.url_of(&meta.location));
            continue;
        };
        if let Some(record) = record_of(manifest) {
            records.push(record);
        }
    }
    records.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.run_id.cmp(&a.run_id)));
    Ok(records)
}

fn record_of(manifest: Value) -> Option<RunRecord> {
    let text = |v: &Value| v.as_str().map(str::to_string);
    let sum = |v: &Value, field: &str| {
        v.as_object().map(|o| o.values().filter_map(|x| x[field].as_u64()).sum::<u64>()).unwrap_or(0)
    };
    Some(RunRecord {
        job: text(&manifest["job"]["name"])?,
        snapshot_date: text(&manifest["snapshot_date"])?.parse().ok()?,
        run_id: text(&manifest["run_id"])?,
        status: text(&manifest["status"])?,
        started_at: text(&manifest["started_at"]).unwrap_or_default(),
        seconds: manifest["seconds"].as_f64(),
        rows: sum(&manifest["outputs"], "rows"),
        rejects: sum(&manifest["sources"], "rows_rejected"),
        error: text(&manifest["error"]),
        config_hash: text(&manifest["job"]["config_hash"]).unwrap_or_default(),
        manifest,
    })
}

/// The run whose files hold snapshot T in the latest commit, if any.
pub async fn published_run(warehouse: &StoreUrl, as_of: NaiveDate) -> Result<Option<String>, StatusError> {
    let location = Location::open(warehouse)?;
    Ok(commit::latest(&location).await?.and_then(|c| c.run_of_snapshot(as_of)))
}

/// The succeeded run of `job` that published snapshot T, if it is what is
/// published now (one manifest read, at its known path).
pub async fn published_by(warehouse: &StoreUrl, job: &str, as_of: NaiveDate) -> Result<Option<RunRecord>, StatusError> {
    let Some(run_id) = published_run(warehouse, as_of).await? else {
        return Ok(None);
    };
    let location = Location::open(warehouse)?;
    let path = crate::warehouse::manifest::folder(warehouse, job, as_of).join(format!("{run_id}.json").as_str());
    let bytes = match location.get_bytes(&path).await {
        Ok(bytes) => bytes,
        // published by another job (or its manifest was never written)
        Err(StorageError { source: object_store::Error::NotFound { .. }, .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let record = serde_json::from_slice::<Value>(&bytes).ok().and_then(record_of);
    Ok(record.filter(|r| r.status == "succeeded"))
}

/// The runs holding a lock now (in progress, or dead and not yet taken over).
pub async fn locks(warehouse: &StoreUrl) -> Result<Vec<LockRecord>, StatusError> {
    Ok(crate::run::lock::all(&Location::open(warehouse)?).await?)
}

/// The status as an aligned text table.
pub fn render(runs: &[RunRecord], locks: &[LockRecord]) -> String {
    let mut out = String::new();
    let now = chrono::Utc::now();
    for lock in locks {
        let state =
            if lock.is_stale(now) { "stale lock (its run is gone; the next run takes it over)" } else { "running" };
        out.push_str(&format!(
            "{}  {}  {state}: run {} on {} (pid {}) since {}\n",
            lock.job, lock.snapshot_date, lock.run_id, lock.host, lock.pid, lock.acquired_at
        ));
    }
    if !locks.is_empty() {
        out.push('\n');
    }
    let header = ["job", "snapshot", "status", "started", "seconds", "rows", "rejects", "run"];
    let rows: Vec<[String; 8]> = runs
        .iter()
        .map(|r| {
            [
                r.job.clone(),
                r.snapshot_date.to_string(),
                r.status.clone(),
                r.started_at.chars().take(19).collect::<String>().replace('T', " "),
                r.seconds.map(|s| format!("{s:.1}")).unwrap_or_default(),
                r.rows.to_string(),
                r.rejects.to_string(),
                r.run_id.clone(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].len()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<&str>| {
        cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    out.push_str(&line(header.to_vec()));
    out.push('\n');
    for (r, run) in rows.iter().zip(runs) {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
        out.push('\n');
        if let Some(e) = &run.error {
            out.push_str(&format!("    error: {e}\n"));
        }
    }
    if runs.is_empty() {
        out.push_str("(no runs recorded)\n");
    }
    out
}
