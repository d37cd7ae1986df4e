//! `cvm query`: one read-only SQL statement over the warehouse's published
//! tables, printed or exported below `<warehouse>/_queries/`.

use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::prelude::SQLOptions;

use crate::engine::{self, EngineOptions};
use crate::storage::{Location, StorageSettings, StoreUrl};
use crate::warehouse::reader::{self, ReadError};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("query: {0}")]
    Sql(DataFusionError),
    #[error("cannot write {path}: {source}")]
    Output { path: String, source: DataFusionError },
    #[error("--output: {0}")]
    OutsideRoot(crate::storage::UrlError),
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

/// Where `cvm query --output` writes, below the warehouse.
const QUERY_OUTPUTS: &str = "_queries/";

/// Runs one read-only SQL statement over the warehouse.
pub async fn query(
    warehouse: &StoreUrl,
    sql: &str,
    format: OutputFormat,
    output: Option<&str>,
) -> Result<Option<String>, QueryError> {
    let storage = StorageSettings::default();
    let ctx = engine::session(&EngineOptions::default(), &storage).map_err(QueryError::Sql)?;
    let location = Location::open(warehouse, &storage).map_err(ReadError::from)?;
    reader::register_warehouse(&ctx, &location).await?;
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
