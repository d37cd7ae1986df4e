//! The actions of a Delta Lake log, as the protocol names them
//! (<https://github.com/delta-io/delta/blob/master/PROTOCOL.md>): one JSON
//! object per line of `_delta_log/<version>.json`, keyed by the action's
//! name. cvm writes protocol (reader 1, writer 2), metaData, add, remove and
//! commitInfo; it reads those and skips actions it does not use (txn,
//! domainMetadata, ...) as the protocol allows a writer of its version to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The reader and writer versions cvm writes, and the highest it accepts in
/// a table it appends to: no table features (deletion vectors, column
/// mapping, ...), so every Delta reader of the last years can read it.
pub const READER_VERSION: i32 = 1;
pub const WRITER_VERSION: i32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    pub min_reader_version: i32,
    pub min_writer_version: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub format: Format,
    /// The table's schema, Spark's StructType as JSON ([`super::schema`]).
    pub schema_string: String,
    pub partition_columns: Vec<String>,
    #[serde(default)]
    pub configuration: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Format {
    pub provider: String,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// A data file that becomes part of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Add {
    /// Relative to the table's folder, percent-encoded ([`encode_path`]).
    pub path: String,
    pub partition_values: BTreeMap<String, Option<String>>,
    pub size: i64,
    /// Milliseconds since the epoch.
    pub modification_time: i64,
    pub data_change: bool,
    /// numRecords, minValues, maxValues, nullCount as a JSON string ([`super::stats`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
}

/// A data file that stops being part of the table. The file itself stays
/// until the retention window has passed ([`super::vacuum`]): readers of
/// earlier versions still read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remove {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<i64>,
    pub data_change: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_file_metadata: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_values: Option<BTreeMap<String, Option<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

impl Add {
    /// The remove action that takes this file out of the table at `now_ms`.
    pub fn removed_at(&self, now_ms: i64) -> Remove {
        Remove {
            path: self.path.clone(),
            deletion_timestamp: Some(now_ms),
            data_change: true,
            extended_file_metadata: Some(true),
            partition_values: Some(self.partition_values.clone()),
            size: Some(self.size),
        }
    }
}

/// One line of a commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    CommitInfo(Value),
    Protocol(Protocol),
    MetaData(Metadata),
    Add(Add),
    Remove(Remove),
    /// An action cvm does not use (txn, domainMetadata, cdc, ...), by name.
    Other(String),
}

impl Action {
    pub fn to_line(&self) -> String {
        let (key, value) = match self {
            Action::CommitInfo(v) => ("commitInfo", v.clone()),
            Action::Protocol(p) => ("protocol", serde_json::to_value(p).expect("serialises")),
            Action::MetaData(m) => ("metaData", serde_json::to_value(m).expect("serialises")),
            Action::Add(a) => ("add", serde_json::to_value(a).expect("serialises")),
            Action::Remove(r) => ("remove", serde_json::to_value(r).expect("serialises")),
            Action::Other(name) => unreachable!("cvm never writes a {name} action"),
        };
        serde_json::json!({ key: value }).to_string()
    }

    pub fn from_line(line: &str) -> Result<Action, String> {
        let object: BTreeMap<String, Value> = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let mut entries = object.into_iter();
        let (Some((key, value)), None) = (entries.next(), entries.next()) else {
            return Err("an action line holds exactly one action".into());
        };
        let parsed = match key.as_str() {
            "commitInfo" => Action::CommitInfo(value),
            "protocol" => Action::Protocol(serde_json::from_value(value).map_err(|e| format!("protocol: {e}"))?),
            "metaData" => Action::MetaData(serde_json::from_value(value).map_err(|e| format!("metaData: {e}"))?),
            "add" => Action::Add(serde_json::from_value(value).map_err(|e| format!("add: {e}"))?),
            "remove" => Action::Remove(serde_json::from_value(value).map_err(|e| format!("remove: {e}"))?),
            _ => Action::Other(key),
        };
        Ok(parsed)
    }
}

/// A table-relative path as the protocol stores it: a URI path, so
/// characters outside the unreserved set (and `/`, `=`) are percent-encoded.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/=".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The inverse of [`encode_path`] (any percent-encoding other writers used).
pub fn decode_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_their_lines() {
        let add = Add {
            path: "snapshot_date=2026-11-22/part-r-00000.parquet".into(),
            partition_values: BTreeMap::from([("snapshot_date".into(), Some("2026-11-22".into()))]),
            size: 1234,
            modification_time: 1_764_000_000_000,
            data_change: true,
            stats: Some(r#"{"numRecords":3}"#.into()),
        };
        let line = Action::Add(add.clone()).to_line();
        assert!(
            line.starts_with(r#"{"add":{"#) && line.contains(r#""partitionValues":{"snapshot_date":"2026-11-22"}"#)
        );
        assert_eq!(Action::from_line(&line).unwrap(), Action::Add(add.clone()));
        let remove = add.removed_at(5);
        assert!(Action::Remove(remove).to_line().contains(r#""deletionTimestamp":5"#));
        assert_eq!(Action::from_line(r#"{"txn":{"appId":"x","version":1}}"#).unwrap(), Action::Other("txn".into()));
        assert!(Action::from_line(r#"{"add":{}, "remove":{}}"#).is_err());
    }

    #[test]
    fn paths_are_uri_encoded_and_decoded() {
        assert_eq!(encode_path("campaign=a b/part-1.parquet"), "campaign=a%20b/part-1.parquet");
        assert_eq!(decode_path("campaign=a%20b/part-1.parquet"), "campaign=a b/part-1.parquet");
        assert_eq!(decode_path("x%2"), "x%2");
        let plain = "snapshot_date=2026-11-22/part-20261122T010203Z-0badf00d-00000.parquet";
        assert_eq!(encode_path(plain), plain);
    }
}
