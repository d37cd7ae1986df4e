//! cvm: customer value management for telecom operators.
//!
//! Reads billing, usage (CDR), recharge and customer-service extracts from
//! object storage, checks them against the data contract, computes each
//! subscriber's ARPU, tenure and usage in DataFusion SQL (`sql/`), and writes
//! Delta Lake tables to a warehouse. See README.md for the commands and
//! docs/contract.md for every definition.
//!
//! The folders are layers, and imports point down only (tests/it/architecture.rs
//! keeps it so; docs/architecture.md draws the map):
//!
//! | layer | what it does |
//! |---|---|
//! | `commands`, `generate` | the command line's commands, the synthetic landing |
//! | `run` | one night: lock, scratch, the stages in order, publish, roll back |
//! | `stages` | ingest, usage, models, campaigns, report |
//! | `warehouse` | Delta tables, the run record, manifests, reading what is published |
//! | `job` | the job file, validated into plain settings |
//! | `engine` | the DataFusion session (local or Ballista), cvm's SQL files and functions |
//! | `storage` | object-store URLs and the stores behind them |
//! | `contract`, `maths`, `observe` | the sources' shape, the models' maths, logs and memory |

pub mod commands;
pub mod contract;
pub mod engine;
pub mod generate;
pub mod job;
pub mod maths;
pub mod observe;
pub mod run;
pub mod stages;
pub mod storage;
pub mod warehouse;
