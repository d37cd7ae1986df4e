//! Integration tests: the real `cvm` binary on real files in temporary folders.
//! One test binary (modules below) so DataFusion is linked once.

mod support;

mod analysts;
mod architecture;
mod bad_input;
mod campaign_simulation;
mod cli;
#[cfg(feature = "ballista")]
mod cluster;
mod concurrency;
mod control_groups;
mod determinism;
mod docs;
mod exports;
mod faults;
mod file_failures;
mod formats;
mod fraud_model;
mod fraud_review;
mod generate;
mod golden;
mod hostile;
mod marketing;
mod model_refit;
mod models;
mod operations;
mod personal_data;
mod quality;
mod row_rules;
mod s3;
mod scale;
mod screening;
mod tier_migration;
mod upgrade;
