//! `cvm screening export`: the fraud team's review list of a snapshot, the
//! lines the screening holds suspect (and watch), suspect first, then by
//! fraud score (sql/exports/export_fraud_review.sql), written as a campaign
//! list is: CSV or Parquet, a checksum sidecar, msisdn as the job allows.
//!
//! It is not a campaign: no control group is held out, and opt-outs do not
//! apply (they withhold consent to marketing; the fraud team must see an
//! opted-out line that defrauds too).

use chrono::NaiveDate;

use super::msisdn::{Msisdn, msisdn_mode};
use super::{ExportError, ExportFormat, ExportReport, Snapshot};
use crate::engine;
use crate::job::Job;
use crate::storage::StoreUrl;

pub use crate::job::FRAUD_REVIEW;

/// The lowest screening level a review list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReviewLevel {
    /// Suspect and watch lines.
    Watch,
    /// Suspect lines only.
    Suspect,
}

impl ReviewLevel {
    fn as_str(self) -> &'static str {
        match self {
            ReviewLevel::Watch => "watch",
            ReviewLevel::Suspect => "suspect",
        }
    }
}

/// Exports the fraud team's review list of snapshot `as_of` to `output`,
/// with its sidecar beside it.
pub async fn export_fraud_review(
    job: &Job,
    as_of: NaiveDate,
    level: ReviewLevel,
    format: ExportFormat,
    output: &StoreUrl,
    with_msisdn: bool,
) -> Result<ExportReport, ExportError> {
    let msisdn = msisdn_mode(job, with_msisdn)?;
    let snapshot = Snapshot::connect(job, as_of).await?;
    snapshot.with_contacts_for(&msisdn).await?;
    snapshot.fraud_review(level, format, output, &msisdn).await
}

impl Snapshot<'_> {
    /// Writes the review list of the snapshot's published screening.
    pub(super) async fn fraud_review(
        &self,
        level: ReviewLevel,
        format: ExportFormat,
        output: &StoreUrl,
        msisdn: &Msisdn,
    ) -> Result<ExportReport, ExportError> {
        if !crate::warehouse::reader::has_snapshot(&self.warehouse, "screening", self.as_of).await? {
            let url = self.job.warehouse.join("screening/").map(|u| u.to_string()).unwrap_or_default();
            return Err(ExportError::NoScreening { as_of: self.as_of, url });
        }
        let params = engine::Params::new().date("as_of", self.as_of).text("min_level", level.as_str());
        self.write(FRAUD_REVIEW, "export_fraud_review", &params, format, output, msisdn).await
    }
}
