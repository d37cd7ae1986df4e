//! cvm: customer value management for telecom operators.
//!
//! Reads billing, usage (CDR), recharge and customer-service extracts from
//! object storage, checks them against the data contract, computes each
//! subscriber's ARPU, tenure and usage in DataFusion SQL (`sql/`), and writes
//! hive-partitioned Parquet to a warehouse. See README.md for the commands
//! and CONTRACT.md (in the project's shared docs) for every definition.

pub mod allocator;
pub mod backfill;
pub mod bench;
pub mod campaigns;
pub mod commit;
pub mod contract;
pub mod delta;
pub mod demo;
pub mod empty_groups;
pub mod engine;
pub mod exit;
pub mod fault;
pub mod generate;
pub mod ingest;
pub mod job;
pub mod lock;
pub mod logging;
pub mod manifest;
pub mod memory;
pub mod modelling;
pub mod models;
pub mod progress;
pub mod publish;
pub mod published_table;
pub mod query;
pub mod report;
pub mod rollback;
pub mod run;
pub mod run_staging;
pub mod schedule;
pub mod scratch;
pub mod sqlfiles;
pub mod status;
pub mod storage;
pub mod store_registry;
pub mod summary;
pub mod tables;
pub mod udf;
pub mod upgrade;
pub mod usage;
pub mod validate;
