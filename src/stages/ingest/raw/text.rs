//! Text extracts (CSV, NDJSON) as raw rows: read as they stream in, every
//! value as text, broken records kept by their shape only.

use std::io::Read;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::SchemaRef;

use super::input::{LineLimit, decompress};
use super::{BATCH_ROWS, FileError, column_indexes, file_column, raw_schema, text_types, unreadable};
use crate::contract;
use crate::job::{Format, Source};

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
