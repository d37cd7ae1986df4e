//! `cvm campaign list` and `cvm campaign export`: a snapshot's campaigns and
//! their sizes, and one campaign as a file for a marketing tool (UTF-8 CSV
//! with a header, or Parquet) with a JSON sidecar giving its row count and
//! SHA-256. The fraud team's review list (`fraud_review.rs`) is written the
//! same way.
//!
//! Subscribers are identified by subscriber_id. msisdn comes from the
//! restricted contacts table the run writes, and only as the job's
//! `[exports] msisdn` allows: `hmac` adds `msisdn_hmac` (HMAC-SHA256 with a
//! key from the environment; no key, no export), `allow` adds msisdn in clear
//! when the command asks for it (`--with-msisdn`), `drop` never adds it.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::engine::{self, EngineOptions};
use crate::job::Job;
use crate::storage::{Location, StorageError, StoreUrl, UrlError};

mod fraud_review;
mod msisdn;

pub use fraud_review::{FRAUD_REVIEW, ReviewLevel, export_fraud_review};
use msisdn::{LEGACY_CONTACTS, Msisdn, msisdn_mode, personal_column};
pub use msisdn::{contacts_file, contacts_schema, hmac_hex, hmac_key};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "the job's exports hash msisdn ([exports] msisdn = \"hmac\") but the environment variable {variable} holding \
         the HMAC key is not set or empty; there is no default key"
    )]
    MissingKey { variable: String },
    #[error(
        "job {job} does not allow msisdn in exports: set [exports] msisdn = \"allow\" in the job to use --with-msisdn"
    )]
    MsisdnNotAllowed { job: String },
    #[error("snapshot {as_of} has no campaign '{campaign}' (it has: {known})")]
    UnknownCampaign { as_of: NaiveDate, campaign: String, known: String },
    #[error("no campaigns published for snapshot {as_of} under {url}")]
    NoSnapshot { as_of: NaiveDate, url: String },
    #[error(
        "no screening published for snapshot {as_of} under {url}: a snapshot published by a cvm from before the \
         fraud screening has none (run the snapshot again)"
    )]
    NoScreening { as_of: NaiveDate, url: String },
    #[error("no contacts for snapshot {as_of} under {url}: the run writes them when [exports] msisdn is hmac or allow")]
    NoContacts { as_of: NaiveDate, url: String },
    #[error(transparent)]
    Location(#[from] UrlError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("export: {0}")]
    Engine(#[from] DataFusionError),
    #[error(transparent)]
    Query(#[from] crate::warehouse::reader::ReadError),
    #[error(transparent)]
    Sql(#[from] engine::SqlError),
}

impl ExportError {
    /// Problems of configuration or usage, rather than of the data.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ExportError::MissingKey { .. } | ExportError::MsisdnNotAllowed { .. } | ExportError::UnknownCampaign { .. }
        )
    }
}

/// File format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Parquet,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Parquet => "parquet",
        }
    }
}

/// One campaign of a snapshot and its size.
#[derive(Debug, Clone, Serialize)]
pub struct ListedCampaign {
    pub campaign: String,
    pub channel: Option<String>,
    /// Subscribers to contact (the exported list).
    pub rows: u64,
    /// Subscribers held out as the control group (never exported).
    pub control: u64,
    /// Declared by the job (in its priority order) or only found in the warehouse.
    pub in_job: bool,
}

/// What an export wrote: the sidecar's content.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub file: String,
    pub format: ExportFormat,
    pub job: String,
    pub snapshot_date: NaiveDate,
    /// The campaign, or `fraud_review` for the fraud team's list.
    pub campaign: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    pub columns: Vec<String>,
    /// dropped, hmac-sha256 or clear.
    pub msisdn: &'static str,
    pub created_at: String,
}

/// The campaigns of snapshot `as_of`: the job's in priority order, then any others found.
pub async fn list(job: &Job, as_of: NaiveDate) -> Result<Vec<ListedCampaign>, ExportError> {
    Snapshot::open(job, as_of).await?.list().await
}

/// What the campaigns changed, as of snapshot `as_of`: its campaign_effect
/// rows as a text table (rates and uplift in percentage points), or None
/// when the snapshot measured no wave.
pub async fn effect(job: &Job, as_of: NaiveDate) -> Result<Option<String>, ExportError> {
    let snapshot = Snapshot::open(job, as_of).await?;
    if !snapshot.ctx.table_exist(super::EFFECT)? {
        return Ok(None);
    }
    let batches = collect(&snapshot.ctx, "export_effect", &engine::Params::new().date("as_of", as_of)).await?;
    if batches.iter().all(|b| b.num_rows() == 0) {
        return Ok(None);
    }
    let table = datafusion::arrow::util::pretty::pretty_format_batches(&batches).map_err(DataFusionError::from)?;
    Ok(Some(table.to_string()))
}

/// Exports one campaign of snapshot `as_of` to `output`, with its sidecar beside it.
pub async fn export(
    job: &Job,
    as_of: NaiveDate,
    campaign: &str,
    format: ExportFormat,
    output: &StoreUrl,
    with_msisdn: bool,
) -> Result<ExportReport, ExportError> {
    let msisdn = msisdn_mode(job, with_msisdn)?;
    let snapshot = Snapshot::open(job, as_of).await?;
    snapshot.with_contacts_for(&msisdn).await?;
    snapshot.export(campaign, format, output, &msisdn).await
}

/// Exports every campaign of the job for the snapshot under the job's
/// export root, as `snapshot_date=T/<campaign>.csv`, then the fraud team's
/// list (suspect and watch lines) as `snapshot_date=T/fraud_review.csv`
/// (never msisdn in clear).
pub async fn export_all(job: &Job, as_of: NaiveDate) -> Result<Vec<ExportReport>, ExportError> {
    let msisdn = msisdn_mode(job, false)?;
    let snapshot = Snapshot::open(job, as_of).await?;
    snapshot.with_contacts_for(&msisdn).await?;
    let mut out = Vec::new();
    for c in &job.campaigns {
        let url = job.exports.root.join(&format!("snapshot_date={as_of}/{}.csv", c.name))?;
        out.push(snapshot.export(&c.name, ExportFormat::Csv, &url, &msisdn).await?);
    }
    let url = job.exports.root.join(&format!("snapshot_date={as_of}/{FRAUD_REVIEW}.csv"))?;
    out.push(snapshot.fraud_review(ReviewLevel::Watch, ExportFormat::Csv, &url, &msisdn).await?);
    Ok(out)
}

/// A snapshot's published campaigns, with the warehouse registered once for
/// every list and export made from it.
struct Snapshot<'a> {
    job: &'a Job,
    as_of: NaiveDate,
    ctx: SessionContext,
    /// The warehouse, opened with the job's storage settings.
    warehouse: Location,
    /// The campaign partitions of the snapshot, sorted.
    published: Vec<String>,
}

impl<'a> Snapshot<'a> {
    /// The snapshot, which must have published campaigns.
    async fn open(job: &'a Job, as_of: NaiveDate) -> Result<Snapshot<'a>, ExportError> {
        let snapshot = Snapshot::connect(job, as_of).await?;
        if snapshot.published.is_empty() {
            let url = job.warehouse.join("campaigns/").map(|u| u.to_string()).unwrap_or_default();
            return Err(ExportError::NoSnapshot { as_of, url });
        }
        Ok(snapshot)
    }

    /// The warehouse registered, whatever the snapshot published.
    async fn connect(job: &'a Job, as_of: NaiveDate) -> Result<Snapshot<'a>, ExportError> {
        let warehouse = Location::open(&job.warehouse, &job.storage)?;
        let published = crate::warehouse::reader::partition_values(&warehouse, "campaigns", as_of).await?;
        let ctx = engine::session(&EngineOptions::default(), &job.storage)?;
        crate::warehouse::reader::register_warehouse(&ctx, &warehouse).await?;
        Ok(Snapshot { job, as_of, ctx, warehouse, published })
    }

    async fn list(&self) -> Result<Vec<ListedCampaign>, ExportError> {
        list_in(&self.ctx, self.job, self.as_of, &self.published).await
    }

    /// Registers the contacts table export_list joins: the snapshot's when the
    /// export carries msisdn in any form, an empty one when it does not (the
    /// restricted table is then never read).
    async fn with_contacts_for(&self, msisdn: &Msisdn) -> Result<(), ExportError> {
        if matches!(msisdn, Msisdn::Dropped) {
            let none = MemTable::try_new(Arc::new(contacts_schema()), vec![vec![]])?;
            self.ctx.register_table("contacts", Arc::new(none))?;
            return Ok(());
        }
        let folder = self.job.exports.contacts.join(&format!("snapshot_date={}/", self.as_of))?;
        let files = Location::open(&folder, &self.job.storage)?.list_files().await?;
        let has = |name: &str| files.iter().any(|m| m.location.filename() == Some(name));
        // the file of the run that published the snapshot (never one of a
        // run that died before its commit), or the one file a cvm from
        // before per-run contacts files wrote
        let run = crate::warehouse::reader::published_run(&self.warehouse, self.as_of).await?;
        let name = run
            .map(|r| contacts_file(&r))
            .filter(|n| has(n))
            .or_else(|| has(LEGACY_CONTACTS).then(|| LEGACY_CONTACTS.to_string()));
        let Some(name) = name else {
            return Err(ExportError::NoContacts { as_of: self.as_of, url: folder.to_string() });
        };
        let url = folder.join(&name)?;
        // a store of its own only: the warehouse's is the published view, which must stay
        if url.store_root() != self.job.warehouse.store_root() {
            engine::register_store(&self.ctx, &url, &self.job.storage)?;
        }
        crate::warehouse::tables::register_parquet(&self.ctx, "contacts", url.as_str(), &contacts_schema(), &[])?;
        Ok(())
    }

    async fn export(
        &self,
        campaign: &str,
        format: ExportFormat,
        output: &StoreUrl,
        msisdn: &Msisdn,
    ) -> Result<ExportReport, ExportError> {
        if !self.published.iter().any(|c| c == campaign) {
            let (as_of, known) = (self.as_of, self.published.join(", "));
            return Err(ExportError::UnknownCampaign { as_of, campaign: campaign.to_string(), known });
        }
        let params = engine::Params::new().date("as_of", self.as_of).text("campaign", campaign);
        self.write(campaign, "export_list", &params, format, output, msisdn).await
    }

    /// Writes one list, the result of a query of sql/exports whose last
    /// column is msisdn, to `output` with its sidecar beside it.
    async fn write(
        &self,
        name: &str,
        query: &str,
        params: &engine::Params,
        format: ExportFormat,
        output: &StoreUrl,
        msisdn: &Msisdn,
    ) -> Result<ExportReport, ExportError> {
        let batches = collect(&self.ctx, query, params).await?;
        let batches = batches.into_iter().map(|b| personal_column(b, msisdn)).collect::<Result<Vec<_>, _>>()?;
        let schema = batches[0].schema();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let bytes = match format {
            ExportFormat::Csv => csv_bytes(&batches)?,
            ExportFormat::Parquet => crate::warehouse::tables::parquet_bytes(schema.clone(), &batches)?,
        };
        let report = ExportReport {
            file: output.to_string(),
            format,
            job: self.job.name.clone(),
            snapshot_date: self.as_of,
            campaign: name.to_string(),
            rows: rows as u64,
            bytes: bytes.len() as u64,
            sha256: crate::job::hex(&Sha256::digest(&bytes)),
            columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
            msisdn: match msisdn {
                Msisdn::Dropped => "dropped",
                Msisdn::Hashed { .. } => "hmac-sha256",
                Msisdn::Clear => "clear",
            },
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let location = Location::open(output, &self.job.storage)?;
        location.put_bytes(&output.store_path(), bytes).await?;
        let sidecar = sidecar_url(output)?;
        let json = serde_json::to_vec_pretty(&report).expect("the report serialises");
        Location::open(&sidecar, &self.job.storage)?.put_bytes(&sidecar.store_path(), json.into()).await?;
        Ok(report)
    }
}

/// The campaigns of a snapshot and their sizes, from `ctx` (the warehouse
/// registered) and the snapshot's campaign partitions: the job's in priority
/// order, then any others found.
pub async fn list_in(
    ctx: &SessionContext,
    job: &Job,
    as_of: NaiveDate,
    published: &[String],
) -> Result<Vec<ListedCampaign>, ExportError> {
    let counts = collect(ctx, "export_campaign_sizes", &engine::Params::new().date("as_of", as_of)).await?;
    let mut found: Vec<(String, String, u64, u64)> = Vec::new();
    for batch in &counts {
        let names = batch.column(0).as_string::<i32>();
        let channels = batch.column(1).as_string::<i32>();
        let n = batch.column(2).as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let control = batch.column(3).as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        for i in 0..batch.num_rows() {
            let (name, channel) = (names.value(i).to_string(), channels.value(i).to_string());
            found.push((name, channel, n.value(i) as u64, control.value(i) as u64));
        }
    }
    // a campaign with no rows has an empty file, so no row above: its size is 0
    let size = |name: &str| found.iter().find(|f| f.0 == name);
    let mut out = Vec::new();
    for c in job.campaigns.iter().filter(|c| published.contains(&c.name)) {
        let (rows, control) = size(&c.name).map_or((0, 0), |f| (f.2, f.3));
        out.push(ListedCampaign {
            campaign: c.name.clone(),
            channel: Some(c.channel.clone()),
            rows,
            control,
            in_job: true,
        });
    }
    for name in published.iter().filter(|name| !job.campaigns.iter().any(|c| &c.name == *name)) {
        out.push(ListedCampaign {
            campaign: name.clone(),
            channel: size(name).map(|f| f.1.clone()),
            rows: size(name).map_or(0, |f| f.2),
            control: size(name).map_or(0, |f| f.3),
            in_job: false,
        });
    }
    Ok(out)
}

/// The sidecar of an export file: `<file>.sidecar.json`.
pub fn sidecar_url(output: &StoreUrl) -> Result<StoreUrl, ExportError> {
    Ok(StoreUrl::parse(&format!("{}.sidecar.json", output.as_str()), std::path::Path::new("/"))?)
}

/// The batch with string views as plain strings: what every reader of an
/// export (and the code below) expects.
fn plain_strings(batch: &RecordBatch) -> Result<RecordBatch, DataFusionError> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.data_type() == &DataType::Utf8View {
            fields.push(field.as_ref().clone().with_data_type(DataType::Utf8));
            columns.push(datafusion::arrow::compute::cast(column, &DataType::Utf8)?);
        } else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

fn csv_bytes(batches: &[RecordBatch]) -> Result<bytes::Bytes, ExportError> {
    let mut buf = Vec::new();
    {
        let mut writer = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(&mut buf);
        for b in batches {
            writer.write(b).map_err(DataFusionError::from)?;
        }
    }
    Ok(buf.into())
}

/// Runs one of sql/exports, with string views as plain strings; an empty
/// result keeps its schema in one empty batch.
async fn collect(ctx: &SessionContext, name: &str, params: &engine::Params) -> Result<Vec<RecordBatch>, ExportError> {
    let file = crate::engine::sqlfiles::find(name).expect("every export query has a file in sql/exports");
    let df = engine::plan(ctx, file, params).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let mut batches = df.collect().await?;
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema));
    }
    Ok(batches.iter().map(plain_strings).collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {}
