//! Campaign lists. Each campaign of the job selects and scores subscribers
//! over customer_value (a file in sql/campaigns/ or the job's rule);
//! sql/marts/campaigns.sql then drops opted-out subscribers (per channel)
//! and those already taken, ranks and caps. Campaigns are taken in the job's
//! priority order, so a subscriber is in at most one campaign per run, and
//! one not reached by a capped campaign is still free for the next.
//!
//! Each list holds out a control group (`[control]`), is kept in
//! contacts_history for the nights after (a campaign's cool-down leaves out
//! whom it listed within `cooldown_days`), and [`measure`] compares, for the
//! earlier nights' lists, the churn of the contacts with the control
//! group's (sql/marts/campaign_effect.sql). A campaign with `ranking =
//! "uplift"` is ranked by the churn a contact avoids, learned from its
//! earlier waves ([`uplift`]).

pub mod export;
pub mod uplift;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{AsArray, Int32Array, StringArray};
use datafusion::prelude::{cast, col, lit};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, visit_expressions_mut};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;
use serde::Serialize;

use crate::engine::{self, Params, SqlError};
use crate::job::{Campaign, Job, Selection};
use crate::stages::session::RunSession;
use crate::storage::{StorageError, StoreUrl};
use crate::warehouse::commit::Commit;
use crate::warehouse::staging::RunStaging;

/// Why the campaign lists could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("campaign {campaign} ({origin}): {message}")]
    Selection { campaign: String, origin: String, message: String },
    #[error(
        "campaign {campaign} ({origin}) reads {table}: a campaign's selection may read customer_value only \
         (opt-outs and lists already taken are applied by cvm)"
    )]
    ReadsBeyondCustomerValue { campaign: String, origin: String, table: String },
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error("campaigns: {0}")]
    Engine(#[from] DataFusionError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One campaign's list as built.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignSize {
    pub campaign: String,
    pub channel: String,
    /// Subscribers to contact.
    pub rows: u64,
    /// Subscribers held out as the control group.
    pub control: u64,
    pub cap: Option<u64>,
}

/// The only table a selection may read. The run's session holds every
/// staged and intermediate table, stg_subscribers and its msisdn included; a
/// rule that could read them could copy msisdn into the campaigns table.
const SELECTABLE: &str = "customer_value";

/// The columns every selection returns, in order.
const SELECTION_COLUMNS: &[(&str, &str)] =
    &[("subscriber_id", "Utf8"), ("score", "Float64"), ("value_at_stake", "Decimal128(18,4)"), ("reason", "Utf8")];

/// The table later nights read back: every night's lists.
pub const HISTORY: &str = "contacts_history";

/// The table of what each campaign changed.
pub const EFFECT: &str = "campaign_effect";

/// Builds every campaign's list into the run's staging area, partition
/// `<snapshot>/campaign=<name>`, in campaigns and in contacts_history;
/// `customer_value` and `contacts_history_before` ([`register_history_before`],
/// whose lists give the cool-downs) must be registered on `ctx`. A campaign
/// ranked by uplift with a model in `uplift` is ranked by it.
pub async fn build(
    session: &RunSession<'_>,
    job: &Job,
    params: &Params,
    staging: &RunStaging,
    as_of: NaiveDate,
    uplift: &uplift::UpliftModels,
) -> Result<Vec<CampaignSize>, CampaignError> {
    let mart = crate::engine::sqlfiles::find("campaigns").expect("campaigns.sql exists");
    let history = crate::engine::sqlfiles::find(HISTORY).expect("contacts_history.sql exists");
    let snapshot = format!("snapshot_date={as_of}");
    let assigned_schema = assigned_schema();
    let ctx = session.ctx();
    let mut cooling = cooling_down(ctx, as_of).await?;
    let mut assigned: Vec<RecordBatch> = Vec::new();
    let mut sizes = Vec::new();
    for campaign in &job.campaigns {
        crate::observe::progress::step(&format!("campaign {}", campaign.name));
        register_selection(ctx, campaign, params).await?;
        // a campaign ranked by uplift, once its model is fitted: scored by it
        if let Some(model) = uplift.get(&campaign.name) {
            uplift::rank(session, model, as_of).await?;
        }
        let taken =
            datafusion::arrow::compute::concat_batches(&assigned_schema, &assigned).map_err(DataFusionError::from)?;
        session.register_small("campaign_assigned", taken).await?;
        let ids = cooling.remove(&campaign.name).unwrap_or_default();
        session.register_small("campaign_cooling", ids_batch(ids)?).await?;
        let cap = campaign.cap.map(|c| c.min(i64::MAX as u64) as i64).unwrap_or(i64::MAX);
        let df = engine::plan(ctx, mart, &list_params(params, job, campaign, cap)).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let control = held_out(&batches)?;
        let partition = format!("{snapshot}/campaign={}", campaign.name);
        let bytes = crate::warehouse::tables::parquet_bytes(schema.clone(), &batches)?;
        staging.put("campaigns", &partition, "part-0.parquet", bytes).await?;

        // the same list into the history, with the night it may be listed again
        let list = datafusion::arrow::compute::concat_batches(&schema, &batches).map_err(DataFusionError::from)?;
        session.register_small("campaign_list", list).await?;
        let until = as_of + chrono::Duration::days(i64::from(campaign.cooldown_days));
        let df = engine::plan(ctx, history, &Params::new().date("cooldown_until", until)).await?;
        let history_schema = Arc::new(df.schema().as_arrow().clone());
        let bytes = crate::warehouse::tables::parquet_bytes(history_schema, &df.collect().await?)?;
        staging.put(HISTORY, &partition, "part-0.parquet", bytes).await?;

        for batch in &batches {
            assigned.push(
                RecordBatch::try_new(assigned_schema.clone(), vec![batch.column(0).clone()])
                    .map_err(DataFusionError::from)?,
            );
        }
        sizes.push(CampaignSize {
            campaign: campaign.name.clone(),
            channel: campaign.channel.clone(),
            rows: rows as u64 - control,
            control,
            cap: campaign.cap,
        });
    }
    Ok(sizes)
}

/// Registers `contacts_history_before`: the published contacts_history's
/// rows of the nights before `as_of` (none on a first night). Only nights
/// before T count, so a re-run of a night gives its lists again.
/// `published` is the warehouse's last commit.
pub async fn register_history_before(
    session: &RunSession<'_>,
    warehouse: &StoreUrl,
    as_of: NaiveDate,
    published: Option<&Commit>,
) -> Result<(), CampaignError> {
    let ctx = session.ctx();
    let schema = history_schema();
    let Some(commit) = published.filter(|c| c.files.iter().any(|f| f.table == HISTORY)) else {
        let empty = RecordBatch::new_empty(schema);
        return Ok(session.register_small("contacts_history_before", empty).await?);
    };
    crate::warehouse::published_table::register(ctx, warehouse, commit, HISTORY, "contacts_history_published", None)
        .await?;
    // partition columns typed as the schema says, whatever the files' partition values read as
    let columns: Vec<_> =
        schema.fields().iter().map(|f| cast(col(f.name()), f.data_type().clone()).alias(f.name())).collect();
    let before = ctx
        .table("contacts_history_published")
        .await?
        .filter(col("snapshot_date").lt(lit(engine::date_scalar(as_of))))?
        .select(columns)?;
    let _ = ctx.deregister_table("contacts_history_before");
    ctx.register_table("contacts_history_before", before.into_view())?;
    Ok(())
}

/// The columns of `contacts_history_before`: the published table's, its partitions first.
pub fn history_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("snapshot_date", DataType::Date32, true),
        Field::new("campaign", DataType::Utf8, true),
        Field::new("subscriber_id", DataType::Utf8, true),
        Field::new("group", DataType::Utf8, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("rank", DataType::Int64, true),
        Field::new("score", DataType::Float64, true),
        Field::new("value_at_stake", DataType::Decimal128(18, 4), true),
        Field::new("cooldown_until", DataType::Date32, true),
    ]))
}

/// Per campaign, the subscribers it listed on a night before `as_of` whose
/// cool-down has not ended by then (`contacts_history_before`).
async fn cooling_down(ctx: &SessionContext, as_of: NaiveDate) -> Result<HashMap<String, Vec<String>>, CampaignError> {
    let batches = ctx
        .table("contacts_history_before")
        .await?
        .filter(col("cooldown_until").gt(lit(engine::date_scalar(as_of))))?
        .select_columns(&["campaign", "subscriber_id"])?
        .collect()
        .await?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for batch in &batches {
        let (campaigns, ids) = (batch.column(0).as_string::<i32>(), batch.column(1).as_string::<i32>());
        for (campaign, id) in campaigns.iter().zip(ids.iter()) {
            if let (Some(campaign), Some(id)) = (campaign, id) {
                out.entry(campaign.to_string()).or_default().push(id.to_string());
            }
        }
    }
    Ok(out)
}

/// The windows after a wave that campaign_effect measures, in days.
const EFFECT_HORIZONS: [i32; 3] = [30, 60, 90];

/// The table `effect_horizons`: one row per horizon.
pub fn effect_horizons() -> Result<RecordBatch, DataFusionError> {
    let schema = Arc::new(Schema::new(vec![Field::new("horizon_days", DataType::Int32, false)]));
    Ok(RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(EFFECT_HORIZONS.to_vec()))])?)
}

/// Writes campaign_effect for snapshot `as_of` into the run's staging: per
/// campaign, wave and horizon, churn of the contacts against the control
/// group (sql/marts/campaign_effect.sql). [`build`] must have run. Returns its rows.
pub async fn measure(session: &RunSession<'_>, staging: &RunStaging, as_of: NaiveDate) -> Result<u64, CampaignError> {
    let ctx = session.ctx();
    session.register_small("effect_horizons", effect_horizons()?).await?;
    let file = crate::engine::sqlfiles::find(EFFECT).expect("campaign_effect.sql exists");
    let df = engine::plan(ctx, file, &Params::for_snapshot(as_of)).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let bytes = crate::warehouse::tables::parquet_bytes(schema, &batches)?;
    staging.put(EFFECT, &format!("snapshot_date={as_of}"), "part-0.parquet", bytes).await?;
    Ok(rows as u64)
}

/// Subscriber ids as a batch of [`assigned_schema`].
fn ids_batch(ids: Vec<String>) -> Result<RecordBatch, DataFusionError> {
    Ok(RecordBatch::try_new(assigned_schema(), vec![Arc::new(StringArray::from(ids))])?)
}

/// The rows of a list in the control group.
fn held_out(batches: &[RecordBatch]) -> Result<u64, DataFusionError> {
    let mut n = 0;
    for batch in batches {
        let group = batch
            .column_by_name("group")
            .ok_or_else(|| DataFusionError::Internal("sql/marts/campaigns.sql returns no group column".into()))?;
        let group = group.as_string::<i32>();
        n += group.iter().filter(|g| *g == Some("control")).count() as u64;
    }
    Ok(n)
}

/// The parameters of sql/marts/campaigns.sql for one campaign: `base` and the
/// campaign's channel, cap (contacts) and control draw.
pub fn list_params(base: &Params, job: &Job, campaign: &Campaign, cap: i64) -> Params {
    base.clone()
        .merged(&crate::stages::params::control(&job.control, campaign))
        .text("channel", &campaign.channel)
        .int("cap", cap)
}

/// The tables `plan` scans, subqueries included, in plan order.
fn tables_read(plan: &LogicalPlan) -> Vec<String> {
    let mut tables = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            tables.push(scan.table_name.table().to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    tables
}

/// The SELECT a campaign rule of the job file stands for. Each `cvm_part_*`
/// identifier is replaced by the rule's part of that name, parsed as one SQL
/// expression: the parts go into the syntax tree, never into the text, so a
/// part cannot close a parenthesis and go on as another query.
const RULE_QUERY: &str = "SELECT subscriber_id, CAST((cvm_part_rank_by) AS DOUBLE) AS score, \
    CAST((cvm_part_value_at_stake) AS DECIMAL(18, 4)) AS value_at_stake, \
    arrow_cast((cvm_part_reason), 'Utf8') AS reason FROM customer_value WHERE (cvm_part_rule)";

/// Plans a campaign rule: its parts (name, SQL expression) put in
/// [`RULE_QUERY`], then its parameters bound.
async fn plan_rule(
    ctx: &SessionContext,
    parts: &[(&str, &String)],
    params: &Params,
) -> Result<DataFrame, DataFusionError> {
    let dialect = GenericDialect {};
    let mut parsed = std::collections::BTreeMap::new();
    for (name, text) in parts {
        let mut parser = Parser::new(&dialect).try_with_sql(text).map_err(|e| rule_error(name, e))?;
        let expr = parser.parse_expr().map_err(|e| rule_error(name, e))?;
        if parser.peek_token().token != Token::EOF {
            return Err(DataFusionError::Plan(format!("{name}: not one SQL expression: {text}")));
        }
        parsed.insert(format!("cvm_part_{name}"), expr);
    }
    let mut statements = Parser::parse_sql(&dialect, RULE_QUERY).map_err(|e| rule_error("template", e))?;
    let mut query = statements.pop().expect("the rule template is one statement");
    let _ = visit_expressions_mut(&mut query, |expr| {
        if let SqlExpr::Identifier(ident) = expr
            && let Some(part) = parsed.get(&ident.value)
        {
            *expr = part.clone();
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    let plan = ctx.state().statement_to_plan(DfStatement::Statement(Box::new(query))).await?;
    engine::bind(ctx.execute_logical_plan(plan).await?, params)
}

fn rule_error(part: &str, error: ParserError) -> DataFusionError {
    DataFusionError::Plan(format!("{part}: {error}"))
}

/// The schema of `campaign_assigned`: the subscribers earlier campaigns took.
pub fn assigned_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("subscriber_id", DataType::Utf8, false)]))
}

/// Plans a campaign's selection, checks its columns and registers it as `campaign_selection`.
pub async fn register_selection(
    ctx: &SessionContext,
    campaign: &Campaign,
    params: &Params,
) -> Result<(), CampaignError> {
    let origin = campaign.selection.origin(&campaign.name);
    let problem =
        |message: String| CampaignError::Selection { campaign: campaign.name.clone(), origin: origin.clone(), message };
    let df = match &campaign.selection {
        Selection::File { text, .. } => {
            engine::plan_text(ctx, &origin, text, params).await.map_err(|e| problem(e.source.to_string()))?
        }
        Selection::Rule { rule, rank_by, value_at_stake, reason } => {
            let parts = [("rule", rule), ("rank_by", rank_by), ("value_at_stake", value_at_stake), ("reason", reason)];
            plan_rule(ctx, &parts, params).await.map_err(|e| problem(e.to_string()))?
        }
    };
    if let Some(table) = tables_read(df.logical_plan()).into_iter().find(|t| t != SELECTABLE) {
        return Err(CampaignError::ReadsBeyondCustomerValue { campaign: campaign.name.clone(), origin, table });
    }
    let actual: Vec<(String, String)> = df
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), crate::engine::sqlfiles::type_name(f.data_type())))
        .collect();
    let expected: Vec<(String, String)> =
        SELECTION_COLUMNS.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    if actual != expected {
        let show = |c: &[(String, String)]| c.iter().map(|(n, t)| format!("{n} {t}")).collect::<Vec<_>>().join(", ");
        return Err(problem(format!("a selection must return [{}] but returns [{}]", show(&expected), show(&actual))));
    }
    let _ = ctx.deregister_table("campaign_selection");
    ctx.register_table("campaign_selection", df.into_view())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use datafusion::datasource::MemTable;

    use super::*;

    #[tokio::test]
    async fn a_rule_part_is_one_expression_and_never_more_sql() {
        let ctx = SessionContext::new();
        let schema = Arc::new(Schema::new(vec![
            Field::new("subscriber_id", DataType::Utf8, false),
            Field::new("clv", DataType::Float64, true),
        ]));
        ctx.register_table("customer_value", Arc::new(MemTable::try_new(schema, vec![vec![]]).unwrap())).unwrap();
        let (rule, clv, reason) = ("clv > 0".to_string(), "clv".to_string(), "'high value'".to_string());
        let parts = [("rule", &rule), ("rank_by", &clv), ("value_at_stake", &clv), ("reason", &reason)];
        let df = plan_rule(&ctx, &parts, &Params::new()).await.unwrap();
        let columns: Vec<String> =
            df.schema().fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect();
        assert_eq!(columns, ["subscriber_id Utf8", "score Float64", "value_at_stake Decimal128(18, 4)", "reason Utf8"]);
        // a part that closes the template's parenthesis to go on as another query
        let sneaky = "true) UNION SELECT subscriber_id, 1.0, 1, 'x' FROM customer_value WHERE (true".to_string();
        let parts = [("rule", &sneaky), ("rank_by", &clv), ("value_at_stake", &clv), ("reason", &reason)];
        let err = plan_rule(&ctx, &parts, &Params::new()).await.unwrap_err().to_string();
        assert!(err.contains("rule: not one SQL expression"), "{err}");
    }
}
