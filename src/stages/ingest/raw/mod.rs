//! Reading extracts into raw rows: every contract column as the extract
//! carries it, plus where each row came from.
//!
//! DataFusion's CSV reader stops at the first bad value and knows no line
//! numbers, so cvm reads text extracts with the `csv` crate (NDJSON with
//! serde_json) into text columns and lets the staging SQL judge the values.
//! Parquet columns come in their own type where the contract's rule reads
//! that type ([`crate::contract::Value::accepts`]), else as text.
//!
//! Each row keeps `_file` and `_row` (the line number in the decompressed
//! file, header = line 1; for Parquet the 1-based row) and `_parse_error` (a
//! rule name when the record itself is broken, e.g. `field_count_mismatch`).
//! `_raw` is null but for broken records, where it holds their shape only
//! (`<6 fields, 33 bytes of values; the header has 11>`): a rejected row's
//! record is rebuilt by the staging SQL from its contract columns, so
//! nothing is copied for the rows that pass, and no column outside the
//! contract (an IMSI, an A-number) is ever kept.

mod error;
mod input;
mod parquet;
mod text;

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, DictionaryArray, Int32Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};

use crate::contract::{self, Column, SourceKind};
use crate::job::Source;
pub use error::FileError;
pub use parquet::{ParquetLayout, parquet_layout, parquet_raw_batch};
pub use text::{HEADER_PREFIX_BYTES, check_text_header, read_text};

/// Rows per raw batch.
pub const BATCH_ROWS: usize = 32 * 1024;

/// The schema of a source's raw table: `types` holds one type per staged
/// column ([`text_types`] for a text extract, [`parquet_types`] for Parquet).
pub fn raw_schema(kind: SourceKind, types: &[DataType]) -> SchemaRef {
    let mut fields = vec![
        // one value per file: a dictionary keeps it to one string per batch
        Field::new("_file", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), false),
        Field::new("_row", DataType::Int64, false),
        Field::new("_raw", DataType::Utf8, true),
        Field::new("_parse_error", DataType::Utf8, true),
    ];
    fields.extend(contract::staged_columns(kind).zip(types).map(|(c, t)| Field::new(c.name, t.clone(), true)));
    Arc::new(Schema::new(fields))
}

/// A text extract's raw types: every staged column as text.
pub fn text_types(kind: SourceKind) -> Vec<DataType> {
    contract::staged_columns(kind).map(|_| DataType::Utf8).collect()
}

/// The raw types of a source's Parquet files, from their schemas: a column
/// keeps its own type where the contract's rule reads it and every file
/// agrees on it; otherwise it is read as text.
pub fn parquet_types(source: &Source, schemas: &[Schema]) -> Vec<DataType> {
    contract::staged_columns(source.kind)
        .map(|column| {
            let name = source.source_column(column.name);
            let mut found = schemas.iter().filter_map(|s| s.field_with_name(name).ok()).map(|f| f.data_type());
            match found.next() {
                Some(first) if column.value.accepts(first) && found.all(|t| t == first) => first.clone(),
                _ => DataType::Utf8,
            }
        })
        .collect()
}

/// The file-URL column of a raw batch: one dictionary value.
fn file_column(file: &str, rows: usize) -> ArrayRef {
    Arc::new(DictionaryArray::<Int32Type>::new(
        Int32Array::from(vec![0; rows]),
        Arc::new(StringArray::from(vec![file])),
    ))
}

/// Checks that a Parquet extract's columns include every required one.
pub fn check_parquet_columns(source: &Source, file: &str, names: &[String]) -> Result<(), FileError> {
    column_indexes(source, file, names).map(|_| ())
}

fn unreadable(file: &str, e: impl std::fmt::Display) -> FileError {
    FileError::Unreadable { file: file.to_string(), message: e.to_string() }
}

/// Where each staged contract column sits in the extract.
struct ColumnIndexes {
    staged: Vec<Option<usize>>,
}

fn column_indexes(source: &Source, file: &str, header: &[String]) -> Result<ColumnIndexes, FileError> {
    let position = |column: &Column| {
        let name = source.source_column(column.name);
        header.iter().position(|h| h == name)
    };
    let mut staged = Vec::new();
    for column in contract::staged_columns(source.kind) {
        let index = position(column);
        if index.is_none() && column.required {
            return Err(FileError::MissingColumn {
                file: file.to_string(),
                column: column.name.to_string(),
                source_column: source.source_column(column.name).to_string(),
            });
        }
        staged.push(index);
    }
    Ok(ColumnIndexes { staged })
}
