//! `cvm query`: the warehouse's tables, registered by name with typed hive
//! partition columns, queried with SQL and printed or exported.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SQLOptions, SessionContext};
use std::collections::BTreeMap;

use crate::commit::{self, Commit, CommitError};
use crate::engine::{self, EngineOptions};
use crate::published_view::PublishedView;
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

/// The type of a hive partition column, by its name.
fn partition_type(name: &str) -> DataType {
    if name.ends_with("_date") { DataType::Date32 } else { DataType::Utf8 }
}

/// Registers every published table of the warehouse; returns their names.
/// Only the files of the warehouse's latest commit are read: never a
/// snapshot being published, never the files it replaces.
pub async fn register_warehouse(ctx: &SessionContext, warehouse: &StoreUrl) -> Result<Vec<String>, QueryError> {
    let location = Location::open(warehouse)?;
    let Some(commit) = commit::latest(&location).await? else {
        return Ok(Vec::new());
    };
    read_through_commit(ctx, &location, &commit);
    let mut tables: BTreeMap<&str, &str> = BTreeMap::new();
    // `_` tables are cvm's internal state (the parts of usage_daily), not for analysts
    for file in commit.files.iter().filter(|f| !f.table.starts_with('_')) {
        tables.entry(file.table.as_str()).or_insert(file.partition.as_str());
    }
    let mut names = Vec::new();
    for (table, partition) in tables {
        register_published(ctx, warehouse, table, partition, table)
            .await
            .map_err(|source| QueryError::Register { table: table.to_string(), source })?;
        names.push(table.to_string());
    }
    Ok(names)
}

/// Makes the session read the warehouse's table folders through `commit`:
/// only its files are listed there (see [`PublishedView`]); every other
/// path, writes included, goes to the store as before.
pub fn read_through_commit(ctx: &SessionContext, location: &Location, commit: &Commit) {
    let view = PublishedView::new(location.store.clone(), location.url.store_path(), commit);
    ctx.register_object_store(&location.url.store_root(), Arc::new(view));
}

/// Registers a published table under `name`, its partition keys read from
/// `partition` (the key=value folders of any of its files), its schema from
/// its files. The session must read through the commit
/// ([`read_through_commit`]).
pub async fn register_published(
    ctx: &SessionContext,
    warehouse: &StoreUrl,
    table: &str,
    partition: &str,
    name: &str,
) -> Result<(), DataFusionError> {
    register_published_as(ctx, warehouse, table, partition, name, None).await
}

/// [`register_published`], read as `schema` (the table's columns without its
/// partition keys) when given: files written before a column existed read it
/// as null, so a run of a newer cvm folds in what an older one published.
pub async fn register_published_as(
    ctx: &SessionContext,
    warehouse: &StoreUrl,
    table: &str,
    partition: &str,
    name: &str,
    schema: Option<SchemaRef>,
) -> Result<(), DataFusionError> {
    let partition_cols: Vec<(String, DataType)> = partition
        .split('/')
        .filter_map(|part| part.split_once('='))
        .map(|(k, _)| (k.to_string(), partition_type(k)))
        .collect();
    let url = format!("{}{}/", warehouse.as_folder(), table);
    let table_url = ListingTableUrl::parse(&url)?;
    // the session's Parquet options (plain Utf8 strings), not the format's defaults
    let format = ParquetFormat::default().with_options(ctx.state().table_options().parquet.clone());
    let options =
        ListingOptions::new(Arc::new(format)).with_file_extension(".parquet").with_table_partition_cols(partition_cols);
    let config = ListingTableConfig::new(table_url).with_listing_options(options);
    let config = match schema {
        Some(schema) => config.with_schema(schema),
        None => config.infer_schema(&ctx.state()).await?,
    };
    let provider = ListingTable::try_new(config)?;
    let _ = ctx.deregister_table(name);
    ctx.register_table(name, Arc::new(provider))?;
    Ok(())
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
