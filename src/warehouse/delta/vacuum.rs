//! Deleting files no reader can need any more. A file a commit removes
//! stays for the retention window (`publish.retention_hours`): a query that
//! started before the commit still reads it, and readers can travel back
//! to earlier versions within the window. After it, the file is deleted.
//!
//! Only files the log removed are deleted here. A file no version names
//! (moved into place by a run that never committed) belongs to a run in
//! flight or to a dead one; [`crate::run::publish::sweep_leftovers`] tells which.

use chrono::{Duration, Utc};
use object_store::ObjectStoreExt;

use super::LOG_FOLDER;
use super::error::DeltaError;
use super::log::{TableLog, TableState};

/// Deletes the table's files removed more than `retention` ago; returns how many.
pub async fn vacuum(log: &TableLog, retention: Duration) -> Result<usize, DeltaError> {
    vacuum_at(log, &log.state(None).await?, retention).await
}

/// [`vacuum`] with the table's latest state already at hand (just committed).
pub async fn vacuum_at(log: &TableLog, state: &TableState, retention: Duration) -> Result<usize, DeltaError> {
    if state.version.is_none() {
        return Ok(0);
    }
    let cutoff = (Utc::now() - retention).timestamp_millis();
    let root = log.root.as_ref().to_string();
    let mut deleted = 0;
    for meta in log.location.list_under(&log.root).await? {
        let relative = meta.location.as_ref().strip_prefix(root.as_str()).unwrap_or_default().trim_start_matches('/');
        if relative.starts_with(LOG_FOLDER) || state.files.contains_key(relative) {
            continue;
        }
        // a removed file whose removal has no time is treated as just removed
        let expired = state.removed.get(relative).is_some_and(|r| r.deletion_timestamp.is_some_and(|t| t < cutoff));
        if !expired {
            continue;
        }
        match log.location.store.delete(&meta.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
            Err(source) => {
                return Err(
                    crate::storage::StorageError { url: log.location.url.url_of(&meta.location), source }.into()
                );
            }
        }
    }
    if deleted > 0 {
        tracing::info!(table = log.table, files = deleted, "vacuumed files removed before the retention window");
    }
    Ok(deleted)
}
