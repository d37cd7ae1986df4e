//! One run per job and snapshot at a time: a lock object
//! `_locks/<job>/snapshot_date=T.lock`, created only if absent (atomic on
//! every store cvm supports), deleted when the run ends.
//!
//! A run killed outright leaves its lock behind. The lock is stale, and the
//! next run takes it over, when it has expired (`expires_at`, from the job's
//! `[publish] lock_ttl_minutes`) or when its holder ran on this host and that
//! process is gone. Taking over is itself a create-if-absent of a breaker
//! object named after the stale holder, so of several runs that find the
//! same stale lock exactly one takes it over; the others are refused as if
//! the lock were live.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::storage::{Location, StorageError};

pub const LOCKS: &str = "_locks";

/// What a lock object says about its holder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockRecord {
    pub run_id: String,
    pub job: String,
    pub snapshot_date: NaiveDate,
    pub host: String,
    pub pid: u32,
    pub acquired_at: String,
    pub expires_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another run holds the lock {url}: run {} on {} (pid {}) since {}, until {} at the latest; \
         this run did nothing",
        holder.run_id, holder.host, holder.pid, holder.acquired_at, holder.expires_at
    )]
    Held { url: String, holder: Box<LockRecord> },
    #[error("the lock {url} is not a cvm lock ({message}); delete it if no run is in progress")]
    Unreadable { url: String, message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A held lock; [`SnapshotLock::release`] deletes it.
pub struct SnapshotLock {
    location: Location,
    path: Path,
    pub record: LockRecord,
    /// The run whose stale lock this one replaced, if any: its leftovers can go.
    pub took_over_from: Option<String>,
}

fn lock_path(location: &Location, job: &str, snapshot: NaiveDate) -> Path {
    location.url.store_path().join(LOCKS).join(job).join(format!("snapshot_date={snapshot}.lock").as_str())
}

/// This machine's name, as the lock records it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

impl LockRecord {
    /// Whether the holder can no longer be running: expired, or a process of
    /// this host that is gone. (Elsewhere only expiry can tell.)
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        let expired = DateTime::parse_from_rfc3339(&self.expires_at).map(|t| t < now).unwrap_or(true);
        expired || (self.host == host_name() && !process_alive(self.pid))
    }
}

fn process_alive(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true; // no /proc: cannot tell, trust expiry
    }
    // a killed process not yet reaped by its parent is a zombie: gone for us
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

async fn read(location: &Location, path: &Path) -> Result<Option<LockRecord>, LockError> {
    let url = location.url.url_of(path);
    match location.store.get(path).await {
        Ok(got) => {
            let bytes = got.bytes().await.map_err(|source| StorageError { url: url.clone(), source })?;
            serde_json::from_slice(&bytes).map(Some).map_err(|e| LockError::Unreadable { url, message: e.to_string() })
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(source) => Err(StorageError { url, source }.into()),
    }
}

/// Takes the lock of `job` and `snapshot` for `run_id`, or says who holds it.
pub async fn acquire(
    location: &Location,
    job: &str,
    snapshot: NaiveDate,
    run_id: &str,
    ttl: Duration,
) -> Result<SnapshotLock, LockError> {
    let path = lock_path(location, job, snapshot);
    let url = location.url.url_of(&path);
    for _ in 0..3 {
        let now = Utc::now();
        let record = LockRecord {
            run_id: run_id.to_string(),
            job: job.to_string(),
            snapshot_date: snapshot,
            host: host_name(),
            pid: std::process::id(),
            acquired_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            expires_at: (now + ttl).to_rfc3339_opts(SecondsFormat::Secs, true),
        };
        let body = bytes::Bytes::from(serde_json::to_vec_pretty(&record).expect("a lock serialises"));
        if location.create_if_absent(&path, body.clone()).await? {
            return Ok(SnapshotLock { location: location.clone(), path, record, took_over_from: None });
        }
        let Some(holder) = read(location, &path).await? else {
            continue; // released in between: try again
        };
        if !holder.is_stale(now) {
            return Err(LockError::Held { url, holder: Box::new(holder) });
        }
        // one breaker per stale holder: whoever creates it removes the stale lock
        let breaker =
            location.url.store_path().join(LOCKS).join(job).join(format!("{}.broken", holder.run_id).as_str());
        if !location.create_if_absent(&breaker, run_id.as_bytes().to_vec().into()).await? {
            return Err(LockError::Held { url, holder: Box::new(holder) });
        }
        // the lock may have changed hands since it was read: only replace the
        // stale one. Replaced in place, not deleted and created again: in
        // between, another run would find no lock and take it without
        // knowing whose it was
        if read(location, &path).await?.as_ref() == Some(&holder) {
            tracing::warn!(
                stale_run = holder.run_id,
                host = holder.host,
                pid = holder.pid,
                "taking over a stale lock (its run ended without releasing it)"
            );
            location.put_bytes(&path, body).await?;
            let took_over_from = Some(holder.run_id);
            return Ok(SnapshotLock { location: location.clone(), path, record, took_over_from });
        }
    }
    let holder = read(location, &path).await?;
    match holder {
        Some(holder) => Err(LockError::Held { url, holder: Box::new(holder) }),
        None => Err(LockError::Unreadable { url, message: "it kept changing hands".into() }),
    }
}

/// Every lock of the warehouse, live or stale (unreadable ones are skipped).
pub async fn all(location: &Location) -> Result<Vec<LockRecord>, StorageError> {
    let mut records = Vec::new();
    for meta in location.list_under(&location.url.store_path().join(LOCKS)).await? {
        if meta.location.as_ref().ends_with(".lock")
            && let Ok(Some(record)) = read(location, &meta.location).await
        {
            records.push(record);
        }
    }
    Ok(records)
}

/// The run ids of every lock that is live now (for sweeping leftovers of dead runs).
pub async fn live_holders(location: &Location) -> Result<Vec<String>, StorageError> {
    let now = Utc::now();
    Ok(all(location).await?.into_iter().filter(|r| !r.is_stale(now)).map(|r| r.run_id).collect())
}

impl SnapshotLock {
    /// Deletes the lock if it is still this run's.
    pub async fn release(self) {
        match read(&self.location, &self.path).await {
            Ok(Some(r)) if r.run_id == self.record.run_id => {
                if let Err(e) = self.location.store.delete(&self.path).await {
                    tracing::warn!("could not release the lock {}: {e}", self.location.url.url_of(&self.path));
                }
            }
            Ok(_) => tracing::warn!("the lock was taken over before this run released it"),
            Err(e) => tracing::warn!("could not read the lock to release it: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location() -> (tempfile::TempDir, Location) {
        let dir = tempfile::tempdir().unwrap();
        let url =
            crate::storage::StoreUrl::parse(&format!("{}/", dir.path().display()), std::path::Path::new("/")).unwrap();
        let location = Location::open(&url).unwrap();
        (dir, location)
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[tokio::test]
    async fn a_second_run_is_refused_until_the_first_releases() {
        let (_dir, loc) = location();
        let first = acquire(&loc, "demo", day(), "r1", Duration::hours(1)).await.unwrap();
        let err = acquire(&loc, "demo", day(), "r2", Duration::hours(1)).await.err().unwrap();
        assert!(matches!(&err, LockError::Held { holder, .. } if holder.run_id == "r1"), "{err}");
        assert!(err.to_string().contains("r1"));
        // another snapshot is another lock
        let other = acquire(&loc, "demo", day().succ_opt().unwrap(), "r3", Duration::hours(1)).await.unwrap();
        first.release().await;
        let second = acquire(&loc, "demo", day(), "r2", Duration::hours(1)).await.unwrap();
        assert_eq!(second.took_over_from, None);
        assert_eq!(live_holders(&loc).await.unwrap().len(), 2);
        second.release().await;
        other.release().await;
    }

    #[tokio::test]
    async fn an_expired_lock_is_taken_over_by_exactly_one_run() {
        let (_dir, loc) = location();
        let stale = acquire(&loc, "demo", day(), "dead", Duration::seconds(-1)).await.unwrap();
        drop(stale); // never released, as after a crash
        let results = futures::future::join_all((0..6).map(|i| {
            let loc = loc.clone();
            async move { acquire(&loc, "demo", day(), &format!("r{i}"), Duration::hours(1)).await }
        }))
        .await;
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "exactly one run takes over");
        assert_eq!(winners[0].took_over_from.as_deref(), Some("dead"));
    }

    #[tokio::test]
    async fn a_lock_of_a_process_gone_from_this_host_is_stale() {
        let (_dir, loc) = location();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let record = LockRecord {
            run_id: "gone".into(),
            job: "demo".into(),
            snapshot_date: day(),
            host: host_name(),
            pid,
            acquired_at: Utc::now().to_rfc3339(),
            expires_at: (Utc::now() + Duration::hours(6)).to_rfc3339(),
        };
        assert!(record.is_stale(Utc::now()));
        let live = LockRecord { pid: std::process::id(), ..record.clone() };
        assert!(!live.is_stale(Utc::now()));
        let elsewhere = LockRecord { host: "another-host".into(), ..record };
        assert!(!elsewhere.is_stale(Utc::now()), "only expiry tells for other hosts");
        let _ = loc;
    }
}
