//! A run's local scratch folder: the staged tables of a local run
//! (stg_subscribers holds msisdn in clear) and the engine's spill files.
//!
//! `<temp>/cvm-<run id>/` is created private to the user (0700) and removed
//! when the run ends, whichever way it ends short of a kill. A killed run
//! cannot clean up, so every run first sweeps the scratch folders of runs
//! that are gone: a run holds an exclusive `flock` on `<folder>/.owner` for
//! its whole life, the kernel releases it when the process dies (SIGKILL
//! included), and a folder whose lock can be taken belongs to nobody. No pid
//! or hostname is compared, so a pid reused by another process, or two
//! containers sharing a temporary folder, cannot make a live run's folder
//! look abandoned.
//!
//! A folder is made as `cvm-<run id>.creating`, a name sweepers leave
//! alone, and renamed to its own name only once its owner file is locked:
//! a sweeper of another run starting at the same moment would otherwise
//! find the owner file not yet locked, take it for a dead run's, and remove
//! the folder under the new run (seen in the tests, as "another process
//! holds its lock").

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Name prefix of the scratch folders in the temporary folder.
const PREFIX: &str = "cvm-";
/// The file a run locks for as long as it lives.
const OWNER: &str = ".owner";
/// The suffix of a folder's name until its owner file is locked.
const CREATING: &str = ".creating";
/// A folder without an owner file, or still named `.creating`, is swept
/// once this old: only a run killed while making its folder (or a version
/// before the lock) leaves such a folder.
const UNOWNED_GRACE: Duration = Duration::from_secs(3600);

/// A run's scratch folder, removed when dropped (unless the user chose it).
pub struct Scratch {
    path: PathBuf,
    keep: bool,
    /// Open, and locked, while the run lives.
    _owner: Option<File>,
}

impl Scratch {
    /// Creates `<temp>/cvm-<run_id>/` (0700, locked), or uses `kept` (a
    /// folder the user named with `CVM_KEEP_SCRATCH`, neither locked nor
    /// removed). Errors carry the folder's path.
    pub fn create(run_id: &str, kept: Option<PathBuf>) -> Result<Scratch, (String, std::io::Error)> {
        if let Some(path) = kept {
            std::fs::create_dir_all(&path).map_err(|e| (path.display().to_string(), e))?;
            return Ok(Scratch { path, keep: true, _owner: None });
        }
        let temp = std::env::temp_dir();
        let path = temp.join(format!("{PREFIX}{run_id}"));
        let creating = temp.join(format!("{PREFIX}{run_id}{CREATING}"));
        let shown = |e| (path.display().to_string(), e);
        create_private_dir(&creating).map_err(shown)?;
        let owner = File::create(creating.join(OWNER)).map_err(shown)?;
        if !try_lock(&owner).map_err(shown)? {
            return Err(shown(std::io::Error::other("another process holds its lock")));
        }
        // the lock belongs to the open file, so it holds across the rename
        std::fs::rename(&creating, &path).map_err(shown)?;
        Ok(Scratch { path, keep: false, _owner: Some(owner) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir(path)
}

/// Takes an exclusive lock on `file` without waiting: Ok(false) when another
/// open file (of this or any process) holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this File owns; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) { Ok(false) } else { Err(error) }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    // no flock: a folder is never proven abandoned, so never swept
    Ok(false)
}

/// Removes the scratch folders in `temp` of runs that are no longer alive;
/// returns the folders removed. Folders it cannot read or remove are left,
/// with a warning: a sweep never fails a run.
pub fn sweep_abandoned(temp: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(temp) else { return Vec::new() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else { continue };
        let being_made = id.strip_suffix(CREATING);
        if !is_run_id(being_made.unwrap_or(id)) {
            continue;
        }
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let _held = if being_made.is_some() {
            if !older_than_grace(&path) {
                continue;
            }
            None
        } else {
            let Some(held) = abandoned(&path) else { continue };
            held
        };
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::info!(folder = %path.display(), "removed the scratch folder of a run that is gone");
                removed.push(path);
            }
            Err(e) => tracing::warn!(folder = %path.display(), "cannot remove an abandoned scratch folder: {e}"),
        }
    }
    removed
}

/// Some when no live run owns `folder`: its owner file, locked by this
/// process (None for an old folder without one). The dead run's lock was
/// released with its process; holding it while the folder goes keeps a
/// second sweeper off.
fn abandoned(folder: &Path) -> Option<Option<File>> {
    match File::open(folder.join(OWNER)) {
        Ok(owner) => try_lock(&owner).unwrap_or(false).then_some(Some(owner)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => older_than_grace(folder).then_some(None),
        Err(_) => None,
    }
}

/// Whether `folder` was last changed longer ago than [`UNOWNED_GRACE`].
fn older_than_grace(folder: &Path) -> bool {
    std::fs::metadata(folder)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > UNOWNED_GRACE)
}

/// A run id as `run::new_run_id` makes them: `YYYYMMDDTHHMMSSZ-` and 8 hex digits.
fn is_run_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 25
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..].iter().all(u8::is_ascii_hexdigit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "20261205T150857Z-182167a4";

    fn folder_in(temp: &Path, run_id: &str, owner: bool) -> PathBuf {
        let folder = temp.join(format!("{PREFIX}{run_id}"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("stg_subscribers.parquet"), b"msisdn").unwrap();
        if owner {
            File::create(folder.join(OWNER)).unwrap();
        }
        folder
    }

    #[test]
    fn run_ids_are_recognised() {
        assert!(is_run_id(RUN));
        for not in ["", "20261205T150857Z-182167a", "20261205T150857Z-182167ag", "x0261205T150857Z-182167a4"] {
            assert!(!is_run_id(not), "{not}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_scratch_folder_is_private_locked_and_removed_when_dropped() {
        use std::os::unix::fs::PermissionsExt;
        let run_id = "20261205T000000Z-0badc0de";
        let scratch = Scratch::create(run_id, None).unwrap();
        let path = scratch.path().to_path_buf();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o700);
        // its own lock makes it live to any sweeper, this process included
        assert!(abandoned(&path).is_none());
        drop(scratch);
        assert!(!path.exists());
    }

    /// Another run's sweep, at the very moment a run makes its folder,
    /// must not take the folder for a dead run's: a sweeper loops over the
    /// temporary folder while folders are made and dropped.
    #[cfg(unix)]
    #[test]
    fn a_sweep_beside_a_run_making_its_folder_leaves_it_alone() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sweeper = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    sweep_abandoned(&std::env::temp_dir());
                }
            })
        };
        for i in 0..2_000u32 {
            let run_id = format!("20261206T000000Z-{:08x}", 0x5eed_0000 + i);
            let scratch = Scratch::create(&run_id, None).unwrap_or_else(|(path, e)| panic!("{path}: {e}"));
            assert!(scratch.path().join(OWNER).exists(), "{run_id}: swept under the run");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        sweeper.join().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn only_folders_of_runs_that_are_gone_are_swept() {
        let temp = tempfile::tempdir().unwrap();
        let dead = folder_in(temp.path(), RUN, true);
        let live = folder_in(temp.path(), "20261205T150857Z-00000001", true);
        let held = File::open(live.join(OWNER)).unwrap();
        assert!(try_lock(&held).unwrap());
        let fresh_unowned = folder_in(temp.path(), "20261205T150857Z-00000002", false);
        let not_ours = temp.path().join("cvm-notes");
        std::fs::create_dir(&not_ours).unwrap();

        // a folder still being made: its owner file not locked yet, as a run's is for a moment
        let being_made = folder_in(temp.path(), &format!("20261205T150857Z-00000003{CREATING}"), true);

        assert_eq!(sweep_abandoned(temp.path()), vec![dead.clone()]);
        assert!(!dead.exists());
        assert!(live.exists() && fresh_unowned.exists() && not_ours.exists() && being_made.exists());
        drop(held);
        assert_eq!(sweep_abandoned(temp.path()), vec![live]);
        // one left by a run killed while making it goes once it is old
        let old = std::time::SystemTime::now() - UNOWNED_GRACE - Duration::from_secs(60);
        File::open(&being_made).unwrap().set_modified(old).unwrap();
        assert_eq!(sweep_abandoned(temp.path()), vec![being_made]);
    }
}
