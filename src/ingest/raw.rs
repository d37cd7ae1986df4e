//! Reading extracts into raw rows: every contract column as text, plus where
//! each row came from.
//!
//! DataFusion's CSV reader stops at the first bad value and knows no line
//! numbers, so cvm parses extracts itself and lets the staging SQL judge the
//! values. Each row keeps `_file`, `_row` (the line number in the
//! decompressed file, header = line 1; for Parquet the 1-based row), `_raw`
//! (the record as read, personal fields redacted) and `_parse_error` (a rule
//! name when the record itself is broken, e.g. `field_count_mismatch`).

use std::io::Read;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, DictionaryArray, Int32Array, Int64Builder, RecordBatch, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};

use crate::contract::{self, Column, SourceKind};
use crate::job::{Compression, Format, Source};

/// Rows per raw batch.
pub const BATCH_ROWS: usize = 32 * 1024;
/// What a personal value is replaced with in `_raw`.
pub const REDACTED: &str = "<redacted>";

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

/// The schema of a source's raw table.
pub fn raw_schema(kind: SourceKind) -> SchemaRef {
    let mut fields = vec![
        // one value per file: a dictionary keeps it to one string per batch
        Field::new("_file", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), false),
        Field::new("_row", DataType::Int64, false),
        Field::new("_raw", DataType::Utf8, true),
        Field::new("_parse_error", DataType::Utf8, true),
    ];
    fields.extend(contract::staged_columns(kind).map(|c| Field::new(c.name, DataType::Utf8, true)));
    Arc::new(Schema::new(fields))
}

/// Accumulates raw rows into batches.
struct BatchBuilder {
    schema: SchemaRef,
    file: String,
    rows: Int64Builder,
    raw: StringBuilder,
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
            raw: StringBuilder::new(),
            parse_error: StringBuilder::new(),
            values: (0..n).map(|_| StringBuilder::new()).collect(),
            len: 0,
        }
    }

    /// Adds one row; `values` in staged-column order.
    fn push<'a>(
        &mut self,
        row: i64,
        raw: &str,
        parse_error: Option<&str>,
        values: impl Iterator<Item = Option<&'a str>>,
    ) {
        self.rows.append_value(row);
        self.raw.append_value(raw);
        self.parse_error.append_option(parse_error);
        for (builder, value) in self.values.iter_mut().zip(values) {
            builder.append_option(value);
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
            // one value per file: a dictionary keeps it to one string per batch
            Arc::new(DictionaryArray::<Int32Type>::new(
                Int32Array::from(vec![0; n]),
                Arc::new(StringArray::from(vec![self.file.as_str()])),
            )),
            Arc::new(self.rows.finish()),
            Arc::new(self.raw.finish()),
            Arc::new(self.parse_error.finish()),
        ];
        columns.extend(self.values.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        Some(RecordBatch::try_new(self.schema.clone(), columns).expect("raw batch matches its schema"))
    }
}

/// Reads one extract file and hands its raw batches to `emit`.
/// `file` is the URL used in messages and in the `_file` column.
pub fn read_file(
    source: &Source,
    file: &str,
    bytes: bytes::Bytes,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<(), FileError> {
    let schema = raw_schema(source.kind);
    match source.format {
        Format::Csv => {
            let reader = LineLimit::new(decompress(source.compression, file, bytes)?, source);
            read_csv(source, file, Box::new(reader), schema, emit)
        }
        Format::Ndjson => {
            let reader = LineLimit::new(decompress(source.compression, file, bytes)?, source);
            read_ndjson(source, file, Box::new(reader), schema, emit)
        }
        Format::Parquet => read_parquet(source, file, bytes, schema, emit),
    }
}

/// How much of a text extract `cvm validate` reads to find its header.
pub const HEADER_PREFIX_BYTES: u64 = 256 * 1024;

/// Checks that a text extract (CSV, NDJSON) opens and, for CSV, that its
/// header has every required column. `prefix` is the start of the file:
/// only the first record is decoded.
pub fn check_text_header(source: &Source, file: &str, prefix: bytes::Bytes) -> Result<(), FileError> {
    let mut reader = decompress(source.compression, file, prefix)?;
    match source.format {
        Format::Csv => {
            let mut csv = csv_reader(source, reader);
            let header = read_header(&mut csv, file)?;
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

fn decompress(compression: Compression, file: &str, bytes: bytes::Bytes) -> Result<Box<dyn Read + Send>, FileError> {
    let by_name = file.rsplit('/').next().unwrap_or(file).to_ascii_lowercase();
    let compression = match compression {
        Compression::Auto if by_name.ends_with(".gz") || by_name.ends_with(".gzip") => Compression::Gzip,
        Compression::Auto if by_name.ends_with(".zst") || by_name.ends_with(".zstd") => Compression::Zstd,
        Compression::Auto => Compression::None,
        other => other,
    };
    let plain = std::io::Cursor::new(bytes);
    Ok(match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(plain)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(plain).map_err(|e| unreadable(file, e))?),
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
        for chunk in buf[..n].split_inclusive(|b| *b == b'\n') {
            self.in_line += chunk.len() as u64;
            let ends_line = chunk.last() == Some(&b'\n');
            // the line break itself does not count
            if self.in_line - u64::from(ends_line) > self.limit {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "line {} is longer than {} bytes, the limit ({}); the file is not read further",
                        self.line, self.limit, self.key
                    ),
                ));
            }
            if ends_line {
                self.line += 1;
                self.in_line = 0;
            }
        }
        Ok(n)
    }
}

fn csv_reader(source: &Source, reader: Box<dyn Read + Send>) -> csv::Reader<Box<dyn Read + Send>> {
    csv::ReaderBuilder::new()
        .delimiter(source.delimiter)
        .quote(source.quote)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader)
}

fn read_header(csv: &mut csv::Reader<Box<dyn Read + Send>>, file: &str) -> Result<Vec<String>, FileError> {
    let mut record = csv::ByteRecord::new();
    match csv.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return Err(unreadable(file, "empty file: no header row")),
        Err(e) => return Err(unreadable(file, e)),
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

/// Where each staged contract column sits in the extract, and which
/// positions hold personal data.
struct ColumnIndexes {
    staged: Vec<Option<usize>>,
    personal: Vec<usize>,
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
    let personal = contract::columns(source.kind).iter().filter(|c| c.personal).filter_map(position).collect();
    Ok(ColumnIndexes { staged, personal })
}

fn read_csv(
    source: &Source,
    file: &str,
    reader: Box<dyn Read + Send>,
    schema: SchemaRef,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<(), FileError> {
    let mut csv = csv_reader(source, reader);
    let header = read_header(&mut csv, file)?;
    let indexes = column_indexes(source, file, &header)?;
    let is_null = |v: &str| source.null_markers.iter().any(|m| m == v);
    let mut batch = BatchBuilder::new(schema, file);
    let mut record = csv::ByteRecord::new();
    let mut lossy: Vec<String> = Vec::new();
    let mut raw = String::new();
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
        // fields borrow from the record's buffer: no allocation per field
        let text = std::str::from_utf8(record.as_slice());
        if text.is_err() {
            lossy = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
        }
        let field = |i: usize| -> &str {
            match &text {
                Ok(t) => record.range(i).map(|r| &t[r]).unwrap_or(""),
                Err(_) => lossy[i].as_str(),
            }
        };
        let parse_error = if record.len() != header.len() {
            Some("field_count_mismatch")
        } else if text.is_err() {
            Some("invalid_utf8")
        } else {
            None
        };
        raw.clear();
        if parse_error == Some("field_count_mismatch") {
            // its fields are shifted: personal data may sit in any column, so keep its shape only
            raw.push_str(&format!(
                "<{} fields, {} bytes of values; the header has {}>",
                record.len(),
                record.as_slice().len(),
                header.len()
            ));
        } else {
            for i in 0..record.len() {
                if i > 0 {
                    raw.push(source.delimiter as char);
                }
                let value = field(i);
                let value = if !value.is_empty() && indexes.personal.contains(&i) { REDACTED } else { value };
                push_csv_field(&mut raw, value, source.delimiter as char, source.quote as char);
            }
        }
        let values = indexes.staged.iter().map(|index| match (parse_error, index) {
            (None, Some(i)) => Some(field(*i)).filter(|v| !is_null(v)),
            _ => None,
        });
        batch.push(line, &raw, parse_error, values);
        if !batch.emit_if_full(emit) {
            return Ok(()); // the consumer has gone
        }
    }
    if let Some(b) = batch.finish() {
        emit(b);
    }
    Ok(())
}

fn push_csv_field(out: &mut String, value: &str, delimiter: char, quote: char) {
    if value.contains([delimiter, quote, '\n', '\r']) {
        out.push(quote);
        for c in value.chars() {
            if c == quote {
                out.push(quote);
            }
            out.push(c);
        }
        out.push(quote);
    } else {
        out.push_str(value);
    }
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
    let personal: Vec<&str> =
        contract::columns(source.kind).iter().filter(|c| c.personal).map(|c| source.source_column(c.name)).collect();
    let is_null = |v: &str| source.null_markers.iter().any(|m| m == v);
    let mut batch = BatchBuilder::new(schema, file);
    for (i, line) in std::io::BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(|e| unreadable(file, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let row = i as i64 + 1;
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&line) {
            Ok(mut object) => {
                let values: Vec<Option<String>> = staged
                    .iter()
                    .map(|key| match object.get(*key) {
                        None | Some(serde_json::Value::Null) => None,
                        Some(serde_json::Value::String(s)) => Some(s.trim().to_string()).filter(|v| !is_null(v)),
                        Some(other) => Some(other.to_string()),
                    })
                    .collect();
                for key in &personal {
                    if let Some(v) = object.get_mut(*key).filter(|v| !v.is_null()) {
                        *v = serde_json::Value::String(REDACTED.into());
                    }
                }
                let raw = serde_json::Value::Object(object).to_string();
                batch.push(row, &raw, None, values.iter().map(|v| v.as_deref()));
            }
            Err(_) => {
                // the raw text may hold personal data we cannot locate: keep its shape only
                let raw = format!("<{} bytes of invalid JSON>", line.len());
                batch.push(row, &raw, Some("invalid_json"), staged.iter().map(|_| None));
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

/// Appends `text` as a JSON string, escaped the way serde_json escapes it.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = std::fmt::Write::write_fmt(out, format_args!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn parquet_builder(
    file: &str,
    bytes: bytes::Bytes,
) -> Result<datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder<bytes::Bytes>, FileError> {
    datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| unreadable(file, e))
}

fn read_parquet(
    source: &Source,
    file: &str,
    bytes: bytes::Bytes,
    schema: SchemaRef,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<(), FileError> {
    use datafusion::arrow::array::{Array, AsArray};
    let builder = parquet_builder(file, bytes)?;
    let names: Vec<String> = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let indexes = column_indexes(source, file, &names)?;
    let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(|e| unreadable(file, e))?;
    let mut batch = BatchBuilder::new(schema, file);
    let mut row: i64 = 0;
    // `_raw` is the row as a JSON object with its keys sorted (as serde_json
    // writes a map), built in one reused buffer: no allocation per value
    let mut sorted: Vec<usize> = (0..names.len()).collect();
    sorted.sort_by(|a, b| names[*a].cmp(&names[*b]));
    let mut raw = String::new();
    for input in reader {
        let input = input.map_err(|e| unreadable(file, e))?;
        // every column as text, the way a CSV extract would carry it
        let mut text: Vec<Option<ArrayRef>> = Vec::with_capacity(names.len());
        for column in input.columns() {
            let cast = datafusion::arrow::compute::cast(column, &DataType::Utf8).ok();
            text.push(cast);
        }
        for r in 0..input.num_rows() {
            row += 1;
            let value = |i: usize| -> Option<&str> {
                let array = text[i].as_ref()?;
                let strings = array.as_string::<i32>();
                (!strings.is_null(r)).then(|| strings.value(r).trim())
            };
            raw.clear();
            raw.push('{');
            for (k, &i) in sorted.iter().enumerate() {
                if k > 0 {
                    raw.push(',');
                }
                push_json_string(&mut raw, &names[i]);
                raw.push(':');
                match value(i) {
                    None => raw.push_str("null"),
                    Some(_) if indexes.personal.contains(&i) => push_json_string(&mut raw, REDACTED),
                    Some(s) => push_json_string(&mut raw, s),
                }
            }
            raw.push('}');
            batch.push(row, &raw, None, indexes.staged.iter().map(|i| i.and_then(value)));
            if !batch.emit_if_full(emit) {
                return Ok(()); // the consumer has gone
            }
        }
    }
    if let Some(b) = batch.finish() {
        emit(b);
    }
    Ok(())
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

    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        for text in ["plain", "quote \" and \\ backslash", "new\nline\ttab\r", "\u{1}\u{8}\u{c}\u{1f}", "é ü 中"] {
            let mut out = String::new();
            super::push_json_string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap());
        }
    }
}
