//! The stages of a run, in the order they run: `ingest` (extracts -> checked
//! staging tables and rejects), `usage` (usage_daily, folded in file by
//! file), `models` (the model step: fit, back-test, score), `tier_migration`
//! (the earlier snapshots customer_value is compared with), `campaigns`
//! (lists, control groups, effects) and `report` (the run's HTML page).
//! Each stage works through the engine and writes through the warehouse;
//! src/run sequences them.

pub mod campaigns;
#[cfg(feature = "ballista")]
pub mod cluster_codec;
pub mod ingest;
pub mod models;
pub mod params;
pub mod quality;
pub mod report;
pub mod screening;
pub mod session;
pub mod tier_migration;
pub mod usage;
