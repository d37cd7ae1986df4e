//! The query engine: building the DataFusion session every command uses,
//! and running cvm's SQL files in it with bound parameters.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::catalog::MemoryCatalogProviderList;
use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, UnboundedMemoryPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};

use chrono::{Datelike, NaiveDate};

#[cfg(feature = "ballista")]
pub mod cluster;
mod explain;
pub mod settings;
pub mod sqlfiles;
pub mod udf;

use settings::cvm_settings;

use crate::observe::memory::{MeteredPool, PoolReport};
use crate::storage::registry::StoreRegistry;
use crate::storage::{StorageError, StorageSettings, StoreUrl};
use sqlfiles::{Layer, SqlFile};

/// A SQL file that failed to plan or run.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {source}")]
pub struct SqlError {
    pub file: String,
    #[source]
    pub source: DataFusionError,
}

/// A run step's failure in the engine: one of its SQL files, or a plan
/// it built (named by what the step was doing). The run reports it as its
/// own error.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error("{step}: {source}")]
    Engine { step: String, source: DataFusionError },
}

impl StepError {
    /// Wraps an engine error of `step`.
    pub fn engine(step: &str) -> impl Fn(DataFusionError) -> StepError + '_ {
        move |source| StepError::Engine { step: step.to_string(), source }
    }
}

/// Settings of the session (the job's `[engine]`).
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub target_partitions: Option<usize>,
    /// Bytes the engine's operators may hold (sorts, joins, aggregates);
    /// past it they spill to `spill_dir`. None: no limit.
    pub memory_limit: Option<u64>,
    /// Where spill files go (default: the system's temporary folder).
    pub spill_dir: Option<std::path::PathBuf>,
    /// A Ballista scheduler (`df://HOST:PORT`) to run the queries on; None:
    /// in this process.
    pub cluster: Option<String>,
}

/// A DataFusion session for cvm in this process: UTC session time zone,
/// cvm's functions and object stores, no cached file listings (cvm writes
/// and re-reads tables in one process). A run on a cluster opens its session
/// through `stages::session::RunSession::for_run`, which knows the plans it
/// ships.
pub fn session(options: &EngineOptions, storage: &StorageSettings) -> Result<SessionContext, DataFusionError> {
    if let Some(url) = &options.cluster {
        return Err(DataFusionError::Internal(format!(
            "engine {url}: a cluster session is opened with its plan codecs (RunSession::for_run)"
        )));
    }
    Ok(SessionContext::new_with_state(session_state(options, storage)?))
}

/// The state behind [`session`]: what a local session runs on, and what a
/// cluster client starts from (its settings, tables and stores).
pub fn session_state(options: &EngineOptions, storage: &StorageSettings) -> Result<SessionState, DataFusionError> {
    let mut config = cvm_settings(SessionConfig::new());
    if let Some(n) = options.target_partitions {
        config = config.with_target_partitions(n);
    }
    if let Some(limit) = options.memory_limit {
        // every sort sets this much aside for merging its spill files; the
        // default (10 MiB) alone would exceed a small cap shared by the
        // sorts of one plan
        let reserve = (limit / 32).clamp(64 << 10, 10 << 20);
        config.options_mut().execution.sort_spill_reservation_bytes = reserve as usize;
    }
    // fair: every spilling operator gets its share, so one big hash
    // aggregate cannot starve a sort that runs beside it
    let pool: Arc<dyn MemoryPool> = match options.memory_limit {
        Some(bytes) => Arc::new(FairSpillPool::new(bytes as usize)),
        None => Arc::new(UnboundedMemoryPool::default()),
    };
    let mut runtime = RuntimeEnvBuilder::new()
        .with_object_list_cache_limit(0)
        .with_object_store_registry(Arc::new(StoreRegistry::new(storage.clone())))
        .with_memory_pool(Arc::new(MeteredPool::new(pool)));
    if let Some(dir) = &options.spill_dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            DataFusionError::Configuration(format!("cannot create spill folder {}: {e}", dir.display()))
        })?;
        runtime = runtime.with_temp_file_path(dir);
    }
    let runtime = runtime.build_arc()?;
    let mut state =
        SessionStateBuilder::new().with_config(config).with_runtime_env(runtime).with_default_features().build();
    crate::engine::udf::register(&mut state)?;
    Ok(state)
}

/// What the session's memory pool saw so far (its limit, peak reservation
/// and refusals).
pub fn memory_report(ctx: &SessionContext) -> PoolReport {
    let pool = ctx.runtime_env().memory_pool.clone();
    pool.downcast_ref::<MeteredPool>().map(MeteredPool::report).unwrap_or_default()
}

/// Makes the store behind `url` reachable from SQL.
pub fn register_store(ctx: &SessionContext, url: &StoreUrl, storage: &StorageSettings) -> Result<(), StorageError> {
    let store = url.build_store(storage)?;
    ctx.register_object_store(&url.store_root(), store);
    Ok(())
}

/// Parameters bound to `$name` placeholders.
#[derive(Debug, Clone, Default)]
pub struct Params(BTreeMap<String, ScalarValue>);

/// A date as the engine's Date32 value (days since 1970-01-01).
pub fn date_scalar(date: chrono::NaiveDate) -> ScalarValue {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    ScalarValue::Date32(Some((date - epoch).num_days() as i32))
}

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, name: &str, value: ScalarValue) -> Self {
        self.0.insert(name.to_string(), value);
        self
    }

    pub fn date(self, name: &str, date: chrono::NaiveDate) -> Self {
        self.with(name, date_scalar(date))
    }

    pub fn text(self, name: &str, text: &str) -> Self {
        self.with(name, ScalarValue::Utf8(Some(text.to_string())))
    }

    pub fn float(self, name: &str, value: f64) -> Self {
        self.with(name, ScalarValue::Float64(Some(value)))
    }

    pub fn int(self, name: &str, value: i64) -> Self {
        self.with(name, ScalarValue::Int64(Some(value)))
    }

    pub fn flag(self, name: &str, value: bool) -> Self {
        self.with(name, ScalarValue::Boolean(Some(value)))
    }

    /// These parameters with `other`'s added (other's win on a name clash).
    pub fn merged(mut self, other: &Params) -> Self {
        self.0.extend(other.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        self
    }

    /// The parameters of the transforms for snapshot T: `$as_of` and
    /// `$window_end_month` (the first day of L).
    pub fn for_snapshot(as_of: NaiveDate) -> Self {
        Params::new().date("as_of", as_of).date("window_end_month", window_end_month(as_of))
    }
}

/// The month L: the calendar month before the month that contains T, as its first day.
pub fn window_end_month(as_of: NaiveDate) -> NaiveDate {
    let first = as_of.with_day(1).expect("day 1 exists");
    (first - chrono::Duration::days(1)).with_day(1).expect("day 1 exists")
}

/// Plans a SQL file with its parameters bound. DDL, DML and statements are
/// refused: a SQL file only reads.
pub async fn plan(ctx: &SessionContext, file: &SqlFile, params: &Params) -> Result<DataFrame, SqlError> {
    let df = plan_text(ctx, &file.path(), file.text, params).await?;
    // the header is the table's documentation: it must say what the query returns
    file.check_schema(df.schema().as_arrow())
        .map_err(|m| SqlError { file: file.path(), source: DataFusionError::Plan(m) })?;
    explain::if_asked(file.name, &df).await;
    Ok(df)
}

/// Plans one read-only SELECT from anywhere (`origin` names it in errors)
/// with the parameters it uses bound.
pub async fn plan_text(ctx: &SessionContext, origin: &str, text: &str, params: &Params) -> Result<DataFrame, SqlError> {
    let err = |source| SqlError { file: origin.to_string(), source };
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let df = ctx.sql_with_options(text, options).await.map_err(err)?;
    bind(df, params).map_err(err)
}

/// Binds the parameters a planned query uses (its placeholders are `$name`;
/// a `$` in a literal or a comment is none); a placeholder without a value
/// is an error.
pub fn bind(df: DataFrame, params: &Params) -> Result<DataFrame, DataFusionError> {
    let used: BTreeSet<String> =
        df.logical_plan().get_parameter_names()?.into_iter().map(|id| id.trim_start_matches('$').to_string()).collect();
    let values: Vec<(String, ScalarValue)> =
        params.0.iter().filter(|(k, _)| used.contains(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(missing) = used.iter().find(|name| !params.0.contains_key(*name)) {
        return Err(DataFusionError::Plan(format!("no value for parameter ${missing}")));
    }
    if values.is_empty() { Ok(df) } else { df.with_param_values(values) }
}

/// Registers a SQL file's result as a view named after the file.
pub async fn register_view(ctx: &SessionContext, file: &SqlFile, params: &Params) -> Result<(), SqlError> {
    let df = plan(ctx, file, params).await?;
    ctx.register_table(file.name, df.into_view()).map_err(|source| SqlError { file: file.path(), source })?;
    Ok(())
}

/// Registers every file of a layer (sql/intermediate, sql/scoring) as a
/// view, in the order their references impose.
pub async fn register_layer_views(ctx: &SessionContext, layer: Layer, params: &Params) -> Result<(), SqlError> {
    register_layer_views_except(ctx, layer, params, &[]).await
}

/// [`register_layer_views`] but for the files named in `kept`: tables of
/// those names are registered already (a run's [`RUN_WIDE_TABLES`]), and the
/// views after them read those tables.
pub async fn register_layer_views_except(
    ctx: &SessionContext,
    layer: Layer,
    params: &Params,
    kept: &[&str],
) -> Result<(), SqlError> {
    for file in layer_in_order(ctx, layer)?.into_iter().filter(|f| !kept.contains(&f.name)) {
        register_view(ctx, file, params).await?;
    }
    Ok(())
}

/// Intermediate tables that do not depend on the snapshot date: a run
/// materialises them once, and its sessions at other dates (the models'
/// training windows) read them instead of computing them again. The monthly
/// revenue deduplicates every billing line, the costliest part of the revenue
/// windows.
pub const RUN_WIDE_TABLES: &[&str] = &["int_billing_monthly"];

/// A layer's files, each after the files of the layer it reads.
pub fn layer_in_order(ctx: &SessionContext, layer: Layer) -> Result<Vec<&'static SqlFile>, SqlError> {
    let files: Vec<&SqlFile> = sqlfiles::layer(layer).collect();
    let references = table_references(ctx, &files)?;
    sqlfiles::dependency_order(&files, &references)
        .map_err(|m| SqlError { file: format!("sql/{}", layer.folder()), source: DataFusionError::Plan(m) })
}

/// A new session over the same stores, settings, functions and engine as
/// `ctx` (a cluster's client stays one), sharing only the named tables: the
/// models evaluate the intermediate views at other dates in one, without
/// touching the run's own views.
pub async fn sibling_session(ctx: &SessionContext, tables: &[String]) -> Result<SessionContext, DataFusionError> {
    let state = SessionStateBuilder::new_from_existing(ctx.state())
        .with_config(ctx.copied_config().with_create_default_catalog_and_schema(true))
        .with_catalog_list(Arc::new(MemoryCatalogProviderList::new()))
        .build();
    let sibling = SessionContext::new_with_state(state);
    for name in tables {
        if let Ok(table) = ctx.table_provider(name.as_str()).await {
            sibling.register_table(name.as_str(), table)?;
        }
    }
    Ok(sibling)
}

/// The table names each file references (CTE names excluded).
fn table_references(
    ctx: &SessionContext,
    files: &[&'static SqlFile],
) -> Result<BTreeMap<&'static str, std::collections::BTreeSet<String>>, SqlError> {
    let state = ctx.state();
    let mut out = BTreeMap::new();
    for file in files {
        let err = |source| SqlError { file: file.path(), source };
        let statement =
            state.sql_to_statement(file.text, &datafusion::common::config::Dialect::Generic).map_err(err)?;
        let refs = state.resolve_table_references(&statement).map_err(err)?;
        out.insert(file.name, refs.into_iter().map(|r| r.table().to_string()).collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_end_month_is_the_month_before_t() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(window_end_month(d("2026-11-22")), d("2026-10-01"));
        assert_eq!(window_end_month(d("2026-01-01")), d("2025-12-01"));
        assert_eq!(window_end_month(d("2026-03-31")), d("2026-02-01"));
    }

    #[tokio::test]
    async fn only_the_statements_placeholders_are_bound() {
        let ctx = session(&EngineOptions::default(), &StorageSettings::default()).unwrap();
        let params = Params::new().date("as_of", NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        // a `$` inside a literal or a comment is no parameter
        let sql = "SELECT 'in $usd -- or $eur' AS note, CAST($as_of AS DATE) AS d -- $not_bound";
        let batches = plan_text(&ctx, "test", sql, &params).await.unwrap().collect().await.unwrap();
        assert_eq!(batches[0].num_rows(), 1);
        let err = plan_text(&ctx, "test", "SELECT $missing AS m", &params).await.unwrap_err();
        assert!(err.to_string().contains("$missing") || err.source.to_string().contains("$missing"), "{err}");
    }
}
