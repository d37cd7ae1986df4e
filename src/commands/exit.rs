//! Exit codes, the contract with schedulers (cron, Airflow, Kubernetes).
//!
//! | code | meaning | what a scheduler should do |
//! |---|---|---|
//! | 0 | success | nothing |
//! | 1 | the run failed (unreadable input, engine or storage error) | retry later, then alert |
//! | 2 | bad job file or command line, or a warehouse to convert first (`cvm upgrade`) | alert; retrying cannot help |
//! | 3 | rejects over the job's threshold | alert the data owners; fix the extract, then re-run |
//! | 4 | another run of the same job and snapshot holds the lock | nothing: that run is doing the work (alert only if it persists) |

use std::process::ExitCode;

use crate::run::RunError;
use crate::run::lock::LockError;
use crate::stages::campaigns::CampaignError;
use crate::stages::ingest::IngestError;
use crate::warehouse::commit::CommitError;

pub const SUCCESS: u8 = 0;
pub const RUN_FAILED: u8 = 1;
pub const BAD_USAGE: u8 = 2;
pub const REJECTS_OVER_THRESHOLD: u8 = 3;
pub const LOCKED: u8 = 4;

/// The exit code a failed run ends with.
pub fn for_run_error(error: &RunError) -> u8 {
    match error {
        RunError::Ingest(IngestError::OverThreshold { .. }) => REJECTS_OVER_THRESHOLD,
        RunError::Export(e) if e.is_usage() => BAD_USAGE,
        RunError::Campaign(CampaignError::ReadsBeyondCustomerValue { .. }) => BAD_USAGE,
        RunError::Lock(LockError::Held { .. }) => LOCKED,
        RunError::Commit(CommitError::OldLayout { .. }) => BAD_USAGE,
        _ => RUN_FAILED,
    }
}

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
