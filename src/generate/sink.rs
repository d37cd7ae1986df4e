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

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use object_store::buffered::BufWriter;
use object_store::path::Path;

use super::GenerateError;
use super::calendar;
use crate::storage::Location;

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

enum Builder {
    Text(StringBuilder),
    Int(Int64Builder),
    Money(Decimal128Builder),
    Time(TimestampMicrosecondBuilder),
    Date(Date32Builder),
    Float(Float64Builder),
}

fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Text => DataType::Utf8,
        Kind::Int => DataType::Int64,
        Kind::Money => DataType::Decimal128(18, 2),
        Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Kind::Date => DataType::Date32,
        Kind::Float => DataType::Float64,
    }
}

/// The Arrow schema a table is written with in Parquet.
pub fn schema(table: &Table) -> SchemaRef {
    Arc::new(Schema::new(
        table.columns.iter().map(|(name, kind)| Field::new(*name, data_type(*kind), true)).collect::<Vec<_>>(),
    ))
}

impl Builder {
    fn new(kind: Kind) -> Builder {
        match kind {
            Kind::Text => Builder::Text(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 12)),
            Kind::Int => Builder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            Kind::Money => Builder::Money(Decimal128Builder::with_capacity(BATCH_ROWS)),
            Kind::Time => Builder::Time(TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS)),
            Kind::Date => Builder::Date(Date32Builder::with_capacity(BATCH_ROWS)),
            Kind::Float => Builder::Float(Float64Builder::with_capacity(BATCH_ROWS)),
        }
    }

    #[inline]
    fn append(&mut self, cell: &Cell) {
        match (self, *cell) {
            (Builder::Text(b), Cell::Text(v) | Cell::Bad(v)) => b.append_value(v),
            (Builder::Int(b), Cell::Int(v)) => b.append_value(v),
            (Builder::Money(b), Cell::Money(v)) => b.append_value(i128::from(v)),
            (Builder::Time(b), Cell::Time(v)) => b.append_value(v.utc_micros()),
            (Builder::Date(b), Cell::Date(v)) => b.append_value(v),
            (Builder::Float(b), Cell::Float(v)) => b.append_value(v),
            (b, _) => b.append_null(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Text(b) => b.append_null(),
            Builder::Int(b) => b.append_null(),
            Builder::Money(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Float(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Money(b) => {
                Arc::new(b.finish().with_precision_and_scale(18, 2).expect("18, 2 is a valid decimal type"))
            }
            Builder::Time(b) => Arc::new(b.finish().with_timezone("UTC")),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Builder::Text(b) => b.len(),
            Builder::Int(b) => b.len(),
            Builder::Money(b) => b.len(),
            Builder::Time(b) => b.len(),
            Builder::Date(b) => b.len(),
            Builder::Float(b) => b.len(),
        }
    }
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

#[inline]
fn push_csv(buf: &mut Vec<u8>, cell: &Cell, day: &mut i32, date: &mut [u8; 10]) {
    match *cell {
        Cell::Null => {}
        Cell::Text(v) | Cell::Bad(v) => {
            debug_assert!(!v.contains([',', '"', '\n', '\r']), "{v}");
            buf.extend_from_slice(v.as_bytes());
        }
        Cell::Int(v) => push_int(buf, v),
        Cell::Money(cents) => {
            if cents < 0 {
                buf.push(b'-');
            }
            let a = cents.unsigned_abs();
            push_uint(buf, a / 100);
            buf.push(b'.');
            buf.extend_from_slice(&calendar::two_digits((a % 100) as u32));
        }
        Cell::Date(d) => {
            if *day != d {
                *day = d;
                *date = calendar::date_text(d);
            }
            buf.extend_from_slice(date);
        }
        Cell::Time(t) => {
            if *day != t.day {
                *day = t.day;
                *date = calendar::date_text(t.day);
            }
            buf.extend_from_slice(date);
            buf.push(b'T');
            buf.extend_from_slice(&calendar::time_text(t.sec));
            buf.extend_from_slice(&calendar::offset_text(t.offset));
        }
        Cell::Float(v) => {
            use std::io::Write;
            let _ = write!(buf, "{v:.2}");
        }
    }
}

#[inline]
pub fn push_int(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    push_uint(buf, v.unsigned_abs());
}

/// Decimal digits of `v`, without allocating.
#[inline]
pub fn push_uint(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_the_contract_text() {
        let mut buf = Vec::new();
        let (mut day, mut date) = (i32::MIN, [0; 10]);
        let t = Stamp { day: calendar::from_date("2026-11-22".parse().unwrap()), sec: 3600 * 9 + 5, offset: 60 };
        for cell in [Cell::Time(t), Cell::Money(-1205), Cell::Money(7), Cell::Int(-42), Cell::Int(0), Cell::Date(t.day)]
        {
            push_csv(&mut buf, &cell, &mut day, &mut date);
            buf.push(b'|');
        }
        assert_eq!(String::from_utf8(buf).unwrap(), "2026-11-22T09:00:05+01:00|-12.05|0.07|-42|0|2026-11-22|");
    }

    #[test]
    fn parquet_values_read_back_as_ingest_reads_them() {
        // ingest casts every Parquet column to text and parses it like CSV
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::compute::cast;
        let t = Stamp { day: calendar::from_date("2026-07-01".parse().unwrap()), sec: 3600 * 12, offset: 120 };
        let cells = [Cell::Time(t), Cell::Money(1999), Cell::Date(t.day), Cell::Int(5), Cell::Bad("x"), Cell::Null];
        let kinds = [Kind::Time, Kind::Money, Kind::Date, Kind::Int, Kind::Time, Kind::Text];
        let text: Vec<Option<String>> = cells
            .iter()
            .zip(kinds)
            .map(|(cell, kind)| {
                let mut b = Builder::new(kind);
                b.append(cell);
                let array = cast(&b.finish(), &DataType::Utf8).unwrap();
                let s = array.as_string::<i32>();
                (!datafusion::arrow::array::Array::is_null(s, 0)).then(|| s.value(0).to_string())
            })
            .collect();
        let micros = crate::engine::udf::parse_timestamp(text[0].as_deref().unwrap(), "iso", &chrono_tz::UTC);
        assert_eq!(micros, Some(t.utc_micros()), "{text:?}");
        assert_eq!(text[1].as_deref(), Some("19.99"));
        assert_eq!(text[2].as_deref(), Some("2026-07-01"));
        assert_eq!(text[3].as_deref(), Some("5"));
        assert_eq!(text[4], None);
        assert_eq!(text[5], None);
    }
}
