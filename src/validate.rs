//! `cvm validate`: checks a job without running it: the job file, that
//! every SQL file plans against the contract's tables, and that every
//! source is reachable with a header that maps onto the contract. Writes nothing.

use serde::Serialize;

use crate::ingest::{self, IngestError};
use crate::job::Job;

/// What validation found per source.
#[derive(Debug, Serialize)]
pub struct SourceCheck {
    pub source: &'static str,
    pub url: String,
    pub files: usize,
}

/// Checks every source; stops at the first problem.
pub async fn validate(job: &Job) -> Result<Vec<SourceCheck>, IngestError> {
    let mut out = Vec::new();
    for source in &job.sources {
        let files = ingest::check_source(source).await?;
        out.push(SourceCheck { source: source.kind.name(), url: source.url.to_string(), files });
    }
    Ok(out)
}
