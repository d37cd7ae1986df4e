//! Exit codes, the contract with schedulers (cron, Airflow, Kubernetes).
//!
//! | code | meaning | what a scheduler should do |
//! |---|---|---|
//! | 0 | success | nothing |
//! | 1 | the run failed (unreadable input, engine or storage error) | retry later, then alert |
//! | 2 | bad job file or command line, or a warehouse to convert first (`cvm upgrade`) | alert; retrying cannot help |
//! | 3 | the data failed its checks: rejects over the job's threshold, or a source outside its `[quality]` band | alert the data owners; fix the extract, then re-run |
//! | 4 | another run of the same job and snapshot holds the lock | nothing: that run is doing the work (alert only if it persists) |

use crate::commands::backfill::BackfillError;
use crate::commands::bench::BenchError;
use crate::commands::demo::DemoError;
use crate::commands::query::QueryError;
use crate::commands::schedule::ScheduleError;
use crate::commands::status::StatusError;
use crate::commands::validate::ValidateError;
#[cfg(feature = "ballista")]
use crate::engine::cluster::ClusterError;
use crate::generate::GenerateError;
use crate::job::JobError;
use crate::run::RunError;
use crate::run::lock::LockError;
use crate::stages::campaigns::CampaignError;
use crate::stages::campaigns::export::ExportError;
use crate::stages::ingest::IngestError;
use crate::stages::report::ReportError;
use crate::storage::{StorageError, UrlError};
use crate::warehouse::commit::CommitError;

pub const SUCCESS: u8 = 0;
pub const RUN_FAILED: u8 = 1;
pub const BAD_USAGE: u8 = 2;
pub const BAD_DATA: u8 = 3;
pub const LOCKED: u8 = 4;

/// Why a command failed. `main` prints it once and exits with
/// [`CommandError::exit_code`], the one place an error becomes a code.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A bad command line: the message names the option and what is wrong.
    #[error("{0}")]
    Usage(String),
    /// A location given on the command line that cannot be used.
    #[error("{option}: {source}")]
    Location { option: String, source: Box<UrlError> },
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Demo(#[from] DemoError),
    #[error(transparent)]
    Backfill(#[from] BackfillError),
    #[error(transparent)]
    Validate(#[from] ValidateError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error(transparent)]
    Status(#[from] StatusError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error(transparent)]
    Bench(#[from] BenchError),
    #[error("{warehouse}: {source}")]
    Upgrade { warehouse: String, source: CommitError },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[cfg(feature = "ballista")]
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Usage(_) | CommandError::Location { .. } | CommandError::Job(_) => BAD_USAGE,
            CommandError::Run(e)
            | CommandError::Demo(DemoError::Run(e))
            | CommandError::Backfill(BackfillError::Run { source: e, .. }) => for_run_error(e),
            CommandError::Demo(DemoError::Generate { source, .. }) | CommandError::Generate(source)
                if source.is_usage() =>
            {
                BAD_USAGE
            }
            CommandError::Backfill(BackfillError::Range { .. }) => BAD_USAGE,
            CommandError::Schedule(e) if e.is_usage() => BAD_USAGE,
            CommandError::Export(e) if e.is_usage() => BAD_USAGE,
            CommandError::Query(QueryError::OutsideRoot(_)) => BAD_USAGE,
            _ => RUN_FAILED,
        }
    }
}

/// The exit code a failed run ends with.
fn for_run_error(error: &RunError) -> u8 {
    match error {
        RunError::Ingest(IngestError::OverThreshold { .. }) => BAD_DATA,
        RunError::Quality(_) => BAD_DATA,
        RunError::Export(e) if e.is_usage() => BAD_USAGE,
        RunError::Campaign(CampaignError::ReadsBeyondCustomerValue { .. }) => BAD_USAGE,
        RunError::Lock(LockError::Held { .. }) => LOCKED,
        RunError::Commit(CommitError::OldLayout { .. }) => BAD_USAGE,
        _ => RUN_FAILED,
    }
}
