//! `cvm backfill JOB --from D1 --to D2`: runs each snapshot in date order.
//! Resumable: a snapshot is skipped when what is published for it came from
//! a succeeded run of the same job file (same configuration hash) over the
//! same input files (same URLs and sizes, and the same version: the ETag,
//! or the modification time where the store gives none), unless forced. The first failure stops the backfill, naming its date.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::commands::status::{self, StatusError};
use crate::job::Job;
use crate::run::{self, RunError, RunSummary};
use crate::storage::{Location, StorageError};
use crate::warehouse::manifest::{InputFile, Manifest};

/// What happened to one snapshot.
#[derive(Debug)]
pub enum Outcome {
    Ran(Box<RunSummary>),
    /// Already published by this run, from the same job file and inputs.
    Skipped {
        run_id: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("backfill stopped at snapshot {date} (the snapshots before it are published): {source}")]
    Run { date: NaiveDate, source: RunError },
    #[error("backfill stopped at snapshot {date}: cannot tell whether it is already published: {source}")]
    Status { date: NaiveDate, source: StatusError },
    #[error("--from {from} is after --to {to}")]
    Range { from: NaiveDate, to: NaiveDate },
}

/// Runs (or skips) every snapshot from `from` to `to`, calling `report`
/// after each one.
pub async fn backfill(
    job: &Job,
    from: NaiveDate,
    to: NaiveDate,
    force: bool,
    mut report: impl FnMut(NaiveDate, &Outcome),
) -> Result<usize, BackfillError> {
    if from > to {
        return Err(BackfillError::Range { from, to });
    }
    let mut ran = 0;
    for date in from.iter_days().take_while(|d| *d <= to) {
        if !force {
            let done = already_done(job, date).await.map_err(|source| BackfillError::Status { date, source })?;
            if let Some(run_id) = done {
                let outcome = Outcome::Skipped { run_id };
                tracing::info!(snapshot = %date, "already published from the same job file and inputs: skipped");
                report(date, &outcome);
                continue;
            }
        }
        let summary = run::run(job, date).await.map_err(|source| BackfillError::Run { date, source })?;
        ran += 1;
        report(date, &Outcome::Ran(Box::new(summary)));
    }
    Ok(ran)
}

/// The run that published snapshot T, if it did so from this job file and the inputs as they are now.
async fn already_done(job: &Job, date: NaiveDate) -> Result<Option<String>, StatusError> {
    let warehouse = Location::open(&job.warehouse, &job.storage)?;
    let Some(run) = status::published_by(&warehouse, &job.name, date).await? else {
        return Ok(None);
    };
    if run.config_hash != job.config_hash {
        tracing::info!(snapshot = %date, "published from another version of the job file: running again");
        return Ok(None);
    }
    if !inputs_unchanged(job, &run.manifest).await? {
        tracing::info!(snapshot = %date, "the input files changed since it was published: running again");
        return Ok(None);
    }
    Ok(Some(run.run_id))
}

/// Whether every source lists the same files now as the manifest recorded,
/// each the same version ([`InputFile::is_version`]).
async fn inputs_unchanged(job: &Job, manifest: &Manifest) -> Result<bool, StorageError> {
    for source in job.sources.iter().filter(|s| s.enabled) {
        let location = Location::open(&source.url, &job.storage)?;
        let now: Vec<InputFile> = location
            .list_files()
            .await?
            .iter()
            .map(|m| InputFile::listed(location.url.url_of(&m.location), m))
            .collect();
        let then: BTreeMap<&str, &InputFile> = manifest
            .sources
            .get(source.kind.name())
            .map(|s| s.files.iter().map(|f| (f.url.as_str(), f)).collect())
            .unwrap_or_default();
        // a landing holds thousands of CDR files: one lookup each, not a scan
        let unchanged = now.len() == then.len()
            && now.iter().all(|file| {
                then.get(file.url.as_str())
                    .is_some_and(|f| file.is_version(f.size, f.etag.as_deref(), &f.last_modified))
            });
        if !unchanged {
            return Ok(false);
        }
    }
    Ok(true)
}
