//! `cvm schedule jobs/`: a long-running scheduler for the job files that
//! carry a `[schedule]`.
//!
//! - Each due time runs `cvm run JOB --as-of T` as a child process (T = the
//!   scheduled day in the job's time zone minus `snapshot_offset_days`),
//!   one run at a time, so two runs of a job never overlap (and the
//!   snapshot lock would refuse the second anyway).
//! - A due time whose snapshot is already published by a succeeded run of
//!   the job is skipped, so restarts and several due times mapping to one
//!   day cost nothing. On start, the last `catch_up` due times are looked
//!   at: runs missed while the scheduler was down are made up, oldest first.
//! - SIGTERM or SIGINT: no new run starts; the run in flight finishes and
//!   the scheduler exits. A second signal kills the run in flight, which
//!   then publishes nothing (publishing is one atomic commit; its lock and
//!   leftovers are taken over by the next run).
//! - Each run is a process group of its own, so a signal to the
//!   scheduler's group (Ctrl-C in its terminal, systemd's default
//!   `KillMode=control-group` aside) reaches the scheduler only, which then
//!   decides as above; docs/operations.md gives the service settings.

use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tokio::signal::unix::{SignalKind, signal};

use crate::commands::status;
use crate::job::{Job, JobError, Overrides, ScheduleSettings};

/// A job file with its schedule.
pub struct ScheduledJob {
    pub path: PathBuf,
    pub job: Job,
    pub schedule: ScheduleSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("cannot read {path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("no job file under {0} has a [schedule]")]
    NothingScheduled(String),
    #[error("cannot start a run: {0}")]
    Spawn(std::io::Error),
    #[error("cannot listen for signals: {0}")]
    Signals(std::io::Error),
}

impl ScheduleError {
    /// A job file or folder the scheduler cannot start with, not a failure while serving.
    pub fn is_usage(&self) -> bool {
        matches!(self, ScheduleError::Job(_) | ScheduleError::Folder { .. } | ScheduleError::NothingScheduled(_))
    }
}

/// The job files named (folders: every `*.toml` in them) that carry a schedule.
pub fn load(paths: &[PathBuf]) -> Result<Vec<ScheduledJob>, ScheduleError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|source| ScheduleError::Folder { path: path.clone(), source })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut jobs = Vec::new();
    for path in files {
        let job = Job::load(&path, &Overrides::default())?;
        match job.schedule.clone() {
            Some(schedule) => {
                tracing::info!(job = job.name, cron = schedule.cron_text, timezone = %schedule.timezone, "scheduled");
                jobs.push(ScheduledJob { path, job, schedule });
            }
            None => tracing::info!(job = job.name, "no [schedule] in {}: not scheduled", path.display()),
        }
    }
    if jobs.is_empty() {
        let named = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        return Err(ScheduleError::NothingScheduled(named));
    }
    Ok(jobs)
}

/// The snapshot a run due at `due` builds.
pub fn snapshot_for(schedule: &ScheduleSettings, due: DateTime<Utc>) -> NaiveDate {
    let local_day = due.with_timezone(&schedule.timezone).date_naive();
    local_day - Duration::days(i64::from(schedule.snapshot_offset_days))
}

/// Due times in (after, until], oldest first.
pub fn due_between(schedule: &ScheduleSettings, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    schedule
        .cron
        .iter_after(after.with_timezone(&schedule.timezone))
        .map(|t| t.with_timezone(&Utc))
        .take_while(|t| *t <= until)
        .take(10_000)
        .collect()
}

/// Where the catch-up window starts: just before the `catch_up`-th most recent due time.
pub fn catch_up_start(schedule: &ScheduleSettings, now: DateTime<Utc>) -> DateTime<Utc> {
    let earliest = schedule
        .cron
        .iter_before(now.with_timezone(&schedule.timezone))
        .take(schedule.catch_up)
        .last()
        .map(|t| t.with_timezone(&Utc));
    match earliest {
        Some(t) => t - Duration::milliseconds(1),
        None => now,
    }
}

/// Runs the scheduler until SIGTERM or SIGINT. `log_args` are passed to each run.
pub async fn serve(jobs: Vec<ScheduledJob>, log_args: Vec<String>) -> Result<(), ScheduleError> {
    let mut term = signal(SignalKind::terminate()).map_err(ScheduleError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ScheduleError::Signals)?;
    let now = Utc::now();
    let mut checked: Vec<DateTime<Utc>> = jobs.iter().map(|j| catch_up_start(&j.schedule, now)).collect();
    loop {
        let now = Utc::now();
        for (i, scheduled) in jobs.iter().enumerate() {
            let due = due_between(&scheduled.schedule, checked[i], now);
            checked[i] = now;
            let mut snapshots: Vec<NaiveDate> = due.iter().map(|d| snapshot_for(&scheduled.schedule, *d)).collect();
            snapshots.dedup();
            for as_of in snapshots {
                let published = crate::storage::Location::open(&scheduled.job.warehouse, &scheduled.job.storage);
                let published = match published {
                    Ok(warehouse) => status::published_by(&warehouse, &scheduled.job.name, as_of).await,
                    Err(e) => Err(e.into()),
                };
                match published {
                    Ok(Some(run)) => {
                        tracing::info!(job = scheduled.job.name, snapshot = %as_of, run = run.run_id, "already published: skipped");
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(
                        job = scheduled.job.name,
                        "cannot tell whether {as_of} is published ({e}); running it"
                    ),
                }
                let stop = run_one(scheduled, as_of, &log_args, &mut term, &mut int).await?;
                if stop {
                    tracing::info!("stopped by a signal");
                    return Ok(());
                }
            }
        }
        let next = jobs
            .iter()
            .filter_map(|j| j.schedule.cron.iter_after(Utc::now().with_timezone(&j.schedule.timezone)).next())
            .map(|t| t.with_timezone(&Utc))
            .min();
        let wait =
            next.map(|t| (t - Utc::now()).to_std().unwrap_or_default()).unwrap_or(std::time::Duration::from_secs(3600));
        if let Some(t) = next {
            tracing::debug!(next = %t, "sleeping until the next due time");
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); return Ok(()); }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); return Ok(()); }
        }
    }
}

/// Runs one snapshot of a job in a child process; returns whether a signal asked the scheduler to stop.
async fn run_one(
    scheduled: &ScheduledJob,
    as_of: NaiveDate,
    log_args: &[String],
    term: &mut tokio::signal::unix::Signal,
    int: &mut tokio::signal::unix::Signal,
) -> Result<bool, ScheduleError> {
    let exe = std::env::current_exe().map_err(ScheduleError::Spawn)?;
    tracing::info!(job = scheduled.job.name, snapshot = %as_of, "starting run");
    let mut child = tokio::process::Command::new(exe)
        .args(log_args)
        .arg("run")
        .arg(&scheduled.path)
        .arg("--as-of")
        .arg(as_of.to_string())
        .kill_on_drop(false)
        // not in the scheduler's process group: a Ctrl-C on its terminal would kill the run
        .process_group(0)
        .spawn()
        .map_err(ScheduleError::Spawn)?;
    let mut stopping = false;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.map_err(ScheduleError::Spawn)?,
            _ = term.recv() => stopping = on_signal(&mut child, stopping, "SIGTERM"),
            _ = int.recv() => stopping = on_signal(&mut child, stopping, "SIGINT"),
        }
    };
    log_exit(&scheduled.job.name, as_of, status.code());
    Ok(stopping)
}

fn on_signal(child: &mut tokio::process::Child, already_stopping: bool, name: &str) -> bool {
    if already_stopping {
        tracing::warn!("{name} again: killing the run in flight; it publishes nothing");
        let _ = child.start_kill();
    } else {
        tracing::warn!("{name}: letting the run in flight finish, then stopping (send it again to kill the run)");
    }
    true
}

fn log_exit(job: &str, as_of: NaiveDate, code: Option<i32>) {
    match code {
        Some(0) => tracing::info!(job, snapshot = %as_of, "run succeeded"),
        Some(4) => tracing::warn!(job, snapshot = %as_of, "another run holds the snapshot's lock (exit 4)"),
        Some(code) => tracing::error!(job, snapshot = %as_of, code, "run failed (exit {code}; see `cvm status`)"),
        None => tracing::error!(job, snapshot = %as_of, "run killed by a signal"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn schedule(cron: &str, zone: &str, catch_up: usize) -> ScheduleSettings {
        ScheduleSettings {
            cron_text: cron.into(),
            cron: croner::parser::CronParser::new().parse(cron).unwrap(),
            timezone: zone.parse().unwrap(),
            snapshot_offset_days: 1,
            catch_up,
        }
    }

    #[test]
    fn the_snapshot_is_the_day_before_the_scheduled_local_day() {
        let s = schedule("30 2 * * *", "Europe/Paris", 3);
        // 02:30 in Paris on the 23rd is 01:30 UTC on the 23rd
        let due = Utc.with_ymd_and_hms(2026, 11, 23, 1, 30, 0).unwrap();
        assert_eq!(snapshot_for(&s, due), NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        // 00:30 in Tokyo on the 23rd is still the 22nd in UTC
        let tokyo = schedule("30 0 * * *", "Asia/Tokyo", 3);
        let due = Utc.with_ymd_and_hms(2026, 11, 22, 15, 30, 0).unwrap();
        assert_eq!(snapshot_for(&tokyo, due), NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
    }

    #[test]
    fn due_times_follow_the_zone_across_daylight_saving() {
        let s = schedule("30 2 * * *", "Europe/Paris", 3);
        let after = Utc.with_ymd_and_hms(2026, 10, 23, 12, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2026, 10, 27, 12, 0, 0).unwrap();
        let due: Vec<String> = due_between(&s, after, until).iter().map(|t| t.format("%d %H:%M").to_string()).collect();
        // summer time ends on 25 October at 03:00, so 02:30 happens twice that
        // night: it runs once, at the first (00:30 UTC); from then on 02:30 is 01:30 UTC
        assert_eq!(due, ["24 00:30", "25 00:30", "26 01:30", "27 01:30"]);
    }

    #[test]
    fn catch_up_looks_back_over_the_last_due_times_only() {
        let s = schedule("0 3 * * *", "UTC", 2);
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let start = catch_up_start(&s, now);
        let due = due_between(&s, start, now);
        assert_eq!(due.len(), 2);
        assert_eq!(due[0], Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 0).unwrap());
    }
}
