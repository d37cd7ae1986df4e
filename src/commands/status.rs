//! `cvm status`: the recent runs of a job (or of every job of a
//! warehouse), read back from their manifests, and the runs in progress,
//! read from their locks. Also what `cvm schedule` and `cvm backfill` ask:
//! has this snapshot been published by a run of this job?

use chrono::NaiveDate;
use serde::Serialize;

use crate::run::lock::LockRecord;
use crate::storage::{Location, StorageError};
use crate::warehouse::commit::{self, CommitError};
use crate::warehouse::manifest::{self, Manifest, Status};

/// One run, as its manifest tells it.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub job: String,
    pub snapshot_date: NaiveDate,
    pub run_id: String,
    pub status: Status,
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
    pub manifest: Manifest,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Commit(#[from] CommitError),
}

/// Every run of `job` (every job when None) recorded in the warehouse, newest first.
pub async fn runs(warehouse: &Location, job: Option<&str>) -> Result<Vec<RunRecord>, StatusError> {
    let folder = match job {
        Some(job) => manifest::job_folder(&warehouse.url, job),
        None => manifest::warehouse_folder(&warehouse.url),
    };
    Ok(manifest::read_all(warehouse, &folder).await?.into_iter().map(record_of).collect())
}

fn record_of(manifest: Manifest) -> RunRecord {
    RunRecord {
        job: manifest.job.name.clone(),
        snapshot_date: manifest.snapshot_date,
        run_id: manifest.run_id.clone(),
        status: manifest.status,
        started_at: manifest.started_at.clone(),
        seconds: manifest.seconds,
        rows: manifest.outputs.values().map(|t| t.rows).sum(),
        rejects: manifest.sources.values().map(|s| s.rows_rejected).sum(),
        error: manifest.error.clone(),
        config_hash: manifest.job.config_hash.clone(),
        manifest,
    }
}

/// The run whose files hold snapshot T in the latest commit, if any.
pub async fn published_run(warehouse: &Location, as_of: NaiveDate) -> Result<Option<String>, StatusError> {
    Ok(commit::latest(warehouse).await?.and_then(|c| c.run_of_snapshot(as_of)))
}

/// The succeeded run of `job` that published snapshot T, if it is what is
/// published now (one manifest read, at its known path).
pub async fn published_by(warehouse: &Location, job: &str, as_of: NaiveDate) -> Result<Option<RunRecord>, StatusError> {
    let Some(run_id) = published_run(warehouse, as_of).await? else {
        return Ok(None);
    };
    // None: published by another job (or its manifest was never written)
    let record = manifest::read(warehouse, job, as_of, &run_id).await?.map(record_of);
    Ok(record.filter(|r| r.status == Status::Succeeded))
}

/// The runs holding a lock now (in progress, or dead and not yet taken over).
pub async fn locks(warehouse: &Location) -> Result<Vec<LockRecord>, StatusError> {
    Ok(crate::run::lock::all(warehouse).await?)
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
                r.status.as_str().to_string(),
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
