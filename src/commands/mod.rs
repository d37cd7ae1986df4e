//! The commands other than `cvm run` itself: each a thin layer over the run,
//! the warehouse and the engine below it (src/main.rs parses the command
//! line `cli` defines and calls them). `exit` maps every error to the exit
//! code schedulers see.

pub mod backfill;
pub mod bench;
pub mod cli;
pub mod demo;
pub mod exit;
pub mod query;
pub mod schedule;
pub mod status;
pub mod summary;
pub mod upgrade;
pub mod validate;
