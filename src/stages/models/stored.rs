//! The churn and prepaid models' stored fits. Both learn from months of
//! history (the churn features at three horizons back, the recharge
//! histories one horizon back), which one night hardly moves, and fitting
//! them is most of the model step. A run that fits them stores the fit, once
//! its snapshot is published, at
//! `<warehouse>/_models/<job>/fitted_at=<T>.json`; the runs of the nights
//! after it apply that fit until it is `[churn] refit_every_days` days old.
//!
//! The fit a run at T applies: the newest stored fit dated on or before T
//! and younger than refit_every_days, made by the same cvm version from the
//! same job file. A fit dated after T is never applied (a backfilled night
//! must not learn from outcomes after it), so a re-run of a night applies
//! the fit its first run applied (or stored) and publishes the same scores.
//! Everything a fit publishes is stored as it was computed: the model's text
//! exactly as bound to the scoring SQL, and numbers that read back to the
//! same bits (serde_json's float_roundtrip).

use chrono::NaiveDate;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use super::MetricRow;
use super::churn::ChurnArtifact;
use super::prepaid::PrepaidArtifact;
use crate::job::Job;
use crate::storage::{Location, StorageError, StoreUrl};

/// The layout of a stored fit; a fit of another layout is fitted again.
const FORMAT: u32 = 1;

/// A fit of the churn and prepaid models, as stored and read back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredFit {
    pub format: u32,
    pub cvm_version: String,
    /// The job file's hash: a changed job fits again.
    pub config_hash: String,
    /// The snapshot the models were fitted at.
    pub fitted_at: NaiveDate,
    /// The churn artifact without its model, which is `churn_model`.
    pub churn: ChurnArtifact,
    /// The churn model as bound to the scoring SQL (`$churn_model`); none when it did not fit.
    pub churn_model: Option<String>,
    pub prepaid: PrepaidArtifact,
    /// The churn and prepaid models' model_metrics rows.
    pub metrics: Vec<MetricRow>,
}

impl StoredFit {
    pub fn new(
        job: &Job,
        fitted_at: NaiveDate,
        mut churn: ChurnArtifact,
        churn_model: Option<String>,
        prepaid: PrepaidArtifact,
        metrics: Vec<MetricRow>,
    ) -> StoredFit {
        churn.model = None;
        StoredFit {
            format: FORMAT,
            cvm_version: env!("CARGO_PKG_VERSION").to_string(),
            config_hash: job.config_hash.clone(),
            fitted_at,
            churn,
            churn_model,
            prepaid,
            metrics,
        }
    }

    /// The churn artifact as a run publishes it: with its model.
    pub fn churn_artifact(&self) -> ChurnArtifact {
        let mut artifact = self.churn.clone();
        artifact.model = self.churn_model.as_deref().and_then(|text| serde_json::from_str(text).ok());
        artifact
    }

    /// Why this fit may not be applied for `job`, if it may not.
    fn mismatch(&self, job: &Job) -> Option<String> {
        if self.format != FORMAT {
            Some(format!("its layout is {}, this cvm's {FORMAT}", self.format))
        } else if self.cvm_version != env!("CARGO_PKG_VERSION") {
            Some(format!("cvm {} made it", self.cvm_version))
        } else if self.config_hash != job.config_hash {
            Some("the job file changed since".to_string())
        } else {
            None
        }
    }
}

/// The folder of a job's stored fits.
fn folder(warehouse: &StoreUrl, job: &str) -> Path {
    warehouse.store_path().join("_models").join(job)
}

fn file_name(fitted_at: NaiveDate) -> String {
    format!("fitted_at={fitted_at}.json")
}

/// The date of a stored fit's file name.
fn date_of(name: &str) -> Option<NaiveDate> {
    let date = name.strip_prefix("fitted_at=")?.strip_suffix(".json")?;
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// Whether a fit of `fitted_at` may be applied at `as_of`.
fn in_reach(fitted_at: NaiveDate, as_of: NaiveDate, refit_every_days: u32) -> bool {
    fitted_at <= as_of && (as_of - fitted_at).num_days() < i64::from(refit_every_days)
}

/// The stored fit a run of `job` at `as_of` applies, if any (see the module's
/// comment). Nothing readable is not an error: the run fits, and says why.
pub async fn applicable(job: &Job, as_of: NaiveDate) -> Option<StoredFit> {
    let every = job.models.churn_refit_every_days;
    if every == 0 || job.models.churn_refit_now {
        return None;
    }
    let found = async {
        let location = Location::open(&job.warehouse, &job.storage)?;
        let mut dates: Vec<(NaiveDate, Path)> = location
            .list_under(&folder(&job.warehouse, &job.name))
            .await?
            .into_iter()
            .filter_map(|meta| Some((date_of(meta.location.filename()?)?, meta.location)))
            .filter(|(date, _)| in_reach(*date, as_of, every))
            .collect();
        // newest first
        dates.sort_by_key(|(date, _)| std::cmp::Reverse(*date));
        for (date, path) in dates {
            let bytes = location.get_bytes(&path).await?;
            match serde_json::from_slice::<StoredFit>(&bytes) {
                Ok(fit) => match fit.mismatch(job) {
                    None => return Ok(Some(fit)),
                    Some(why) => tracing::info!("the stored model fit of {date} is not applied: {why}"),
                },
                Err(e) => tracing::warn!("the stored model fit {} is unreadable: {e}", location.url.url_of(&path)),
            }
        }
        Ok::<_, StorageError>(None)
    };
    found.await.unwrap_or_else(|e| {
        tracing::warn!("could not read the stored model fits ({e}); the models are fitted again");
        None
    })
}

/// Stores a fit; returns its URL.
pub async fn store(job: &Job, fit: &StoredFit) -> Result<String, StorageError> {
    let location = Location::open(&job.warehouse, &job.storage)?;
    let path = folder(&job.warehouse, &job.name).join(file_name(fit.fitted_at).as_str());
    let json = serde_json::to_vec_pretty(fit).expect("a fit serialises");
    location.put_bytes(&path, json.into()).await?;
    Ok(job.warehouse.url_of(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_fit_is_applied_from_its_night_until_it_is_refit_every_days_old() {
        let fitted = day("2026-11-22");
        assert!(in_reach(fitted, day("2026-11-22"), 7));
        assert!(in_reach(fitted, day("2026-11-28"), 7));
        assert!(!in_reach(fitted, day("2026-11-29"), 7));
        // a fit is never applied before its own night
        assert!(!in_reach(fitted, day("2026-11-21"), 7));
        // 1: a night applies only its own fit (its re-runs); 0: never a stored one
        assert!(in_reach(fitted, day("2026-11-22"), 1));
        assert!(!in_reach(fitted, day("2026-11-23"), 1));
        assert!(!in_reach(fitted, day("2026-11-22"), 0));
    }

    #[test]
    fn file_names_carry_the_date() {
        assert_eq!(date_of(&file_name(day("2026-11-22"))), Some(day("2026-11-22")));
        assert_eq!(date_of("fitted_at=2026-13-01.json"), None);
        assert_eq!(date_of("other.json"), None);
    }
}
