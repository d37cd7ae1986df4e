//! Every table cvm publishes is a Delta Lake table at `<warehouse>/<table>/`:
//! hive-partitioned Parquet files plus the log `_delta_log/<version>.json`
//! that says which files make up each version. Any Delta reader (Spark,
//! Trino, DuckDB's delta extension, delta-rs and the Python `deltalake`
//! package, Polars) reads it, and can read an earlier version (time travel).
//!
//! cvm writes the protocol's first reader and second writer versions (no
//! table features) itself, with the object store it already uses: a commit
//! is `<version>.json` created only if absent, the primitive every store cvm
//! supports makes atomic (one winner). Why not through delta-rs: its crate
//! adds about 50 crates (a second HTTP client, a C build of a TLS library)
//! and a third to a newcomer's first build, and without its DataFusion
//! feature it does not detect a concurrent write into a partition being
//! replaced, which is the conflict cvm must catch ([`transaction`]).
//!
//! The modules: [`actions`] (the log's lines), [`error`] (what can go wrong), [`schema`] and [`stats`]
//! (what an add action says of its file), [`log`] (reading a table's state
//! at a version, writing a commit), [`transaction`] (replacing partitions,
//! with conflict detection), [`vacuum`] (deleting replaced files once no
//! reader can need them), [`checkpoint`] (the table's state in one Parquet
//! file every ten versions, so that opening it reads a few files, not all:
//! its format; [`log`] writes and reads it).

pub mod actions;
pub mod checkpoint;
pub mod error;
pub mod log;
pub mod schema;
pub mod stats;
#[cfg(test)]
pub(crate) mod testing;
pub mod transaction;
pub mod vacuum;

pub use error::{Conflict, DeltaError};
pub use log::{LogListing, TableLog, TableState};
pub use transaction::TableChange;

/// The folder of a table's log.
pub const LOG_FOLDER: &str = "_delta_log";
