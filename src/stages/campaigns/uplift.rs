//! The uplift step: for every campaign the job ranks by uplift
//! (`ranking = "uplift"`), an uplift model ([`crate::maths::uplift`]: the
//! line's churn risk times the share of it a contact avoids, by segment and
//! plan type) fitted on the campaign's earlier waves, the
//! lines it listed (contacted and held out) as customer_value described them
//! on the wave's night and whether they churned within the campaign's
//! `uplift_horizon_days` (sql/models/uplift_observations.sql). It is
//! back-tested before the final fit, its figures going to model_metrics, and
//! then ranks tonight's selection (sql/models/uplift_candidates.sql) by the
//! churn a contact is expected to avoid. Both read the features from
//! sql/models/uplift_features.sql, over the waves' nights or over tonight
//! ([`register_features`]).
//!
//! Until a campaign has a wave whose horizon has ended, with enough lines and
//! churners in both groups, there is no model and the list keeps the
//! selection's own score (the run says so in its log).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, Float64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type};
use datafusion::error::DataFusionError;
use datafusion::prelude::{DataFrame, SessionContext, cast, col, lit};

use super::CampaignError;
use crate::engine::{self, Params, SqlError};
use crate::job::{Campaign, Job, Ranking};
use crate::maths::uplift::{self, PersuasionModel};
use crate::stages::models::MetricRow;
use crate::stages::session::RunSession;
use crate::storage::StoreUrl;
use crate::warehouse::commit::Commit;

/// The churn model's log-odds, the risk the uplift model starts from.
const LOG_ODDS: &str = "churn_log_odds";
/// The group features the share a contact avoids depends on, one-hot
/// encoded by the levels seen in training.
const CATEGORICAL: [&str; 2] = ["segment", "plan_type"];
/// The L2 penalty on the share's coefficients (on standardised features).
const L2: f64 = 1.0;
/// With a single wave, the share of its lines the back-test holds out (by a stable hash of the line).
const HOLDOUT_SHARE: f64 = 0.3;
/// The top share of a ranking `uplift_at` reports.
const TOP_SHARE: f64 = 0.3;
/// The model_metrics rows' model name; the scope is the campaign.
pub const MODEL: &str = "uplift";

/// A campaign's fitted uplift model with the categorical levels it was fitted on.
#[derive(Debug, Clone)]
pub struct CampaignUplift {
    pub model: PersuasionModel,
    levels: Vec<Vec<String>>,
    /// Lines and waves it was fitted on.
    pub lines: usize,
    pub waves: usize,
}

/// The fitted models by campaign name.
pub type UpliftModels = HashMap<String, CampaignUplift>;

/// Features of rows of either SQL file, before encoding.
struct Rows {
    log_odds: Vec<f64>,
    categorical: Vec<Vec<String>>,
}

impl Rows {
    fn read(batches: &[RecordBatch]) -> Result<Rows, DataFusionError> {
        let mut rows = Rows { log_odds: Vec::new(), categorical: Vec::new() };
        for batch in batches {
            let column = |name: &str| {
                batch.column_by_name(name).ok_or_else(|| DataFusionError::Internal(format!("uplift: no column {name}")))
            };
            rows.log_odds.extend(column(LOG_ODDS)?.as_primitive::<Float64Type>().values().iter().copied());
            let categorical: Vec<_> =
                CATEGORICAL.iter().map(|n| column(n).map(|c| c.as_string::<i32>())).collect::<Result<_, _>>()?;
            for i in 0..batch.num_rows() {
                rows.categorical.push(categorical.iter().map(|c| c.value(i).to_string()).collect());
            }
        }
        Ok(rows)
    }

    fn len(&self) -> usize {
        self.log_odds.len()
    }

    /// Each categorical feature's levels, sorted.
    fn levels(&self) -> Vec<Vec<String>> {
        (0..CATEGORICAL.len())
            .map(|j| {
                let mut levels: Vec<String> = self.categorical.iter().map(|r| r[j].clone()).collect();
                levels.sort();
                levels.dedup();
                levels
            })
            .collect()
    }

    /// Row i's group features as the model reads them: one 0/1 per level.
    fn encoded(&self, i: usize, levels: &[Vec<String>]) -> Vec<f64> {
        levels
            .iter()
            .enumerate()
            .flat_map(|(j, level)| level.iter().map(move |l| f64::from(u8::from(*l == self.categorical[i][j]))))
            .collect()
    }

    /// The uplift `model`, fitted on `levels`, predicts for row i.
    fn uplift(&self, i: usize, model: &PersuasionModel, levels: &[Vec<String>]) -> f64 {
        model.uplift(self.log_odds[i], &self.encoded(i, levels))
    }
}

/// One campaign's training rows.
struct Observations {
    rows: Rows,
    waves: Vec<i32>,
    subscribers: Vec<String>,
    contacted: Vec<bool>,
    churned: Vec<bool>,
}

impl Observations {
    fn read(batches: &[RecordBatch]) -> Result<Observations, DataFusionError> {
        let (mut waves, mut subscribers, mut contacted, mut churned) = (vec![], vec![], vec![], vec![]);
        for b in batches {
            waves.extend(b.column(0).as_primitive::<Date32Type>().values().iter().copied());
            subscribers.extend(b.column(1).as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_string()));
            contacted.extend(b.column(2).as_boolean().iter().map(|v| v.unwrap_or(false)));
            churned.extend(b.column(3).as_boolean().iter().map(|v| v.unwrap_or(false)));
        }
        Ok(Observations { rows: Rows::read(batches)?, waves, subscribers, contacted, churned })
    }

    /// The back-test's held-out rows: the latest wave when there are several,
    /// else a stable HOLDOUT_SHARE of the lines.
    fn held_out(&self) -> Vec<bool> {
        let latest = self.waves.iter().copied().max();
        if self.waves.iter().any(|w| Some(*w) != latest) {
            self.waves.iter().map(|w| Some(*w) == latest).collect()
        } else {
            self.subscribers
                .iter()
                .map(|s| crate::engine::udf::hash_unit(s, "uplift-backtest") < HOLDOUT_SHARE)
                .collect()
        }
    }

    fn fit(&self, keep: &[bool], levels: &[Vec<String>]) -> Result<PersuasionModel, uplift::UpliftError> {
        let idx: Vec<usize> = (0..self.rows.len()).filter(|&i| keep[i]).collect();
        let log_odds: Vec<f64> = idx.iter().map(|&i| self.rows.log_odds[i]).collect();
        let z: Vec<Vec<f64>> = idx.iter().map(|&i| self.rows.encoded(i, levels)).collect();
        let c: Vec<bool> = idx.iter().map(|&i| self.contacted[i]).collect();
        let y: Vec<bool> = idx.iter().map(|&i| self.churned[i]).collect();
        PersuasionModel::fit(&log_odds, &z, &c, &y, L2)
    }
}

/// Registers `uplift_features` (sql/models/uplift_features.sql) over
/// `source`: customer_value rows with a `snapshot_date`.
pub async fn register_features(ctx: &SessionContext, source: DataFrame) -> Result<(), SqlError> {
    let file = crate::engine::sqlfiles::find("uplift_features").expect("uplift_features.sql exists");
    let error = |source| SqlError { file: file.path(), source };
    let _ = ctx.deregister_table("uplift_feature_source");
    ctx.register_table("uplift_feature_source", source.into_view()).map_err(error)?;
    let features = engine::plan(ctx, file, &Params::new()).await?;
    let _ = ctx.deregister_table("uplift_features");
    ctx.register_table("uplift_features", features.into_view()).map_err(error)?;
    Ok(())
}

/// Tonight's customer_value, dated `as_of`: the rows a list is scored on.
pub async fn tonight(ctx: &SessionContext, as_of: NaiveDate) -> Result<DataFrame, DataFusionError> {
    ctx.table("customer_value").await?.with_column("snapshot_date", lit(engine::date_scalar(as_of)))
}

/// Registers `uplift_features` over the published customer_value of the
/// nights in the 180 days before `as_of`. False when nothing is published.
async fn register_waves(
    ctx: &SessionContext,
    warehouse: &StoreUrl,
    as_of: NaiveDate,
    published: Option<&Commit>,
) -> Result<bool, CampaignError> {
    let Some(commit) = published.filter(|c| c.files.iter().any(|f| f.table == "customer_value")) else {
        return Ok(false);
    };
    crate::warehouse::published_table::register(
        ctx,
        warehouse,
        commit,
        "customer_value",
        "customer_value_published",
        None,
    )
    .await?;
    let table = ctx.table("customer_value_published").await?;
    let snapshot = cast(col("snapshot_date"), DataType::Date32);
    let waves = table
        .filter(
            snapshot
                .clone()
                .lt(lit(engine::date_scalar(as_of)))
                .and(snapshot.gt_eq(lit(engine::date_scalar(as_of - chrono::Duration::days(180))))),
        )?
        .with_column("snapshot_date", cast(col("snapshot_date"), DataType::Date32))?;
    register_features(ctx, waves).await?;
    Ok(true)
}

/// Fits the uplift model of every campaign ranked by uplift that has a
/// measured wave; `contacts_history_before` must be registered. Returns the
/// models and their model_metrics rows.
pub async fn fit(
    ctx: &SessionContext,
    job: &Job,
    warehouse: &StoreUrl,
    as_of: NaiveDate,
    published: Option<&Commit>,
) -> Result<(UpliftModels, Vec<MetricRow>), CampaignError> {
    let mut models = UpliftModels::new();
    let mut metrics = Vec::new();
    let ranked: Vec<&Campaign> = job.campaigns.iter().filter(|c| c.ranking == Ranking::Uplift).collect();
    if ranked.is_empty() || !register_waves(ctx, warehouse, as_of, published).await? {
        return Ok((models, metrics));
    }
    let file = crate::engine::sqlfiles::find("uplift_observations").expect("uplift_observations.sql exists");
    for campaign in ranked {
        let params = Params::for_snapshot(as_of)
            .text("campaign", &campaign.name)
            .int("horizon_days", i64::from(campaign.uplift_horizon_days));
        let batches = engine::plan(ctx, file, &params).await?.collect().await?;
        let seen = Observations::read(&batches)?;
        if seen.rows.len() == 0 {
            tracing::info!(campaign = campaign.name, "no wave measured yet: the list keeps the selection's score");
            continue;
        }
        let levels = seen.rows.levels();
        let mut waves = seen.waves.clone();
        waves.sort_unstable();
        waves.dedup();
        let metric =
            |name: &str, value: f64, rows: usize| MetricRow::new(MODEL, &campaign.name, name, None, value, rows as i64);

        // the back-test: fitted without the held-out rows, judged on them against ranking by risk
        let test = seen.held_out();
        let train: Vec<bool> = test.iter().map(|t| !t).collect();
        match seen.fit(&train, &levels) {
            Ok(model) => {
                let idx: Vec<usize> = (0..seen.rows.len()).filter(|&i| test[i]).collect();
                let by_uplift: Vec<f64> = idx.iter().map(|&i| seen.rows.uplift(i, &model, &levels)).collect();
                let by_risk: Vec<f64> = idx.iter().map(|&i| seen.rows.log_odds[i]).collect();
                let c: Vec<bool> = idx.iter().map(|&i| seen.contacted[i]).collect();
                let y: Vec<bool> = idx.iter().map(|&i| seen.churned[i]).collect();
                for (suffix, scores) in [("", &by_uplift), ("_risk_ranking", &by_risk)] {
                    if let Some(q) = uplift::qini(scores, &c, &y) {
                        metrics.push(metric(&format!("backtest_qini{suffix}"), q.coefficient, idx.len()));
                    }
                    if let Some(u) = uplift::uplift_at(scores, &c, &y, TOP_SHARE) {
                        metrics.push(metric(&format!("backtest_uplift_at_30pct{suffix}"), u, idx.len()));
                    }
                }
            }
            Err(why) => tracing::info!(campaign = campaign.name, "uplift back-test not fitted: {why}"),
        }

        // the final model, on every measured line
        match seen.fit(&vec![true; seen.rows.len()], &levels) {
            Ok(model) => {
                let lines = seen.rows.len();
                metrics.push(metric("training_lines", lines as f64, lines));
                metrics.push(metric("training_waves", waves.len() as f64, lines));
                tracing::info!(campaign = campaign.name, lines, waves = waves.len(), "uplift model fitted");
                models.insert(campaign.name.clone(), CampaignUplift { model, levels, lines, waves: waves.len() });
            }
            Err(why) => {
                tracing::info!(campaign = campaign.name, "no uplift model, the list keeps the selection's score: {why}")
            }
        }
    }
    Ok((models, metrics))
}

/// Replaces the registered `campaign_selection` of `campaign` by the same
/// rows scored by `model`: the churn a contact is expected to avoid.
pub async fn rank(session: &RunSession<'_>, model: &CampaignUplift, as_of: NaiveDate) -> Result<(), CampaignError> {
    let ctx = session.ctx();
    register_features(ctx, tonight(ctx, as_of).await?).await?;
    let file = crate::engine::sqlfiles::find("uplift_candidates").expect("uplift_candidates.sql exists");
    let df = engine::plan(ctx, file, &Params::new()).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    let batch = datafusion::arrow::compute::concat_batches(&schema, &batches).map_err(DataFusionError::from)?;
    let rows = Rows::read(std::slice::from_ref(&batch))?;
    let scores: Float64Array = (0..rows.len()).map(|i| Some(rows.uplift(i, &model.model, &model.levels))).collect();
    let selection = RecordBatch::try_from_iter([
        ("subscriber_id", batch.column(0).clone()),
        ("score", Arc::new(scores) as Arc<dyn Array>),
        ("value_at_stake", batch.column(2).clone()),
        ("reason", batch.column(3).clone()),
    ])
    .map_err(DataFusionError::from)?;
    session.register_small("campaign_selection", selection).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The training and scoring files give the features the model reads, in
    /// its order (both take them from uplift_features.sql).
    #[test]
    fn training_and_scoring_rows_carry_the_same_features() {
        let features: Vec<String> = [LOG_ODDS].iter().chain(&CATEGORICAL).map(|f| f.to_string()).collect();
        for (name, first) in [("uplift_features", 2), ("uplift_observations", 4), ("uplift_candidates", 4)] {
            let file = crate::engine::sqlfiles::find(name).unwrap();
            let columns: Vec<String> = file.columns().into_iter().map(|c| c.name).collect();
            assert_eq!(columns[first..], features[..], "{name}");
        }
    }
}
