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

use std::io::Read;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, Int32Array, Int64Array, Int64Builder, RecordBatch, StringArray,
    StringBuilder, new_null_array,
};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};

use crate::contract::{self, Column, SourceKind};
use crate::job::{Compression, Format, Source};

/// Rows per raw batch.
pub const BATCH_ROWS: usize = 32 * 1024;

/// A file that cannot be ingested at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{file}: missing required column '{column}'{}", mapped_note(.column, .source_column))]
    MissingColumn { file: String, column: String, source_column: String },
    #[error("{file}: unreadable: {message}")]
    Unreadable { file: String, message: String },
}

impl FileError {
    /// The file error whose `Debug` form appears in `text`, if one does.
    /// Ballista hands a task's error to the client only as text, written
    /// with `Debug`: this takes the error back, so a cluster run reports a
    /// file's failure in the same words as a local run.
    pub fn find_in_debug_text(text: &str) -> Option<FileError> {
        for variant in ["MissingColumn { ", "Unreadable { "] {
            let Some(at) = text.find(variant) else { continue };
            let mut rest = &text[at + variant.len()..];
            let mut fields = std::collections::BTreeMap::new();
            loop {
                let (name, after) = rest.split_once(": ")?;
                let (value, after) = debug_string(after)?;
                fields.insert(name, value);
                match after.strip_prefix(", ") {
                    Some(next) => rest = next,
                    None if after.starts_with(" }") => break,
                    None => return None,
                }
            }
            let mut take = |name: &str| fields.remove(name);
            return Some(match variant {
                "MissingColumn { " => FileError::MissingColumn {
                    file: take("file")?,
                    column: take("column")?,
                    source_column: take("source_column")?,
                },
                _ => FileError::Unreadable { file: take("file")?, message: take("message")? },
            });
        }
        None
    }
}

/// A string literal as `Debug` writes it, at the start of `text`: its value
/// and the text after it.
fn debug_string(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('"')?.char_indices();
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[i + 2..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                'r' => value.push('\r'),
                't' => value.push('\t'),
                '0' => value.push('\0'),
                'u' => {
                    let mut hex = String::new();
                    chars.next().filter(|(_, c)| *c == '{')?;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                        hex.push(c);
                    }
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

fn mapped_note(column: &str, source_column: &str) -> String {
    if column == source_column { String::new() } else { format!(" (mapped from '{source_column}')") }
}

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

/// Accumulates the raw rows of a text extract into batches.
struct BatchBuilder {
    schema: SchemaRef,
    file: String,
    rows: Int64Builder,
    shape: StringBuilder,
    parse_error: StringBuilder,
    values: Vec<StringBuilder>,
    len: usize,
}

impl BatchBuilder {
    fn new(schema: SchemaRef, file: &str) -> Self {
        let n = schema.fields().len() - 4;
        BatchBuilder {
            schema,
            file: file.to_string(),
            rows: Int64Builder::with_capacity(BATCH_ROWS),
            shape: StringBuilder::new(),
            parse_error: StringBuilder::new(),
            values: (0..n).map(|_| StringBuilder::new()).collect(),
            len: 0,
        }
    }

    /// Adds a well-formed row; `values` in staged-column order.
    fn push<'a>(&mut self, row: i64, values: impl Iterator<Item = Option<&'a str>>) {
        self.rows.append_value(row);
        self.shape.append_null();
        self.parse_error.append_null();
        for (builder, value) in self.values.iter_mut().zip(values) {
            builder.append_option(value);
        }
        self.len += 1;
    }

    /// Adds a broken record: its rule and its shape, no values.
    fn push_broken(&mut self, row: i64, rule: &str, shape: &str) {
        self.rows.append_value(row);
        self.shape.append_value(shape);
        self.parse_error.append_value(rule);
        for builder in &mut self.values {
            builder.append_null();
        }
        self.len += 1;
    }

    /// Hands the batch to `emit` once it is full; false when the consumer has gone.
    fn emit_if_full(&mut self, emit: &mut dyn FnMut(RecordBatch) -> bool) -> bool {
        if self.len < BATCH_ROWS {
            return true;
        }
        self.finish().is_none_or(emit)
    }

    fn finish(&mut self) -> Option<RecordBatch> {
        if self.len == 0 {
            return None;
        }
        let n = self.len;
        self.len = 0;
        let mut columns: Vec<ArrayRef> = vec![
            file_column(&self.file, n),
            Arc::new(self.rows.finish()),
            Arc::new(self.shape.finish()),
            Arc::new(self.parse_error.finish()),
        ];
        columns.extend(self.values.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        Some(RecordBatch::try_new(self.schema.clone(), columns).expect("raw batch matches its schema"))
    }
}

/// Reads one text extract (CSV or NDJSON), as it streams in, and hands its
/// raw batches to `emit`. `file` is the URL used in messages and in `_file`.
pub fn read_text(
    source: &Source,
    file: &str,
    input: Box<dyn Read + Send>,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<(), FileError> {
    let schema = raw_schema(source.kind, &text_types(source.kind));
    let reader = Box::new(LineLimit::new(decompress(source.compression, file, input)?, source));
    match source.format {
        Format::Ndjson => read_ndjson(source, file, reader, schema, emit),
        _ => read_csv(source, file, reader, schema, emit),
    }
}

/// How much of a text extract `cvm validate` reads to find its header.
pub const HEADER_PREFIX_BYTES: u64 = 256 * 1024;

/// Checks that a text extract (CSV, NDJSON) opens and, for CSV, that its
/// header has every required column. `prefix` is the start of the file:
/// only the first record is decoded.
pub fn check_text_header(source: &Source, file: &str, prefix: bytes::Bytes) -> Result<(), FileError> {
    let mut reader = decompress(source.compression, file, Box::new(std::io::Cursor::new(prefix)))?;
    match source.format {
        Format::Csv => {
            let mut csv = csv_reader(source, reader);
            let header = read_header(&mut csv, source, file)?;
            column_indexes(source, file, &header).map(|_| ())
        }
        // NDJSON has no header: a missing field is a missing value, judged per row.
        _ => {
            let mut first = [0u8; 1];
            reader.read(&mut first).map_err(|e| unreadable(file, e))?;
            Ok(())
        }
    }
}

/// Checks that a Parquet extract's columns include every required one.
pub fn check_parquet_columns(source: &Source, file: &str, names: &[String]) -> Result<(), FileError> {
    column_indexes(source, file, names).map(|_| ())
}

fn unreadable(file: &str, e: impl std::fmt::Display) -> FileError {
    FileError::Unreadable { file: file.to_string(), message: e.to_string() }
}

fn decompress(
    compression: Compression,
    file: &str,
    input: Box<dyn Read + Send>,
) -> Result<Box<dyn Read + Send>, FileError> {
    let by_name = file.rsplit('/').next().unwrap_or(file).to_ascii_lowercase();
    let compression = match compression {
        Compression::Auto if by_name.ends_with(".gz") || by_name.ends_with(".gzip") => Compression::Gzip,
        Compression::Auto if by_name.ends_with(".zst") || by_name.ends_with(".zstd") => Compression::Zstd,
        Compression::Auto => Compression::None,
        other => other,
    };
    let plain = std::io::BufReader::with_capacity(256 * 1024, input);
    Ok(match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(plain)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(plain).map_err(|e| unreadable(file, e))?)
        }
        _ => Box::new(plain),
    })
}

/// A text extract's decompressed bytes, failing at the first line longer
/// than `sources.<source>.max_line_bytes`: the readers buffer a whole line
/// (or record), so without a limit one endless line would take the
/// process's memory (a few MB of gzip can hold gigabytes of one line).
struct LineLimit<R> {
    inner: R,
    limit: u64,
    key: String,
    /// bytes since the last line break
    in_line: u64,
    /// 1-based number of the line being read
    line: u64,
}

impl<R: Read> LineLimit<R> {
    fn new(inner: R, source: &Source) -> Self {
        let key = format!("sources.{}.max_line_bytes", source.kind.name());
        LineLimit { inner, limit: source.max_line_bytes, key, in_line: 0, line: 1 }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        let mut start = 0;
        for at in memchr::memchr_iter(b'\n', chunk) {
            // the line break itself does not count
            self.check(self.in_line + (at - start) as u64)?;
            self.line += 1;
            self.in_line = 0;
            start = at + 1;
        }
        self.in_line += (n - start) as u64;
        self.check(self.in_line)?;
        Ok(n)
    }
}

impl<R> LineLimit<R> {
    fn check(&self, line_bytes: u64) -> std::io::Result<()> {
        if line_bytes <= self.limit {
            return Ok(());
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "line {} is longer than {} bytes, the limit ({}); the file is not read further",
                self.line, self.limit, self.key
            ),
        ))
    }
}

fn csv_reader(source: &Source, reader: Box<dyn Read + Send>) -> csv::Reader<Box<dyn Read + Send>> {
    csv::ReaderBuilder::new()
        .delimiter(source.delimiter)
        .quote(source.quote)
        .has_headers(false)
        .flexible(true)
        .from_reader(reader)
}

fn read_header(
    csv: &mut csv::Reader<Box<dyn Read + Send>>,
    source: &Source,
    file: &str,
) -> Result<Vec<String>, FileError> {
    let mut record = csv::ByteRecord::new();
    match csv.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return Err(unreadable(file, "empty file: no header row")),
        Err(e) => return Err(unreadable(file, e)),
    }
    if record.len() > source.max_fields {
        return Err(unreadable(
            file,
            format!(
                "the header has {} fields, more than {}, the limit (sources.{}.max_fields); the file is not read",
                record.len(),
                source.max_fields,
                source.kind.name()
            ),
        ));
    }
    Ok(record
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let name = String::from_utf8_lossy(f);
            // a UTF-8 byte-order mark is not part of the first name
            let name = if i == 0 { name.trim_start_matches('\u{feff}') } else { &name };
            name.trim().to_string()
        })
        .collect())
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

fn read_csv(
    source: &Source,
    file: &str,
    reader: Box<dyn Read + Send>,
    schema: SchemaRef,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<(), FileError> {
    let mut csv = csv_reader(source, reader);
    let header = read_header(&mut csv, source, file)?;
    let indexes = column_indexes(source, file, &header)?;
    // every field is trimmed (after unquoting); a null marker is short: longer values skip the comparison
    let longest_marker = source.null_markers.iter().map(String::len).max().unwrap_or(0);
    let is_null = |v: &str| v.len() <= longest_marker && source.null_markers.iter().any(|m| m == v);
    let mut batch = BatchBuilder::new(schema, file);
    let mut record = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(unreadable(file, e)),
        }
        let line = record.position().map(|p| p.line() as i64).unwrap_or(0);
        if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
            continue; // a blank line is no record
        }
        if record.len() != header.len() {
            // its fields are shifted: personal data may sit in any column, so keep its shape only
            let shape = format!(
                "<{} fields, {} bytes of values; the header has {}>",
                record.len(),
                trimmed_bytes(&record),
                header.len()
            );
            batch.push_broken(line, "field_count_mismatch", &shape);
        } else if let Ok(text) = std::str::from_utf8(record.as_slice()) {
            // fields borrow from the record's buffer: no allocation per field
            let values = indexes.staged.iter().map(|index| {
                let i = (*index)?;
                let value = text[record.range(i)?].trim_ascii();
                Some(value).filter(|v| !is_null(v))
            });
            batch.push(line, values);
        } else {
            let field = record.iter().position(|f| std::str::from_utf8(f).is_err()).unwrap_or(0) + 1;
            let shape = format!(
                "<{} fields, {} bytes of values; field {field} is not UTF-8>",
                record.len(),
                trimmed_bytes(&record)
            );
            batch.push_broken(line, "invalid_utf8", &shape);
        }
        if !batch.emit_if_full(emit) {
            return Ok(()); // the consumer has gone
        }
    }
    if let Some(b) = batch.finish() {
        emit(b);
    }
    Ok(())
}

/// The bytes of a record's values, each trimmed of white space.
fn trimmed_bytes(record: &csv::ByteRecord) -> usize {
    record.iter().map(|f| f.trim_ascii().len()).sum()
}

fn read_ndjson(
    source: &Source,
    file: &str,
    reader: Box<dyn Read + Send>,
    schema: SchemaRef,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<(), FileError> {
    use std::io::BufRead;
    let staged: Vec<&str> = contract::staged_columns(source.kind).map(|c| source.source_column(c.name)).collect();
    let is_null = |v: &str| source.null_markers.iter().any(|m| m == v);
    let mut batch = BatchBuilder::new(schema, file);
    for (i, line) in std::io::BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(|e| unreadable(file, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let row = i as i64 + 1;
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&line) {
            Ok(object) => {
                let values: Vec<Option<String>> = staged
                    .iter()
                    .map(|key| match object.get(*key) {
                        None | Some(serde_json::Value::Null) => None,
                        Some(serde_json::Value::String(s)) => Some(s.trim().to_string()).filter(|v| !is_null(v)),
                        Some(other) => Some(other.to_string()),
                    })
                    .collect();
                batch.push(row, values.iter().map(|v| v.as_deref()));
            }
            Err(_) => {
                // the text may hold personal data we cannot locate: keep its shape only
                batch.push_broken(row, "invalid_json", &format!("<{} bytes of invalid JSON>", line.len()));
            }
        }
        if !batch.emit_if_full(emit) {
            return Ok(()); // the consumer has gone
        }
    }
    if let Some(b) = batch.finish() {
        emit(b);
    }
    Ok(())
}

/// Which columns of a Parquet file a raw scan reads, and where each staged
/// column sits among them. Columns outside the contract are never read.
pub struct ParquetLayout {
    /// The file's top-level columns to read, in file order.
    pub projection: Vec<usize>,
    /// Per staged column: its position in a batch of the projection.
    staged: Vec<Option<usize>>,
}

/// The layout of a Parquet file whose Arrow schema is `schema`.
pub fn parquet_layout(source: &Source, file: &str, schema: &Schema) -> Result<ParquetLayout, FileError> {
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let in_file = column_indexes(source, file, &names)?.staged;
    let mut projection: Vec<usize> = in_file.iter().flatten().copied().collect();
    projection.sort_unstable();
    projection.dedup();
    let staged = in_file.iter().map(|i| i.and_then(|i| projection.iter().position(|p| *p == i))).collect();
    Ok(ParquetLayout { projection, staged })
}

/// A batch of a Parquet file (read with the layout's projection) as raw rows
/// in `schema`; `first_row` is the 0-based row of the batch's first row.
pub fn parquet_raw_batch(
    layout: &ParquetLayout,
    schema: &SchemaRef,
    file: &str,
    input: &RecordBatch,
    first_row: i64,
) -> Result<RecordBatch, FileError> {
    let n = input.num_rows();
    let mut columns: Vec<ArrayRef> = vec![
        file_column(file, n),
        Arc::new(Int64Array::from_iter_values(first_row + 1..=first_row + n as i64)),
        new_null_array(&DataType::Utf8, n),
        new_null_array(&DataType::Utf8, n),
    ];
    for (position, field) in layout.staged.iter().zip(schema.fields().iter().skip(4)) {
        let wanted = field.data_type();
        let column = match position {
            None => new_null_array(wanted, n),
            Some(i) => {
                let column = input.column(*i);
                let column = if column.data_type() == wanted {
                    column.clone()
                } else {
                    // a value that has no text form (or no such type) is null, as an empty field is
                    datafusion::arrow::compute::cast(column, wanted).map_err(|e| unreadable(file, e))?
                };
                if wanted == &DataType::Utf8 { trimmed(column) } else { column }
            }
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| unreadable(file, e))
}

/// A text column with every value trimmed, as a CSV field is; the column
/// itself when no value needs it (the usual case: no copy).
fn trimmed(column: ArrayRef) -> ArrayRef {
    let strings = column.as_string::<i32>();
    // a value's ends decide: ASCII whitespace, or a non-ASCII byte that may
    // end a Unicode space (then the full check); one byte compared per end
    let needs_trim = |v: &str| {
        let may_need = |b: &u8| b.is_ascii_whitespace() || *b == 0x0B || !b.is_ascii();
        (v.as_bytes().first().is_some_and(may_need) || v.as_bytes().last().is_some_and(may_need))
            && v.trim().len() != v.len()
    };
    if !strings.iter().flatten().any(needs_trim) {
        return column;
    }
    Arc::new(strings.iter().map(|v| v.map(str::trim)).collect::<StringArray>())
}

#[cfg(test)]
mod tests {
    use super::FileError;

    fn limited(text: &str, limit: u64) -> Result<String, String> {
        let mut source = crate::job::Job::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs/demo.toml"),
            &Default::default(),
        )
        .unwrap()
        .source(crate::contract::SourceKind::Cdr)
        .clone();
        source.max_line_bytes = limit;
        let mut reader = super::LineLimit::new(std::io::Cursor::new(text.as_bytes().to_vec()), &source);
        let mut out = String::new();
        // a small buffer, so lines cross reads
        let mut buf = [0u8; 3];
        loop {
            match std::io::Read::read(&mut reader, &mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.push_str(std::str::from_utf8(&buf[..n]).unwrap()),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    #[test]
    fn parquet_text_is_trimmed_as_csv_fields_are_and_left_alone_when_clean() {
        use datafusion::arrow::array::{Array, AsArray, StringArray};
        let clean: super::ArrayRef = std::sync::Arc::new(StringArray::from(vec![Some("voice"), None, Some("été")]));
        assert!(std::sync::Arc::ptr_eq(&super::trimmed(clean.clone()), &clean), "no copy when nothing needs it");
        for padded in [" voice", "voice\t", "\u{0B}voice", "voice\u{00A0}", "\u{2003}voice"] {
            let column: super::ArrayRef = std::sync::Arc::new(StringArray::from(vec![Some("sms"), Some(padded)]));
            let out = super::trimmed(column);
            assert_eq!(out.as_string::<i32>().value(1), "voice", "{padded:?}");
            assert_eq!(out.len(), 2);
        }
    }

    #[test]
    fn a_line_longer_than_the_limit_fails_naming_the_line_and_the_limit() {
        assert_eq!(limited("ab\r\ncdef\ng", 5), Ok("ab\r\ncdef\ng".into()), "5 bytes a line, the break not counted");
        assert_eq!(
            limited("ab\ncdefgh\ni", 5),
            Err("line 2 is longer than 5 bytes, the limit (sources.cdr.max_line_bytes); the file is not read further"
                .into())
        );
        assert!(limited("abcdefgh", 5).unwrap_err().starts_with("line 1 "), "a last line without a break counts too");
    }

    #[test]
    fn a_file_error_is_found_again_in_its_debug_text() {
        let errors = [
            FileError::MissingColumn {
                file: "s3://landing/billing/dt=2026-11-23/part-0.csv".into(),
                column: "net_amount".into(),
                source_column: "amount".into(),
            },
            FileError::Unreadable {
                file: "file:///in/cdr/a \"b\".csv.gz".into(),
                message: "corrupt deflate stream\n\tat byte 3 { } é\u{1}".into(),
            },
        ];
        for error in errors {
            let text = format!("Job failed: Task failed: DataFusionError(Shared(External({error:?})))");
            let found = FileError::find_in_debug_text(&text).expect("found");
            assert_eq!(found.to_string(), error.to_string());
        }
        assert!(FileError::find_in_debug_text("Execution error: Job failed: out of memory").is_none());
    }
}
