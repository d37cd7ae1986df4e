//! The steps that compute the night's tables: ingest, usage_daily, the
//! intermediate features, the fraud screening, the models and their scores.

use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::Schema;

use crate::engine::sqlfiles::{self, Layer};
use crate::engine::{self, Params};
use crate::observe::fault;
use crate::run::{RunError, STAGED_TABLES};
use crate::stages::ingest::{self, Ingested};
use crate::stages::models::{self, MetricRow, ModelStep};
use crate::stages::quality;
use crate::stages::usage::{self, Folded, UsageBuilt};
use crate::storage::{Location, StoreUrl};
use crate::warehouse::commit::Commit;
use crate::warehouse::manifest::Manifest;
use crate::warehouse::tables;

use super::{Night, READ_AGAIN_AT_T, Step};

impl Night<'_> {
    /// Step 1: ingest; of the CDR, only the files not yet folded into usage_daily.
    /// The staged tables go where the engine reads them: the local scratch
    /// folder, or on a cluster (whose executors read the extracts and run
    /// the checks) the run's staging in the warehouse. A local run folds the
    /// CDR into usage_daily's parts as it reads it (the parts' schema comes
    /// back in the third value).
    pub(super) async fn ingest(
        &self,
        manifest: &mut Manifest,
        folded: &Folded,
    ) -> Result<(Location, Ingested, Arc<Mutex<Option<Schema>>>), RunError> {
        let step = Step::start("ingest");
        let staged_folder = Location::open(&self.staged_folder(&manifest.run_id)?, &self.job.storage)?;
        let parts_folded = Arc::new(Mutex::new(None));
        let fold_cdr = (!self.session.on_cluster())
            .then(|| usage::fold_while_ingesting(self.session.ctx(), self.staging, &self.params, parts_folded.clone()));
        let is_folded = |f: &_| folded.is_current(f);
        let ingested = ingest::ingest(
            &self.session,
            self.job,
            self.as_of,
            &staged_folder,
            &is_folded,
            &mut manifest.sources,
            fold_cdr,
        )
        .await?;
        let rows_in: u64 = manifest.sources.values().map(|s| s.rows_read).sum();
        let rows_out: u64 = manifest.sources.values().map(|s| s.rows_staged).sum();
        step.done(manifest, rows_in, rows_out);
        Ok((staged_folder, ingested, parts_folded))
    }

    /// Where ingest writes the staged tables.
    pub(super) fn staged_folder(&self, run_id: &str) -> Result<StoreUrl, RunError> {
        let folder = match (self.session.on_cluster(), crate::run::restricted_staging(self.job, run_id)) {
            (false, _) => format!("{}/", self.scratch.path().display()),
            // the staged subscribers hold msisdn: beside the contacts, not in the warehouse's staging
            (true, Some(restricted)) => {
                if restricted.store_root() != self.job.warehouse.store_root() {
                    engine::register_store(self.session.ctx(), &restricted, &self.job.storage)?;
                }
                restricted.to_string()
            }
            (true, None) => self.staging.table_url(STAGED_TABLES),
        };
        StoreUrl::parse(&folder, std::path::Path::new("/"))
            .map_err(|e| RunError::Scratch { path: folder.clone(), source: std::io::Error::other(e) })
    }

    /// Step 2: usage_daily: tonight's CDR folded in, the days it touches rebuilt.
    pub(super) async fn usage_daily(
        &self,
        manifest: &mut Manifest,
        base: Option<&Commit>,
        folded: &Folded,
        parts_folded: Arc<Mutex<Option<Schema>>>,
    ) -> Result<UsageBuilt, RunError> {
        let step = Step::start("usage_daily");
        let cdr = manifest.sources.get("cdr").cloned().unwrap_or_default();
        let parts_folded = parts_folded.lock().expect("not poisoned").take();
        let usage =
            usage::build(self.session.ctx(), self.staging, base, folded, &cdr.files, &self.params, parts_folded)
                .await?;
        manifest.output("usage_daily", usage.rows);
        step.done(manifest, cdr.rows_staged, usage.rows);
        Ok(usage)
    }

    /// Step 2b: each source against its recent history (`[quality]`), before
    /// anything is computed from it; a figure out of its band fails the run
    /// (exit 3), recorded in the manifest either way.
    pub(super) async fn quality(&self, manifest: &mut Manifest) -> Result<(), RunError> {
        let step = Step::start("quality");
        let settings = &self.job.quality;
        let earlier_runs = crate::warehouse::manifest::read_since(
            self.staging.location(),
            &self.job.name,
            self.as_of - chrono::Days::new(settings.history_days.into()),
        )
        .await?;
        let subscribers = manifest.sources.get("subscribers").map(|s| s.rows_read).unwrap_or(0);
        let report = quality::check(self.session.ctx(), settings, self.as_of, &self.params, subscribers, &earlier_runs)
            .await
            .map_err(RunError::engine("quality"))?;
        for check in &report.checks {
            tracing::info!(source = check.source, measure = check.measure, verdict = ?check.verdict, "{}", quality::describe(check));
        }
        let failed = report.failed();
        manifest.quality = report.checks;
        step.done(manifest, 0, 0);
        if failed.is_empty() {
            Ok(())
        } else if settings.check {
            Err(quality::QualityError { failed }.into())
        } else {
            tracing::warn!("data quality: {} (not failing: [quality] check = false)", quality::describe_all(&failed));
            Ok(())
        }
    }

    /// Step 3: the intermediate views, in the order they read each other; the
    /// monthly revenue (read at every date the models look at) and the views
    /// read more than once at T are materialised, so the views after them
    /// read the tables. Returns the lines of int_subscriber_features.
    pub(super) async fn features(&self, manifest: &mut Manifest) -> Result<u64, RunError> {
        let step = Step::start("features");
        let mut lines = 0;
        for file in engine::layer_in_order(self.session.ctx(), Layer::Intermediate)? {
            if file.name == "int_subscriber_features" {
                lines = self.materialise(file, &self.params).await?;
            } else if engine::RUN_WIDE_TABLES.contains(&file.name) || READ_AGAIN_AT_T.contains(&file.name) {
                self.materialise(file, &self.params).await?;
            } else {
                engine::register_view(self.session.ctx(), file, &self.params).await?;
            }
        }
        step.done(manifest, 0, lines);
        Ok(lines)
    }

    /// The fraud screening over the features' views: the model library (the
    /// usage profile's outliers, and the supervised model where confirmed
    /// cases exist), its rule families' lines (sql/screening) gathered into
    /// one small table, then the table, which is published and read again by
    /// scoring (a suspect's tier) and the campaigns (suspects held out).
    /// Returns the fraud model's rows of model_metrics.
    pub(super) async fn screening(&self, manifest: &mut Manifest) -> Result<Vec<MetricRow>, RunError> {
        use crate::stages::screening;
        // the model library and the rule families, timed apart from the table they make
        let step = Step::start("screening_rules");
        let settings = &self.job.screening;
        let params = self.params.clone().merged(&crate::stages::params::screening(settings, self.as_of));
        let fit = screening::profile_outliers(&self.session, &params, &settings.usage_profile)
            .await
            .map_err(RunError::engine("screening"))?;
        for (plan, (lines, core, outliers)) in &fit.groups {
            tracing::info!(plan, lines, core, outliers, "usage profile fitted");
        }
        let model = screening::fraud_model_lines(&self.session, &params, &settings.fraud_model, self.as_of)
            .await
            .map_err(RunError::engine("screening"))?;
        // without confirmed cases there is nothing to learn: only a model that could not be applied
        // to the cases the job has is worth a warning
        match (model.status.as_str(), model.cases) {
            ("fitted", _) => tracing::info!(flagged = model.flagged, cases = model.cases, "fraud model fitted"),
            (status, 0) => tracing::info!("fraud model {status}"),
            (status, cases) => tracing::warn!(cases, "fraud model {status}"),
        }
        let fired = screening::fired_lines(&self.session, &params).await.map_err(RunError::engine("screening"))?;
        step.done(manifest, 0, fired as u64);
        let (url, schema) = self.write_mart("screening", manifest, &params).await?;
        tables::register_parquet(self.session.ctx(), "screening", &url, &schema, &[])
            .map_err(RunError::engine("screening"))?;
        Ok(model.metrics)
    }

    /// Step 4: the models: fitted on small inputs pulled from the views, applied
    /// by sql/scoring with the parameters they return.
    /// `screening` holds the fraud model's metrics, published with the others.
    pub(super) async fn models(
        &self,
        manifest: &mut Manifest,
        lines: u64,
        screening: Vec<MetricRow>,
    ) -> Result<ModelStep, RunError> {
        let step = Step::start("models");
        fault::pause_point("models");
        let mut models = models::fit(self.session.ctx(), self.job, self.as_of).await?;
        models.metrics.extend(screening);
        models::register_model_tables(&self.session, &models).await.map_err(RunError::engine("models"))?;
        step.done(manifest, lines, models.metrics.len() as u64);
        Ok(models)
    }

    /// The scores, materialised: customer_value and score_value both read
    /// score_churn and score_lifetime, and a view would be computed twice.
    pub(super) async fn scores(
        &self,
        manifest: &mut Manifest,
        scoring_params: &Params,
        lines: u64,
    ) -> Result<(), RunError> {
        let step = Step::start("scoring");
        let mut scored = 0;
        for file in engine::layer_in_order(self.session.ctx(), Layer::Scoring)? {
            scored = scored.max(self.materialise(file, scoring_params).await?);
        }
        step.done(manifest, lines, scored);
        Ok(())
    }

    /// Writes a SQL file's result under the run's staging prefix and registers
    /// it as a table in place of its view: for results read more than once.
    pub(super) async fn materialise(&self, file: &sqlfiles::SqlFile, params: &Params) -> Result<u64, RunError> {
        let started = std::time::Instant::now();
        let df = engine::plan(self.session.ctx(), file, params).await?;
        let schema = df.schema().as_arrow().clone();
        let url = self.staging.table_url(file.name);
        let rows = tables::write_scratch_parquet(self.session.ctx(), df, &url).await?;
        // with its schema declared: an empty result writes no file to infer it from
        tables::register_parquet(self.session.ctx(), file.name, &url, &schema, &[])
            .map_err(RunError::engine(file.name))?;
        tracing::debug!(table = file.name, rows, seconds = started.elapsed().as_secs_f64(), "materialised");
        Ok(rows)
    }
}
