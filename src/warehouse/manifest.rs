//! The run manifest: one JSON document per run, written last, saying what
//! the run read, what it wrote, how long each step took and how it ended.
//!
//! Stored at `<warehouse>/_manifests/<job>/snapshot_date=T/<run_id>.json`; the
//! fitted models' artifact sits beside it as `<run_id>.models.json`.

use std::collections::BTreeMap;

use chrono::{NaiveDate, SecondsFormat, Utc};
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::job::Job;
use crate::observe::memory::PoolReport;
use crate::storage::{Location, StorageError, StoreUrl};

/// A run's manifest, as written and as read back (fields a manifest of an
/// older cvm lacks read as empty).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub cvm_version: String,
    pub run_id: String,
    pub job: JobInfo,
    pub snapshot_date: NaiveDate,
    pub status: Status,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub seconds: Option<f64>,
    /// By source name (`cdr`, `billing`, ...).
    #[serde(default)]
    pub sources: BTreeMap<String, SourceReport>,
    #[serde(default)]
    pub outputs: BTreeMap<String, TableReport>,
    #[serde(default)]
    pub steps: Vec<StepReport>,
    /// Each source's volume against its recent history (`[quality]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quality: Vec<QualityCheck>,
    /// The engine's memory pool: its cap (`[engine] memory_limit`,
    /// `--memory-limit`), the peak its operators reserved, and how often a
    /// reservation was refused (an operator spilled to disk instead).
    #[serde(default)]
    pub engine_memory: PoolReport,
    /// The run's peak resident set size (Linux; None elsewhere).
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    #[serde(skip)]
    started: Option<std::time::Instant>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobInfo {
    pub name: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub config_hash: String,
    #[serde(default)]
    pub input_root: String,
    #[serde(default)]
    pub warehouse: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Succeeded,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TableReport {
    pub rows: u64,
    pub partitions: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StepReport {
    pub name: String,
    pub seconds: f64,
    pub rows_in: u64,
    pub rows_out: u64,
    /// Peak resident set size while the step ran (since the previous step ended).
    pub peak_rss_bytes: Option<u64>,
}

/// The folder of a job's run documents for snapshot T.
pub fn folder(warehouse: &StoreUrl, job: &str, snapshot: NaiveDate) -> Path {
    job_folder(warehouse, job).join(format!("snapshot_date={snapshot}").as_str())
}

/// The folder of every run document of a job.
pub fn job_folder(warehouse: &StoreUrl, job: &str) -> Path {
    warehouse_folder(warehouse).join(job)
}

/// The folder of every job's run documents.
pub fn warehouse_folder(warehouse: &StoreUrl) -> Path {
    warehouse.store_path().join("_manifests")
}

/// Whether a file of those folders is a run's manifest (`<run_id>.json`),
/// not a document beside it (`<run_id>.<kind>.json`, `.report.html`).
pub fn is_manifest_name(name: &str) -> bool {
    name.strip_suffix(".json").is_some_and(|run_id| !run_id.is_empty() && !run_id.contains('.'))
}

/// Every manifest below `folder` (one of the three above), newest run
/// first. A manifest that cannot be parsed is logged and skipped: one bad
/// document does not hide the others.
pub async fn read_all(location: &Location, folder: &Path) -> Result<Vec<Manifest>, StorageError> {
    read_listed(location, folder, |_| true).await
}

/// Every manifest of job `job` for a snapshot on or after `since`, newest
/// run first: read by name from one listing, so that a job's years of runs
/// are not all fetched.
pub async fn read_since(location: &Location, job: &str, since: NaiveDate) -> Result<Vec<Manifest>, StorageError> {
    let folder = job_folder(&location.url, job);
    let recent = |path: &Path| {
        path.parts().any(|part| {
            part.as_ref()
                .strip_prefix("snapshot_date=")
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .is_some_and(|d| d >= since)
        })
    };
    read_listed(location, &folder, recent).await
}

/// The manifests below `folder` whose path `keep` accepts, newest run first.
async fn read_listed(
    location: &Location,
    folder: &Path,
    keep: impl Fn(&Path) -> bool,
) -> Result<Vec<Manifest>, StorageError> {
    let mut manifests = Vec::new();
    for meta in location.list_under(folder).await? {
        if !is_manifest_name(meta.location.filename().unwrap_or_default()) || !keep(&meta.location) {
            continue;
        }
        let bytes = location.get_bytes(&meta.location).await?;
        match serde_json::from_slice::<Manifest>(&bytes) {
            Ok(manifest) => manifests.push(manifest),
            Err(e) => tracing::warn!("skipping unreadable manifest {}: {e}", location.url.url_of(&meta.location)),
        }
    }
    // run ids start with their UTC start time
    manifests.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.run_id.cmp(&a.run_id)));
    Ok(manifests)
}

/// The manifest of run `run_id` of a job for snapshot T; None when it was
/// never written or cannot be parsed.
pub async fn read(
    location: &Location,
    job: &str,
    snapshot: NaiveDate,
    run_id: &str,
) -> Result<Option<Manifest>, StorageError> {
    let warehouse = &location.url;
    let path = folder(warehouse, job, snapshot).join(format!("{run_id}.json").as_str());
    let bytes = match location.get_bytes(&path).await {
        Ok(bytes) => bytes,
        Err(StorageError { source: object_store::Error::NotFound { .. }, .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(serde_json::from_slice(&bytes)
        .inspect_err(|e| tracing::warn!("unreadable manifest {}: {e}", warehouse.url_of(&path)))
        .ok())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Manifest {
    pub fn start(job: &Job, snapshot_date: NaiveDate, run_id: &str) -> Manifest {
        Manifest {
            cvm_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: run_id.to_string(),
            job: JobInfo {
                name: job.name.clone(),
                path: job.path.display().to_string(),
                config_hash: job.config_hash.clone(),
                input_root: job.input_root.to_string(),
                warehouse: job.warehouse.to_string(),
            },
            snapshot_date,
            status: Status::Running,
            error: None,
            started_at: now(),
            finished_at: None,
            seconds: None,
            sources: BTreeMap::new(),
            outputs: BTreeMap::new(),
            steps: Vec::new(),
            quality: Vec::new(),
            engine_memory: PoolReport { limit_bytes: job.engine.memory_limit, ..Default::default() },
            peak_rss_bytes: crate::observe::memory::peak_rss(),
            started: Some(std::time::Instant::now()),
        }
    }

    /// Records a finished step (and logs it).
    pub fn step(&mut self, name: &str, started: std::time::Instant, rows_in: u64, rows_out: u64) {
        let seconds = started.elapsed().as_secs_f64();
        let peak_rss_bytes = crate::observe::memory::peak_rss();
        self.peak_rss_bytes = self.peak_rss_bytes.max(peak_rss_bytes);
        crate::observe::memory::reset_peak();
        let peak_rss_mib = peak_rss_bytes.map(|b| b >> 20);
        tracing::info!(step = name, rows_in, rows_out, seconds, peak_rss_mib, "step done");
        self.steps.push(StepReport { name: name.to_string(), seconds, rows_in, rows_out, peak_rss_bytes });
    }

    pub fn output(&mut self, table: &str, rows: u64) {
        self.outputs.entry(table.to_string()).or_default().rows = rows;
    }

    pub fn set_partitions(&mut self, table: &str, partitions: Vec<String>) {
        self.outputs.entry(table.to_string()).or_default().partitions = partitions;
    }

    fn finish(&mut self, status: Status) {
        self.status = status;
        self.peak_rss_bytes = self.peak_rss_bytes.max(crate::observe::memory::peak_rss());
        self.finished_at = Some(now());
        self.seconds = self.started.map(|s| s.elapsed().as_secs_f64());
    }

    pub fn finish_ok(&mut self) {
        self.finish(Status::Succeeded);
    }

    pub fn finish_failed(&mut self, error: &str) {
        self.error = Some(error.to_string());
        self.finish(Status::Failed);
    }

    /// Writes the manifest; returns its URL.
    pub async fn write(&self, warehouse: &Location) -> Result<String, StorageError> {
        self.write_json(warehouse, &format!("{}.json", self.run_id), self).await
    }

    /// Writes a document of the run next to its manifest, as
    /// `<run_id>.<kind>.json`; returns its URL.
    pub async fn write_beside(
        &self,
        warehouse: &Location,
        kind: &str,
        document: &impl Serialize,
    ) -> Result<String, StorageError> {
        self.write_json(warehouse, &format!("{}.{kind}.json", self.run_id), document).await
    }

    async fn write_json(
        &self,
        location: &Location,
        name: &str,
        document: &impl Serialize,
    ) -> Result<String, StorageError> {
        let warehouse = &location.url;
        let path = folder(warehouse, &self.job.name, self.snapshot_date).join(name);
        let json = serde_json::to_vec_pretty(document).expect("run documents serialise");
        location.put_bytes(&path, json.into()).await?;
        Ok(warehouse.url_of(&path))
    }
}

/// One figure of a source's judged period (T; L for billing) against the
/// median of the periods before it (src/stages/quality.rs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityCheck {
    pub source: String,
    /// `rows` (the volume) or `lines` (distinct subscribers: the completeness).
    pub measure: String,
    pub period: NaiveDate,
    pub value: u64,
    /// The history's median; None when it was too short to judge by.
    pub usual: Option<f64>,
    pub history_periods: u32,
    pub low: f64,
    pub high: f64,
    /// The newest period with rows: how late the source is.
    pub newest: Option<NaiveDate>,
    pub verdict: Verdict,
}

/// What the check made of one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Within,
    /// No rows at all for the judged period: the extract is late or missing.
    Missing,
    Low,
    High,
    /// Too little history, or too small a usual volume, to tell.
    NotJudged,
}

/// What ingest did with one source.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceReport {
    pub files: Vec<InputFile>,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub rows_staged: u64,
    pub rejects_by_rule: BTreeMap<String, u64>,
    pub warnings_by_rule: BTreeMap<String, u64>,
    pub seconds: f64,
}

/// One file of a source, for the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputFile {
    pub url: String,
    pub size: u64,
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: String,
    /// Not read by this run: a CDR file already folded into usage_daily, unchanged since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub folded_before: bool,
}

impl InputFile {
    /// The file as a store lists it.
    pub fn listed(url: String, meta: &object_store::ObjectMeta) -> InputFile {
        InputFile {
            url,
            size: meta.size,
            etag: meta.e_tag.clone(),
            last_modified: meta.last_modified.to_rfc3339(),
            folded_before: false,
        }
    }

    /// Whether this is the version of the file seen before with `size`,
    /// `etag` and `last_modified`: the ETag decides when both sightings
    /// have one, the modification time when not. The one rule for "is this
    /// input unchanged" (usage_daily's folded files, backfill's skips).
    pub fn is_version(&self, size: u64, etag: Option<&str>, last_modified: &str) -> bool {
        let same = match (self.etag.as_deref(), etag) {
            (Some(now), Some(then)) => now == then,
            _ => self.last_modified == last_modified,
        };
        self.size == size && same
    }
}
