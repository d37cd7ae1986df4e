//! `cvm query`: the warehouse's tables, registered by name with typed hive
//! partition columns, queried with SQL and printed or exported.

use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SQLOptions, SessionContext};
use std::collections::BTreeSet;

use crate::commit::{self, CommitError};
use crate::engine::{self, EngineOptions};
use crate::published_table;
use crate::storage::{Location, StorageError, StoreUrl};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error("table {table}: {source}")]
    Register { table: String, source: DataFusionError },
    #[error("query: {0}")]
    Sql(DataFusionError),
    #[error("cannot write {path}: {source}")]
    Output { path: String, source: DataFusionError },
    #[error("--output: {0}")]
    OutsideRoot(String),
}

/// Output of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// An aligned text table on standard output.
    Table,
    Csv,
    Json,
    Parquet,
}

/// Registers every published table of the warehouse; returns their names.
/// Only the files of the warehouse's latest commit are read: never a
/// snapshot being published, never the files it replaces.
pub async fn register_warehouse(ctx: &SessionContext, warehouse: &StoreUrl) -> Result<Vec<String>, QueryError> {
    let location = Location::open(warehouse)?;
    let Some(commit) = commit::latest(&location).await? else {
        return Ok(Vec::new());
    };
    // `_` tables are cvm's internal state (the parts of usage_daily), not for analysts
    let tables: BTreeSet<&str> =
        commit.files.iter().map(|f| f.table.as_str()).filter(|t| !t.starts_with('_')).collect();
    let mut names = Vec::new();
    for table in tables {
        published_table::register(ctx, warehouse, &commit, table, table, None)
            .await
            .map_err(|source| QueryError::Register { table: table.to_string(), source })?;
        names.push(table.to_string());
    }
    Ok(names)
}

/// Where `cvm query --output` writes, below the warehouse.
const QUERY_OUTPUTS: &str = "_queries/";

/// Runs one read-only SQL statement over the warehouse.
pub async fn query(
    warehouse: &StoreUrl,
    sql: &str,
    format: OutputFormat,
    output: Option<&str>,
) -> Result<Option<String>, QueryError> {
    let ctx = engine::session(&EngineOptions::default()).map_err(QueryError::Sql)?;
    register_warehouse(&ctx, warehouse).await?;
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let df = ctx.sql_with_options(sql, options).await.map_err(QueryError::Sql)?;
    match (format, output) {
        (OutputFormat::Table, None) => {
            let batches = df.collect().await.map_err(QueryError::Sql)?;
            let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .map_err(|e| QueryError::Sql(e.into()))?;
            Ok(Some(text.to_string()))
        }
        (OutputFormat::Table, Some(path)) => Err(QueryError::Output {
            path: path.to_string(),
            source: DataFusionError::Plan("--output needs --format csv, json or parquet".into()),
        }),
        (format, output) => {
            let path = output.unwrap_or("-");
            let err = |source| QueryError::Output { path: path.to_string(), source };
            if path == "-" {
                let batches = df.collect().await.map_err(QueryError::Sql)?;
                return Ok(Some(to_text(&batches, format).map_err(err)?));
            }
            // outputs stay below <warehouse>/_queries/, in the store already
            // registered (as the published view: registering it again would
            // let the query see unpublished files); not below _exports/, where
            // an analyst's file could replace a campaign export and its sidecar
            let root = warehouse.join(QUERY_OUTPUTS).map_err(QueryError::OutsideRoot)?;
            let target = root.confine(path).map_err(QueryError::OutsideRoot)?;
            let single = DataFrameWriteOptions::new().with_single_file_output(true);
            match format {
                OutputFormat::Csv => df.write_csv(target.as_str(), single, None).await.map_err(err)?,
                OutputFormat::Json => df.write_json(target.as_str(), single, None).await.map_err(err)?,
                OutputFormat::Parquet => df.write_parquet(target.as_str(), single, None).await.map_err(err)?,
                OutputFormat::Table => unreachable!("handled above"),
            };
            Ok(Some(format!("wrote {target}")))
        }
    }
}

/// CSV (with header) or JSON lines of the batches, as text.
fn to_text(batches: &[datafusion::arrow::array::RecordBatch], format: OutputFormat) -> Result<String, DataFusionError> {
    let mut buf = Vec::new();
    match format {
        OutputFormat::Csv => {
            let mut writer = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(&mut buf);
            for b in batches {
                writer.write(b)?;
            }
        }
        OutputFormat::Json => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut buf);
            for b in batches {
                writer.write(b)?;
            }
            writer.finish()?;
        }
        _ => {
            return Err(DataFusionError::Plan("parquet output needs --output PATH".into()));
        }
    }
    String::from_utf8(buf).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// The run that published snapshot `as_of`, None if it is not published.
pub async fn published_run(warehouse: &StoreUrl, as_of: chrono::NaiveDate) -> Result<Option<String>, QueryError> {
    let location = Location::open(warehouse)?;
    Ok(commit::latest(&location).await?.and_then(|c| c.run_of_snapshot(as_of)))
}

/// The values of the partition key below `<table>/snapshot_date=T/` (e.g.
/// the campaigns of a snapshot) in the latest commit, sorted; empty when the
/// snapshot has none.
pub async fn partition_values(
    warehouse: &StoreUrl,
    table: &str,
    as_of: chrono::NaiveDate,
) -> Result<Vec<String>, QueryError> {
    let location = Location::open(warehouse)?;
    let snapshot = format!("snapshot_date={as_of}/");
    let mut values: Vec<String> = commit::latest(&location)
        .await?
        .map(|c| c.files)
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.table == table)
        .filter_map(|f| {
            let below = f.partition.strip_prefix(&snapshot)?;
            below.split('/').next()?.split_once('=').map(|(_, v)| v.to_string())
        })
        .collect();
    values.sort();
    values.dedup();
    Ok(values)
}
