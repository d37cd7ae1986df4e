//! The warehouse: Delta Lake tables (`delta`), the run record that makes a
//! run's tables visible together (`commit`), reading what is published
//! (`published_table`, `reader`), writing Parquet (`tables`), a run's staging
//! area (`staging`) and its manifest (`manifest`).

pub mod commit;
pub mod delta;
pub mod manifest;
pub mod published_table;
pub mod reader;
pub mod staging;
pub mod tables;
