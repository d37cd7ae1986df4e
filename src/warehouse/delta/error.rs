//! The Delta layer's errors: what went wrong reading or writing a table's
//! log, and the one conflict a publish must catch.

use super::actions::{READER_VERSION, WRITER_VERSION};
use crate::storage::StorageError;

/// Why a table's log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{url}: not a Delta Lake commit cvm can read: {message}")]
    Corrupt { url: String, message: String },
    #[error(
        "{table}: the Delta table needs reader version {reader} and writer version {writer} (table features); \
         cvm writes versions {READER_VERSION} and {WRITER_VERSION} only and will not append to it"
    )]
    Unsupported { table: String, reader: i32, writer: i32 },
    #[error(
        "{table}: the log has no version {missing} and no checkpoint after it to start from \
         (a version deleted, or a checkpoint in a format cvm does not read)"
    )]
    Incomplete { table: String, missing: u64 },
    #[error("{table}: {message}")]
    Invalid { table: String, message: String },
    #[error(transparent)]
    Conflict(#[from] Conflict),
}

/// Another writer changed a partition this run replaces after the run read it.
#[derive(Debug, thiserror::Error)]
#[error(
    "{table} {partition} was changed by version {version} of its Delta log ({by}) after this run read the table; \
     publishing would lose what that run wrote, so nothing of this run is published: run it again"
)]
pub struct Conflict {
    pub table: String,
    pub partition: String,
    pub version: u64,
    pub by: String,
}
