//! The steps that write the snapshot's outputs and publish them:
//! customer_value and model_metrics, kpi, the campaigns, the rejects.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::Schema;
use datafusion::prelude::SessionContext;

use crate::engine::sqlfiles::{self, Layer};
use crate::engine::{self, Params};
use crate::job::MsisdnPolicy;
use crate::observe::fault;
use crate::run::{PUBLISHED_TABLES, RunError, lock::SnapshotLock, publish};
use crate::stages::campaigns::{self, CampaignSize, uplift::UpliftModels};
use crate::stages::ingest::{self, Ingested};
use crate::stages::models::{self, ModelStep};
use crate::stages::usage::{self, UsageBuilt};
use crate::storage::Location;
use crate::warehouse::commit::{Change, Commit};
use crate::warehouse::manifest::Manifest;
use crate::warehouse::staging::RunStaging;
use crate::warehouse::tables::{self, write_parquet};

use super::{Night, Step};

impl Night<'_> {
    /// Step 5: customer_value, tier_migration (customer_value against earlier
    /// published snapshots) and model_metrics; customer_value is read again by
    /// kpi and the campaigns. Between them, the campaigns' uplift models,
    /// fitted on earlier waves as customer_value described them and
    /// back-tested into model_metrics.
    pub(super) async fn marts(
        &self,
        manifest: &mut Manifest,
        models: &ModelStep,
        base: Option<&Commit>,
    ) -> Result<UpliftModels, RunError> {
        let warehouse = &self.staging.location().url;
        campaigns::register_history_before(&self.session, warehouse, self.as_of, base).await?;
        let customer_value = self.write_mart("customer_value", manifest, &models.params).await?;
        tables::register_parquet(self.session.ctx(), "customer_value", &customer_value.0, &customer_value.1, &[])
            .map_err(RunError::engine("customer_value"))?;
        crate::stages::tier_migration::register(&self.session, warehouse, self.as_of, base)
            .await
            .map_err(RunError::engine("tier_migration"))?;
        self.write_mart("tier_migration", manifest, &models.params).await?;
        let mut uplift = UpliftModels::new();
        if self.job.campaigns.iter().any(|c| c.ranking == crate::job::Ranking::Uplift) {
            let step = Step::start("uplift");
            let (fitted, rows) =
                campaigns::uplift::fit(self.session.ctx(), self.job, warehouse, self.as_of, base).await?;
            step.done(manifest, 0, rows.len() as u64);
            if !rows.is_empty() {
                let mut metrics = models.metrics.clone();
                metrics.extend(rows);
                models::register_metrics(&self.session, &metrics).await.map_err(RunError::engine("uplift"))?;
            }
            uplift = fitted;
        }
        self.write_mart("model_metrics", manifest, &models.params).await?;
        Ok(uplift)
    }

    /// Writes one mart of the snapshot; returns where, and its schema.
    pub(super) async fn write_mart(
        &self,
        table: &'static str,
        manifest: &mut Manifest,
        params: &Params,
    ) -> Result<(String, Schema), RunError> {
        let step = Step::start(table);
        let file = sqlfiles::find(table).expect("every mart has a SQL file");
        let df = engine::plan(self.session.ctx(), file, params).await?;
        let schema = df.schema().as_arrow().clone();
        let url = self.staging.partition_url(table, &self.snapshot);
        let rows = write_parquet(df, &url, &[]).await?;
        // an empty result may write no file; readers still find the table, and its schema
        if rows == 0 && !self.staging.has_files(table, &self.snapshot).await? {
            let empty = Arc::new(schema.clone());
            let bytes = tables::parquet_bytes(empty.clone(), &[RecordBatch::new_empty(empty)])
                .map_err(RunError::engine(table))?;
            self.staging.put(table, &self.snapshot, "part-0.parquet", bytes).await?;
        }
        step.wrote(manifest, rows);
        Ok((url, schema))
    }

    /// Step 6: kpi: the base, revenue and ARPU by month and group, the Pareto picture.
    /// Its parts (sql/kpi) are views over customer_value, registered first.
    pub(super) async fn kpi(&self, manifest: &mut Manifest, scoring_params: &Params) -> Result<(), RunError> {
        let params = scoring_params.clone().merged(&crate::stages::params::kpi(&self.job.kpi));
        engine::register_layer_views(self.session.ctx(), Layer::Kpi, &params).await?;
        self.write_mart("kpi", manifest, &params).await?;
        Ok(())
    }

    /// Step 7: the campaigns, in the job's priority order, then the effect of
    /// earlier waves.
    pub(super) async fn campaigns(
        &self,
        manifest: &mut Manifest,
        scoring_params: &Params,
        uplift: &UpliftModels,
    ) -> Result<Vec<CampaignSize>, RunError> {
        let step = Step::start("campaigns");
        let campaigns =
            campaigns::build(&self.session, self.job, scoring_params, self.staging, self.as_of, uplift).await?;
        step.wrote(manifest, campaigns.iter().map(|c| c.rows + c.control).sum());
        let step = Step::start("campaign_effect");
        let rows = campaigns::measure(&self.session, self.staging, self.as_of).await?;
        step.wrote(manifest, rows);
        Ok(campaigns)
    }

    /// Step 8: the rejects. On a cluster the rejected rows stay there; a night
    /// without any still gets its (empty) file, written here.
    pub(super) async fn rejects(
        &self,
        manifest: &mut Manifest,
        staged: &Location,
        ingested: &Ingested,
    ) -> Result<(), RunError> {
        let step = Step::start("rejects");
        let rejected_on_cluster = self.session.on_cluster() && manifest.sources.values().any(|s| s.rows_rejected > 0);
        let rows = if rejected_on_cluster {
            let url = self.staging.partition_url("rejects", &self.snapshot);
            ingest::write_rejects_on_cluster(self.session.ctx(), &staged.url, &url)
                .await
                .map_err(RunError::engine("rejects"))?
        } else {
            write_rejects(self.session.ctx(), &ingested.reject_files, self.staging, &self.snapshot).await?
        };
        manifest.output("rejects", rows);
        step.done(manifest, rows, rows);
        Ok(())
    }

    /// Step 9: publish: every table's files moved beside the published ones, then
    /// one commit makes them visible together, replacing the snapshot's
    /// partitions.
    pub(super) async fn publish(
        &self,
        manifest: &mut Manifest,
        usage: &UsageBuilt,
        read_versions: BTreeMap<String, Option<u64>>,
        lock: &SnapshotLock,
    ) -> Result<(), RunError> {
        let step = Step::start("publish");
        let (job, as_of) = (self.job, self.as_of);
        if job.exports.msisdn != MsisdnPolicy::Drop {
            crate::run::write_contacts(self.session.ctx(), job, as_of, &manifest.run_id).await?;
        }
        let mut change = Change {
            job: job.name.clone(),
            snapshot_date: as_of,
            run_id: manifest.run_id.clone(),
            replaced: Default::default(),
            added: Vec::new(),
            folded: usage.folded.clone(),
            read_versions,
        };
        for table in PUBLISHED_TABLES {
            let expected =
                if usage::TABLES.contains(&table) { usage.partitions() } else { vec![self.snapshot.clone()] };
            let partitions = self.staging.move_into_place(table, &expected, &mut change).await?;
            manifest.set_partitions(table, partitions);
        }
        fault::pause_point("publish");
        manifest.engine_memory = engine::memory_report(self.session.ctx());
        // a run whose lock was taken over (it could not renew it for a whole TTL) publishes nothing
        lock.check_held().await?;
        let commit = publish::publish(self.staging.location(), &change, job.publish.retention).await?;
        tracing::info!(seq = commit.seq, files = change.added.len(), "committed");
        if job.exports.msisdn != MsisdnPolicy::Drop
            && let Err(e) = crate::run::remove_older_contacts(job, as_of, &manifest.run_id).await
        {
            tracing::warn!("could not remove the snapshot's older contacts files (the next run will): {e}");
        }
        step.done(manifest, 0, 0);
        Ok(())
    }
}

/// Writes the rejects ingest wrote to its staged folder (one file per
/// source), sorted by source, file and row; an empty file when there are
/// none, so every snapshot has its partition. The sort is the engine's, so
/// a night of many rejects spills under the run's memory limit.
async fn write_rejects(
    ctx: &SessionContext,
    files: &[String],
    staging: &RunStaging,
    partition: &str,
) -> Result<u64, RunError> {
    let err = RunError::engine("rejects");
    let schema = ingest::rejects_schema();
    if files.is_empty() {
        let buf = tables::parquet_bytes(schema.clone(), &[RecordBatch::new_empty(schema)]).map_err(&err)?;
        staging.put("rejects", partition, "part-0.parquet", buf).await?;
        return Ok(0);
    }
    let options = datafusion::prelude::ParquetReadOptions::default().schema(&schema);
    let sorted = ctx
        .read_parquet(files.to_vec(), options)
        .await
        .map_err(&err)?
        .sort(vec![
            datafusion::prelude::col("source").sort(true, false),
            datafusion::prelude::col("file").sort(true, false),
            datafusion::prelude::col("row_number").sort(true, false),
        ])
        .map_err(&err)?;
    Ok(write_parquet(sorted, &staging.partition_url("rejects", partition), &[]).await?)
}
