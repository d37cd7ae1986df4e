//! `[sources.<name>]`: where each source's extracts are and how they are
//! read (format, compression, text layout, dates, limits, column names),
//! validated into the [`Source`]s ingest reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{JobError, parse_bytes};
use crate::contract::{self, SourceKind};
use crate::storage::StoreUrl;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceFile {
    path: Option<String>,
    enabled: Option<bool>,
    format: Option<String>,
    compression: Option<String>,
    delimiter: Option<String>,
    quote: Option<String>,
    null_markers: Option<Vec<String>>,
    date_format: Option<String>,
    timestamp_format: Option<String>,
    timezone: Option<String>,
    /// e.g. "16MiB": the longest line a text extract may have
    max_line_bytes: Option<toml::Value>,
    /// the most fields a CSV header may have
    max_fields: Option<usize>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
}

/// File format of a source's extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    Csv,
    Parquet,
    Ndjson,
}

/// Compression of text extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compression {
    /// By file extension: `.gz` gzip, `.zst` zstd, anything else none.
    Auto,
    None,
    Gzip,
    Zstd,
}

/// One input source as the job reads it (serializable: a cluster's scan
/// of its extracts carries it to the executors).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    pub enabled: bool,
    /// Folder (or single file) holding the source's extracts.
    pub url: StoreUrl,
    pub format: Format,
    pub compression: Compression,
    pub delimiter: u8,
    pub quote: u8,
    pub null_markers: Vec<String>,
    /// chrono format of dates; `iso` = `%Y-%m-%d`.
    pub date_format: String,
    /// chrono format of timestamps; `iso` = ISO 8601 / RFC 3339, offset optional.
    pub timestamp_format: String,
    /// Time zone of timestamps written without an offset (IANA name or `UTC`).
    pub timezone: String,
    /// Contract column -> column name in the extract.
    pub columns: BTreeMap<String, String>,
    /// The longest line (bytes between two line breaks, after decompression)
    /// a CSV or NDJSON extract may have: a longer one fails the file, so a
    /// broken or hostile file cannot hold the run's memory.
    pub max_line_bytes: u64,
    /// The most columns a CSV header may have: a wider header fails the file
    /// (a row with more fields than its header is a `field_count_mismatch`).
    pub max_fields: usize,
}

/// `max_fields` when the job sets none: a real extract has tens of columns.
pub const DEFAULT_MAX_FIELDS: usize = 1000;

/// `max_line_bytes` when the job sets none: far above any real extract's line
/// (a CDR row is a few hundred bytes), far below what would strain memory.
pub const DEFAULT_MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;

impl Source {
    /// The extract's name for a contract column.
    pub fn source_column<'a>(&'a self, contract_column: &'a str) -> &'a str {
        self.columns.get(contract_column).map(String::as_str).unwrap_or(contract_column)
    }
}

use super::Invalid;

/// Every `[sources.<name>]` names a source of the contract.
pub(super) fn check_names(files: &BTreeMap<String, SourceFile>, invalid: Invalid) -> Result<(), JobError> {
    for name in files.keys() {
        if SourceKind::from_name(name).is_none() {
            return Err(invalid(
                &format!("sources.{name}"),
                format!("unknown source; the contract's sources are {}", SourceKind::names().join(", ")),
            ));
        }
    }
    Ok(())
}

/// Every source of the contract, in its order, with the defaults of those the job leaves out.
pub(super) fn validate_all(
    mut files: BTreeMap<String, SourceFile>,
    input_root: &StoreUrl,
    invalid: Invalid,
) -> Result<Vec<Source>, JobError> {
    let mut sources = Vec::new();
    for kind in SourceKind::ALL {
        let spec = files.remove(kind.name()).unwrap_or_default();
        sources.push(validate_source(kind, spec, input_root, invalid)?);
    }
    Ok(sources)
}

fn validate_source(
    kind: SourceKind,
    spec: SourceFile,
    input_root: &StoreUrl,
    invalid: Invalid,
) -> Result<Source, JobError> {
    let key = |k: &str| format!("sources.{}.{k}", kind.name());
    let enabled = spec.enabled.unwrap_or(true);
    if !enabled && kind.required() {
        return Err(invalid(&key("enabled"), format!("{} is a required source and cannot be disabled", kind.name())));
    }
    let rel = spec.path.unwrap_or_else(|| format!("{}/", kind.name()));
    let url = input_root.join(&rel).map_err(|e| invalid(&key("path"), e.to_string()))?;
    let format = parse_format(spec.format.as_deref().unwrap_or("csv")).map_err(|m| invalid(&key("format"), m))?;
    let compression = parse_compression(spec.compression.as_deref().unwrap_or("auto"))
        .map_err(|m| invalid(&key("compression"), m))?;
    let delimiter = single_byte(spec.delimiter.as_deref().unwrap_or(",")).ok_or_else(|| {
        invalid(&key("delimiter"), "must be exactly one ASCII character (use \"\\t\" for tab)".into())
    })?;
    let quote = single_byte(spec.quote.as_deref().unwrap_or("\""))
        .ok_or_else(|| invalid(&key("quote"), "must be exactly one ASCII character".into()))?;
    if quote == delimiter {
        return Err(invalid(&key("quote"), "must differ from the delimiter".into()));
    }
    let null_markers = spec.null_markers.unwrap_or_else(|| vec![String::new(), "NULL".into(), "\\N".into()]);
    let date_format = spec.date_format.unwrap_or_else(|| "iso".into());
    check_chrono_format(&date_format).map_err(|m| invalid(&key("date_format"), m))?;
    let timestamp_format = spec.timestamp_format.unwrap_or_else(|| "iso".into());
    check_chrono_format(&timestamp_format).map_err(|m| invalid(&key("timestamp_format"), m))?;
    let timezone = spec.timezone.unwrap_or_else(|| "UTC".into());
    check_timezone(&timezone).map_err(|m| invalid(&key("timezone"), m))?;
    let max_line_bytes =
        max_line_bytes(spec.max_line_bytes.as_ref()).map_err(|m| invalid(&key("max_line_bytes"), m))?;
    let max_fields = max_fields(kind, spec.max_fields).map_err(|m| invalid(&key("max_fields"), m))?;
    check_columns(kind, &spec.columns, invalid)?;
    Ok(Source {
        kind,
        enabled,
        url,
        format,
        compression,
        delimiter,
        quote,
        null_markers,
        date_format,
        timestamp_format,
        timezone,
        columns: spec.columns,
        max_line_bytes,
        max_fields,
    })
}

fn parse_format(text: &str) -> Result<Format, String> {
    match text {
        "csv" => Ok(Format::Csv),
        "parquet" => Ok(Format::Parquet),
        "ndjson" | "json" => Ok(Format::Ndjson),
        other => Err(format!("'{other}' is not one of csv, parquet, ndjson")),
    }
}

fn parse_compression(text: &str) -> Result<Compression, String> {
    match text {
        "auto" => Ok(Compression::Auto),
        "none" => Ok(Compression::None),
        "gzip" | "gz" => Ok(Compression::Gzip),
        "zstd" | "zst" => Ok(Compression::Zstd),
        other => Err(format!("'{other}' is not one of auto, none, gzip, zstd")),
    }
}

fn single_byte(s: &str) -> Option<u8> {
    let s = if s == "\\t" { "\t" } else { s };
    (s.len() == 1 && s.is_ascii()).then(|| s.as_bytes()[0])
}

/// Rejects chrono format strings with unknown specifiers up front.
fn check_chrono_format(format: &str) -> Result<(), String> {
    if format == "iso" {
        return Ok(());
    }
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!("'{format}' is not a valid chrono format (or 'iso')"));
    }
    Ok(())
}

fn check_timezone(timezone: &str) -> Result<(), String> {
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(format!("'{timezone}' is not an IANA time zone name (e.g. UTC, Europe/Paris)"));
    }
    Ok(())
}

/// The job's line limit (at least 1KiB), or the default.
fn max_line_bytes(value: Option<&toml::Value>) -> Result<u64, String> {
    let max_line_bytes = match value {
        Some(value) => parse_bytes(value)?,
        None => DEFAULT_MAX_LINE_BYTES,
    };
    if max_line_bytes < 1024 {
        return Err(format!("{max_line_bytes} bytes is below the least, 1KiB"));
    }
    Ok(max_line_bytes)
}

/// The job's header width limit (at least the contract's columns), or the default.
fn max_fields(kind: SourceKind, value: Option<usize>) -> Result<usize, String> {
    let max_fields = value.unwrap_or(DEFAULT_MAX_FIELDS);
    if max_fields < contract::columns(kind).len() {
        return Err(format!("{max_fields} is below the {} columns of the contract", contract::columns(kind).len()));
    }
    Ok(max_fields)
}

/// Every renamed column is a column of the contract, renamed to a non-empty name.
fn check_columns(kind: SourceKind, columns: &BTreeMap<String, String>, invalid: Invalid) -> Result<(), JobError> {
    let known = contract::columns(kind);
    for (contract_column, source_column) in columns {
        if !known.iter().any(|c| c.name == contract_column) {
            let names: Vec<&str> = known.iter().map(|c| c.name).collect();
            return Err(invalid(
                &format!("sources.{}.columns.{contract_column}", kind.name()),
                format!("not a column of {} (its columns: {})", kind.name(), names.join(", ")),
            ));
        }
        if source_column.trim().is_empty() {
            return Err(invalid(
                &format!("sources.{}.columns.{contract_column}", kind.name()),
                "empty column name".into(),
            ));
        }
    }
    Ok(())
}
