//! Streaming the generated rows to one object per file, as CSV or Parquet,
//! in bounded chunks: CSV is formatted into a reused byte buffer and handed
//! on every [`CHUNK_BYTES`]; Parquet is written batch by batch
//! ([`BATCH_ROWS`] rows) by an `ArrowWriter` over an in-memory buffer that
//! is drained into a multipart upload as it fills.
//!
//! Columns are typed ([`Kind`]) so both formats carry the same values: CSV
//! as the contract's text (ISO dates, timestamps with their UTC offset,
//! amounts with two decimals), Parquet as Date32, Timestamp(us, UTC),
//! Int64, Decimal128(18, 2), Float64 and Utf8.

mod csv_text;
mod parquet_columns;

use bytes::Bytes;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use object_store::buffered::BufWriter;
use object_store::path::Path;

use super::GenerateError;
use crate::storage::Location;
use csv_text::push_csv;
use parquet_columns::Builder;
pub use parquet_columns::schema;

/// CSV bytes (and drained Parquet bytes) handed to the upload at a time.
pub const CHUNK_BYTES: usize = 8 << 20;
/// Rows per Parquet record batch.
pub const BATCH_ROWS: usize = 64 * 1024;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 1 << 20;

/// The file format written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    /// Cents, written with two decimals.
    Money,
    Time,
    Date,
    Float,
}

/// A source's file layout: its folder name and columns.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

/// A local time of day with its UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The local calendar day (days since 1970-01-01).
    pub day: i32,
    /// Seconds since local midnight.
    pub sec: u32,
    /// UTC offset in minutes.
    pub offset: i32,
}

impl Stamp {
    pub fn utc_micros(self) -> i64 {
        (i64::from(self.day) * 86_400 + i64::from(self.sec) - i64::from(self.offset) * 60) * 1_000_000
    }
}

/// One value of a row.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    Money(i64),
    Time(Stamp),
    Date(i32),
    Float(f64),
    /// A broken value (a dirty row): CSV writes it as is; in Parquet a text
    /// column carries it and a typed column, which cannot, is null.
    Bad(&'a str),
}

/// What one finished file held.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileStats {
    pub rows: u64,
    pub bytes: u64,
}

/// One file being written.
pub struct FileWriter {
    url: String,
    table: &'static Table,
    out: BufWriter,
    handle: tokio::runtime::Handle,
    body: Body,
    rows: u64,
    bytes: u64,
}

enum Body {
    Csv { buf: Vec<u8>, day: i32, date: [u8; 10] },
    Parquet { builders: Vec<Builder>, schema: SchemaRef, writer: Box<ArrowWriter<Vec<u8>>>, pending: usize },
}

impl FileWriter {
    /// Starts the file at `path` of `location`'s store; rows are written with
    /// [`FileWriter::row`], and the object exists once [`FileWriter::finish`] returns.
    pub fn create(
        location: &Location,
        path: Path,
        table: &'static Table,
        format: Format,
        handle: tokio::runtime::Handle,
    ) -> Result<FileWriter, GenerateError> {
        let url = location.url.url_of(&path);
        let out = BufWriter::with_capacity(location.store.clone(), path, 2 * CHUNK_BYTES);
        let body = match format {
            Format::Csv => {
                let mut buf = Vec::with_capacity(CHUNK_BYTES + 4096);
                for (i, (name, _)) in table.columns.iter().enumerate() {
                    if i > 0 {
                        buf.push(b',');
                    }
                    buf.extend_from_slice(name.as_bytes());
                }
                buf.push(b'\n');
                Body::Csv { buf, day: i32::MIN, date: [0; 10] }
            }
            Format::Parquet => {
                let schema = schema(table);
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .build();
                let writer = ArrowWriter::try_new(Vec::with_capacity(CHUNK_BYTES), schema.clone(), Some(properties))
                    .map_err(|e| GenerateError::Write { file: url.clone(), message: e.to_string() })?;
                let builders = table.columns.iter().map(|(_, kind)| Builder::new(*kind)).collect();
                Body::Parquet { builders, schema, writer: Box::new(writer), pending: 0 }
            }
        };
        Ok(FileWriter { url, table, out, handle, body, rows: 0, bytes: 0 })
    }

    /// Appends one row; `cells` in the table's column order.
    #[inline]
    pub fn row(&mut self, cells: &[Cell]) -> Result<(), GenerateError> {
        debug_assert_eq!(cells.len(), self.table.columns.len(), "{}", self.table.name);
        self.rows += 1;
        match &mut self.body {
            Body::Csv { buf, day, date } => {
                for (i, cell) in cells.iter().enumerate() {
                    if i > 0 {
                        buf.push(b',');
                    }
                    push_csv(buf, cell, day, date);
                }
                buf.push(b'\n');
                if buf.len() >= CHUNK_BYTES {
                    let chunk = std::mem::replace(buf, Vec::with_capacity(CHUNK_BYTES + 4096));
                    self.send(chunk)?;
                }
            }
            Body::Parquet { builders, pending, .. } => {
                for (builder, cell) in builders.iter_mut().zip(cells) {
                    builder.append(cell);
                }
                *pending += 1;
                if *pending >= BATCH_ROWS {
                    self.write_batch()?;
                }
            }
        }
        Ok(())
    }

    fn write_batch(&mut self) -> Result<(), GenerateError> {
        let Body::Parquet { builders, schema, pending, .. } = &mut self.body else {
            return Ok(());
        };
        if *pending == 0 {
            return Ok(());
        }
        debug_assert!(builders.iter().all(|b| b.len() == *pending));
        *pending = 0;
        let columns: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| self.err(e))?;
        let Body::Parquet { writer, .. } = &mut self.body else { unreachable!() };
        writer.write(&batch).map_err(|e| GenerateError::Write { file: self.url.clone(), message: e.to_string() })?;
        if writer.inner_mut().len() >= CHUNK_BYTES {
            let chunk = std::mem::take(writer.inner_mut());
            self.send(chunk)?;
        }
        Ok(())
    }

    fn err(&self, e: impl std::fmt::Display) -> GenerateError {
        GenerateError::Write { file: self.url.clone(), message: e.to_string() }
    }

    fn send(&mut self, chunk: Vec<u8>) -> Result<(), GenerateError> {
        if chunk.is_empty() {
            return Ok(());
        }
        self.bytes += chunk.len() as u64;
        let out = &mut self.out;
        self.handle
            .block_on(out.put(Bytes::from(chunk)))
            .map_err(|e| GenerateError::Write { file: self.url.clone(), message: e.to_string() })
    }

    /// Writes what is left and completes the object.
    pub fn finish(mut self) -> Result<FileStats, GenerateError> {
        let rest = match &mut self.body {
            Body::Csv { buf, .. } => std::mem::take(buf),
            Body::Parquet { .. } => {
                self.write_batch()?;
                let Body::Parquet { writer, .. } = &mut self.body else { unreachable!() };
                writer.finish().map_err(|e| GenerateError::Write { file: self.url.clone(), message: e.to_string() })?;
                std::mem::take(writer.inner_mut())
            }
        };
        self.send(rest)?;
        let out = &mut self.out;
        let shutdown =
            std::future::poll_fn(|cx| tokio::io::AsyncWrite::poll_shutdown(std::pin::Pin::new(&mut *out), cx));
        self.handle
            .block_on(shutdown)
            .map_err(|e| GenerateError::Write { file: self.url.clone(), message: e.to_string() })?;
        Ok(FileStats { rows: self.rows, bytes: self.bytes })
    }
}
