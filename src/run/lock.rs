//! One run per job and snapshot at a time: a lock object
//! `_locks/<job>/snapshot_date=T.lock`, created only if absent (atomic on
//! every store cvm supports), deleted when the run ends.
//!
//! A run renews its lock while it works (every quarter of the TTL), and
//! checks that it still holds it just before it publishes: a run that lost
//! its lock publishes nothing. A renewal replaces the lock under the same
//! breaker object a takeover creates (below), so a renewal never writes
//! over the lock of a run that has just taken it over.
//!
//! A run killed outright leaves its lock behind. The lock is stale, and the
//! next run takes it over, when it has expired (`expires_at`, from the job's
//! `[publish] lock_ttl_minutes`, pushed forward by every renewal) or when
//! its holder is a process of this machine and pid namespace that is gone
//! (the same pid with another start time is another process; a holder in
//! another container with the same host name is left to expiry). Taking
//! over is itself a create-if-absent of a breaker object named after the
//! stale holder, so of several runs that find the same stale lock exactly
//! one takes it over; the others are refused as if the lock were live. A
//! breaker older than a minute belongs to a taker that failed half-way and
//! is removed.

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
    /// Which process on `host`: the boot, the pid namespace and the
    /// process's start time, so that containers sharing a host name, and a
    /// pid reused after a reboot, are not mistaken for the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessIdentity>,
}

/// What makes a pid one process: the machine's boot, the pid namespace,
/// and the process's start time (clock ticks after boot).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessIdentity {
    pub boot_id: String,
    pub pid_namespace: String,
    pub start_ticks: u64,
}

impl ProcessIdentity {
    /// This process's identity, where /proc tells it.
    pub fn current() -> Option<ProcessIdentity> {
        Some(ProcessIdentity {
            boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?.trim().to_string(),
            pid_namespace: std::fs::read_link("/proc/self/ns/pid").ok()?.to_string_lossy().into_owned(),
            start_ticks: start_ticks(std::process::id())?,
        })
    }
}

/// A process's start time, field 22 of /proc/<pid>/stat (after the command
/// name, which may itself hold spaces and parentheses).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
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
    #[error(
        "this run lost its lock {url} before publishing (now held by {holder}: its TTL ran out while the run \
         could not renew it); it published nothing"
    )]
    Lost { url: String, holder: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A held lock, renewed in the background until [`SnapshotLock::release`]
/// deletes it.
pub struct SnapshotLock {
    location: Location,
    path: Path,
    pub record: LockRecord,
    /// The run whose stale lock this one replaced, if any: its leftovers can go.
    pub took_over_from: Option<String>,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

/// How old a breaker object may be before it is taken for one a failed
/// takeover left behind (a takeover takes milliseconds).
const BREAKER_TIMEOUT: Duration = Duration::minutes(1);

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
        expired || (self.host == host_name() && self.gone_from_here())
    }

    /// Whether the holder is a process this one can see, and it is gone.
    /// A holder of another boot or pid namespace (another container with the
    /// same host name), or of a lock without identity, cannot be seen.
    fn gone_from_here(&self) -> bool {
        let (Some(holder), Some(here)) = (&self.process, ProcessIdentity::current()) else {
            return false;
        };
        if holder.boot_id != here.boot_id || holder.pid_namespace != here.pid_namespace {
            return false;
        }
        !process_alive(self.pid) || start_ticks(self.pid) != Some(holder.start_ticks)
    }
}

fn process_alive(pid: u32) -> bool {
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
            process: ProcessIdentity::current(),
        };
        let body = bytes::Bytes::from(serde_json::to_vec_pretty(&record).expect("a lock serialises"));
        if location.create_if_absent(&path, body.clone()).await? {
            return Ok(SnapshotLock::held(location, path, record, None, ttl));
        }
        let Some(holder) = read(location, &path).await? else {
            continue; // released in between: try again
        };
        if !holder.is_stale(now) {
            return Err(LockError::Held { url, holder: Box::new(holder) });
        }
        // one breaker per stale holder: whoever creates it removes the stale lock
        let breaker = breaker_path(location, job, &holder.run_id);
        if !location.create_if_absent(&breaker, run_id.as_bytes().to_vec().into()).await? {
            // a breaker its taker never followed up (it failed between the
            // two steps) would keep the lock stale for ever: remove it, retry
            // (or the holder's own renewal breaker, its process gone from this host)
            let abandoned = location.store.head(&breaker).await.is_ok_and(|m| m.last_modified < now - BREAKER_TIMEOUT)
                || (holder.host == host_name()
                    && holder.gone_from_here()
                    && location.get_bytes(&breaker).await.is_ok_and(|b| b == holder.run_id.as_bytes()));
            if abandoned && read(location, &path).await?.as_ref() == Some(&holder) {
                tracing::warn!(stale_run = holder.run_id, "removing a takeover's breaker left for over a minute");
                let _ = location.store.delete(&breaker).await;
                continue;
            }
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
            let _ = location.store.delete(&breaker).await;
            return Ok(SnapshotLock::held(location, path, record, Some(holder.run_id), ttl));
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
    fn held(
        location: &Location,
        path: Path,
        record: LockRecord,
        took_over_from: Option<String>,
        ttl: Duration,
    ) -> Self {
        let renewal = tokio::runtime::Handle::try_current()
            .ok()
            .map(|rt| rt.spawn(renew(location.clone(), path.clone(), record.clone(), ttl)));
        SnapshotLock { location: location.clone(), path, record, took_over_from, renewal }
    }

    /// Fails unless the lock is still this run's: the last check before publishing.
    pub async fn check_held(&self) -> Result<(), LockError> {
        match read(&self.location, &self.path).await? {
            Some(r) if r.run_id == self.record.run_id => Ok(()),
            other => Err(LockError::Lost {
                url: self.location.url.url_of(&self.path),
                holder: other.map_or_else(|| "nobody".to_string(), |r| format!("run {} on {}", r.run_id, r.host)),
            }),
        }
    }

    /// Deletes the lock if it is still this run's.
    pub async fn release(mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
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

impl Drop for SnapshotLock {
    /// A lock dropped without [`SnapshotLock::release`] (a run ending by a
    /// panic) is no longer renewed: it expires, or its process is seen gone.
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
    }
}

/// Pushes the lock's expiry forward every quarter of its TTL while the
/// lock is still this run's; stops when it is not (the run then finds out
/// at [`SnapshotLock::check_held`]).
async fn renew(location: Location, path: Path, mut record: LockRecord, ttl: Duration) {
    let every = (ttl / 4).to_std().unwrap_or_default().max(std::time::Duration::from_millis(200));
    loop {
        tokio::time::sleep(every).await;
        match renew_once(&location, &path, &mut record, ttl).await {
            Ok(Renewal::Renewed) => {}
            Ok(Renewal::Lost) => {
                tracing::error!("the run's lock was taken over: it will publish nothing");
                return;
            }
            Ok(Renewal::TakeoverUnderWay) => tracing::warn!("another run is taking the lock over; not renewed"),
            Err(e) => tracing::warn!("could not renew the run's lock: {e}"),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Renewal {
    Renewed,
    Lost,
    /// A taker holds the breaker: this renewal is skipped.
    TakeoverUnderWay,
}

/// One renewal, under the same breaker object a takeover creates: a taker
/// and the renewal never both replace the lock (a read-then-write renewal
/// could otherwise write over the lock a taker has just put).
async fn renew_once(
    location: &Location,
    path: &Path,
    record: &mut LockRecord,
    ttl: Duration,
) -> Result<Renewal, LockError> {
    let breaker = breaker_path(location, &record.job, &record.run_id);
    if !location.create_if_absent(&breaker, record.run_id.as_bytes().to_vec().into()).await? {
        return Ok(Renewal::TakeoverUnderWay);
    }
    let renewed = match read(location, path).await {
        Ok(Some(current)) if current.run_id == record.run_id => {
            record.expires_at = (Utc::now() + ttl).to_rfc3339_opts(SecondsFormat::Secs, true);
            let body = bytes::Bytes::from(serde_json::to_vec_pretty(&*record).expect("a lock serialises"));
            location.put_bytes(path, body).await.map(|()| Renewal::Renewed).map_err(LockError::from)
        }
        Ok(_) => Ok(Renewal::Lost),
        Err(e) => Err(e),
    };
    let _ = location.store.delete(&breaker).await;
    renewed
}

/// The breaker of the lock `run_id` holds: created by whoever replaces that
/// lock (a taker, or the holder renewing it).
fn breaker_path(location: &Location, job: &str, run_id: &str) -> Path {
    location.url.store_path().join(LOCKS).join(job).join(format!("{run_id}.broken").as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location() -> (tempfile::TempDir, Location) {
        let dir = tempfile::tempdir().unwrap();
        let url =
            crate::storage::StoreUrl::parse(&format!("{}/", dir.path().display()), std::path::Path::new("/")).unwrap();
        let location = Location::open(&url, &Default::default()).unwrap();
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
        let here = ProcessIdentity::current().expect("Linux tells a process's identity");
        let record = LockRecord {
            run_id: "gone".into(),
            job: "demo".into(),
            snapshot_date: day(),
            host: host_name(),
            pid,
            acquired_at: Utc::now().to_rfc3339(),
            expires_at: (Utc::now() + Duration::hours(6)).to_rfc3339(),
            process: Some(ProcessIdentity { start_ticks: 1, ..here.clone() }),
        };
        assert!(record.is_stale(Utc::now()));
        let live = LockRecord { pid: std::process::id(), process: Some(here.clone()), ..record.clone() };
        assert!(!live.is_stale(Utc::now()));
        // the same pid started at another time is another process (a pid reused)
        let reused = LockRecord {
            process: Some(ProcessIdentity { start_ticks: here.start_ticks + 1, ..here.clone() }),
            ..live.clone()
        };
        assert!(reused.is_stale(Utc::now()));
        let elsewhere = LockRecord { host: "another-host".into(), ..record.clone() };
        assert!(!elsewhere.is_stale(Utc::now()), "only expiry tells for other hosts");
        // a container with the same host name: another pid namespace, not visible from here
        let container = ProcessIdentity { pid_namespace: "pid:[1]".into(), ..here };
        let other_container = LockRecord { process: Some(container), ..record.clone() };
        assert!(!other_container.is_stale(Utc::now()), "only expiry tells for other pid namespaces");
        let no_identity = LockRecord { process: None, ..record.clone() };
        assert!(!no_identity.is_stale(Utc::now()), "a lock without identity is left to expiry");

        // killed while renewing: its own breaker stands, and is no obstacle
        let path = lock_path(&loc, "demo", day());
        loc.put_bytes(&path, serde_json::to_vec(&record).unwrap().into()).await.unwrap();
        let breaker = breaker_path(&loc, "demo", "gone");
        loc.put_bytes(&breaker, "gone".into()).await.unwrap();
        let taken = acquire(&loc, "demo", day(), "next", Duration::hours(1)).await.unwrap();
        assert_eq!(taken.took_over_from.as_deref(), Some("gone"));
        taken.release().await;
    }

    #[tokio::test]
    async fn a_live_run_renews_its_lock_past_its_ttl() {
        let (_dir, loc) = location();
        let held = acquire(&loc, "demo", day(), "long", Duration::seconds(4)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(6)).await;
        let err = acquire(&loc, "demo", day(), "next", Duration::seconds(4)).await.err().unwrap();
        assert!(matches!(&err, LockError::Held { holder, .. } if holder.run_id == "long"), "{err}");
        held.check_held().await.unwrap();
        held.release().await;
    }

    #[tokio::test]
    async fn a_run_that_lost_its_lock_is_told_so_before_publishing() {
        let (_dir, loc) = location();
        let held = acquire(&loc, "demo", day(), "slow", Duration::hours(1)).await.unwrap();
        // taken over as if it had expired (a skewed clock, a frozen process)
        let taker = LockRecord { run_id: "taker".into(), ..held.record.clone() };
        loc.put_bytes(&held.path, serde_json::to_vec(&taker).unwrap().into()).await.unwrap();
        let err = held.check_held().await.unwrap_err();
        assert!(matches!(&err, LockError::Lost { .. }) && err.to_string().contains("taker"), "{err}");
    }

    #[tokio::test]
    async fn a_renewal_never_writes_over_a_takeover() {
        let (dir, loc) = location();
        let held = acquire(&loc, "demo", day(), "slow", Duration::hours(1)).await.unwrap();
        let ttl = Duration::hours(1);
        let mut record = held.record.clone();
        assert_eq!(renew_once(&loc, &held.path, &mut record, ttl).await.unwrap(), Renewal::Renewed);
        let breaker = dir.path().join("_locks/demo/slow.broken");
        assert!(!breaker.exists(), "the renewal's breaker is removed");
        // a taker has created its breaker and is about to replace the lock
        std::fs::write(&breaker, "taker").unwrap();
        let before = std::fs::read(dir.path().join(format!("_locks/demo/snapshot_date={}.lock", day()))).unwrap();
        assert_eq!(renew_once(&loc, &held.path, &mut record, ttl).await.unwrap(), Renewal::TakeoverUnderWay);
        let lock = dir.path().join(format!("_locks/demo/snapshot_date={}.lock", day()));
        assert_eq!(std::fs::read(&lock).unwrap(), before, "the lock is left to the taker");
        // the taker replaced it and removed its breaker: the renewal writes nothing
        let taker = LockRecord { run_id: "taker".into(), ..held.record.clone() };
        loc.put_bytes(&held.path, serde_json::to_vec(&taker).unwrap().into()).await.unwrap();
        std::fs::remove_file(&breaker).unwrap();
        assert_eq!(renew_once(&loc, &held.path, &mut record, ttl).await.unwrap(), Renewal::Lost);
        assert_eq!(read(&loc, &held.path).await.unwrap().unwrap().run_id, "taker");
        assert!(!breaker.exists());
    }

    #[tokio::test]
    async fn a_breaker_left_by_a_failed_takeover_expires() {
        let (dir, loc) = location();
        drop(acquire(&loc, "demo", day(), "dead", Duration::seconds(-1)).await.unwrap());
        // a taker created its breaker and died before replacing the lock
        let breaker = dir.path().join("_locks/demo/dead.broken");
        std::fs::write(&breaker, "failed-taker").unwrap();
        let err = acquire(&loc, "demo", day(), "r1", Duration::hours(1)).await.err().unwrap();
        assert!(matches!(err, LockError::Held { .. }), "a fresh breaker still stands: {err}");
        let two_minutes_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
        std::fs::File::options().write(true).open(&breaker).unwrap().set_modified(two_minutes_ago).unwrap();
        let taken = acquire(&loc, "demo", day(), "r2", Duration::hours(1)).await.unwrap();
        assert_eq!(taken.took_over_from.as_deref(), Some("dead"));
        taken.release().await;
    }
}
