//! Reading a source's files without ingesting them: `cvm validate`'s check
//! of each file's header (or Parquet schema), and the schemas in the
//! Parquet files' footers.

use futures::StreamExt;
use object_store::ObjectStoreExt;

use datafusion::arrow::datatypes::Schema;

use super::IngestError;
use super::raw;
use crate::job::{Format, Source};
use crate::storage::{Location, StorageError, StorageSettings};

/// Checks a source without ingesting it: its files are listed and each one's
/// header (or Parquet schema) must map onto the contract. Reads only the
/// start of a text file and the footer of a Parquet file, never whole extracts.
pub async fn check_source(source: &Source, storage: &StorageSettings) -> Result<usize, IngestError> {
    let name = source.kind.name();
    if !source.enabled {
        return Ok(0);
    }
    let location = Location::open(&source.url, storage).map_err(|error| IngestError::Storage { input: name, error })?;
    let files = location.list_files().await.map_err(|error| IngestError::Storage { input: name, error })?;
    if files.is_empty() && source.kind.required() {
        return Err(IngestError::NoFiles { input: name, url: source.url.to_string() });
    }
    let file_err = |e: &dyn std::fmt::Display| IngestError::File { input: name, message: e.to_string() };
    for meta in &files {
        let url = location.url.url_of(&meta.location);
        if source.format == Format::Parquet {
            let schema = parquet_schema(&location, meta)
                .await
                .map_err(|message| file_err(&raw::FileError::Unreadable { file: url.clone(), message }))?;
            let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
            raw::check_parquet_columns(source, &url, &names).map_err(|e| file_err(&e))?;
        } else {
            let end = meta.size.min(raw::HEADER_PREFIX_BYTES);
            let prefix = location.store.get_range(&meta.location, 0..end).await.map_err(|e| IngestError::Storage {
                input: name,
                error: StorageError { url: url.clone(), source: e },
            })?;
            raw::check_text_header(source, &url, prefix).map_err(|e| file_err(&e))?;
        }
    }
    Ok(files.len())
}

/// The Arrow schemas of a source's Parquet files, from their footers, a few
/// at a time; a file whose footer cannot be read fails the source.
pub(super) async fn parquet_schemas(
    input: &'static str,
    location: &Location,
    files: &[&object_store::ObjectMeta],
) -> Result<Vec<Schema>, IngestError> {
    futures::stream::iter(files.iter().map(|meta| async move {
        parquet_schema(location, meta).await.map_err(|message| IngestError::File {
            input,
            message: raw::FileError::Unreadable { file: location.url.url_of(&meta.location), message }.to_string(),
        })
    }))
    .buffered(8)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect()
}

/// The Arrow schema of a Parquet file, from its footer alone.
async fn parquet_schema(location: &Location, meta: &object_store::ObjectMeta) -> Result<Schema, String> {
    let footer = crate::warehouse::tables::read_footer(&location.store, &meta.location, meta.size).await?;
    crate::warehouse::tables::footer_schema(&footer)
}
