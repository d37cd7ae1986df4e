//! `cvm demo`: the nightly job on a generated base big enough for the
//! models to show what they do. It writes a landing with `cvm generate`
//! (a few thousand lines, months of CDR, the same every time) where the
//! job's `input_root` points, then runs the job on it as `cvm run` does.
//!
//! ```text
//! cargo run -- demo                        # jobs/generated.toml, 3,000 lines, 180 days
//! cargo run -- demo --subscribers 20000
//! ```
//!
//! The hand-made fixtures (jobs/demo.toml) stay what the golden tests check
//! by hand; they are 28 lines, too few to fit a churn or retention model.

use chrono::NaiveDate;

use crate::generate::{self, GenerateError};
use crate::job::Job;
use crate::run::{self, RunError, RunSummary};

/// What to generate before the run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub subscribers: u64,
    pub days: u32,
    pub as_of: NaiveDate,
    pub seed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("generating the demo landing at {url}: {source}")]
    Generate { url: String, source: GenerateError },
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Generates the landing at the job's input root, then runs the job for `as_of`.
pub async fn demo(job: &Job, options: &DemoOptions) -> Result<(generate::Summary, RunSummary), DemoError> {
    let generation = generate::Options {
        seed: options.seed,
        ..generate::Options::new(options.subscribers, options.days, options.as_of, job.input_root.clone())
    };
    let summary = generate::generate(&generation)
        .await
        .map_err(|source| DemoError::Generate { url: job.input_root.to_string(), source })?;
    let published = run::run(job, options.as_of).await?;
    Ok((summary, published))
}
