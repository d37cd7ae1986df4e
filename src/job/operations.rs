//! The settings of running a job in production: `[schedule]` (when
//! `cvm schedule` runs it), `[publish]` (the snapshot lock) and `[storage]`
//! (how object-store calls retry).

use std::time::Duration;

use serde::Deserialize;

use super::JobError;
use crate::storage::StorageSettings;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScheduleFile {
    cron: String,
    timezone: Option<String>,
    snapshot_offset_days: Option<u32>,
    catch_up: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PublishFile {
    lock_ttl_minutes: Option<u64>,
    retention_hours: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StorageFile {
    max_retries: Option<usize>,
    retry_timeout_seconds: Option<u64>,
    initial_backoff_ms: Option<u64>,
    max_backoff_seconds: Option<u64>,
    request_timeout_seconds: Option<u64>,
    connect_timeout_seconds: Option<u64>,
}

/// Validated `[schedule]`: when `cvm schedule` runs the job, and for which snapshot.
#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// As written: five fields (minute granularity) or six (with seconds first).
    pub cron_text: String,
    pub cron: croner::Cron,
    /// The zone the cron expression is read in (daylight saving included).
    pub timezone: chrono_tz::Tz,
    /// T = the scheduled day in `timezone` minus this many days (1: a 02:30
    /// run on the 23rd builds the snapshot of the 22nd, the last full day).
    pub snapshot_offset_days: u32,
    /// When the scheduler starts, at most this many missed runs are made up.
    pub catch_up: usize,
}

/// Validated `[publish]` settings.
#[derive(Debug, Clone)]
pub struct PublishSettings {
    /// How long a run's lock holds before another run may take it over
    /// (sooner if the holder ran on the same host and is gone). Longer than
    /// the longest run.
    pub lock_ttl: chrono::Duration,
    /// How long a data file a commit replaced stays for readers of earlier
    /// versions (time travel, queries in flight) before it is vacuumed.
    pub retention: chrono::Duration,
}

pub(super) fn validate_schedule(
    file: Option<ScheduleFile>,
    invalid: &dyn Fn(&str, String) -> JobError,
) -> Result<Option<ScheduleSettings>, JobError> {
    let Some(file) = file else { return Ok(None) };
    // croner's default: five fields, or six with seconds first
    let cron = croner::parser::CronParser::new()
        .parse(&file.cron)
        .map_err(|e| invalid("schedule.cron", format!("'{}' is not a cron expression: {e}", file.cron)))?;
    let zone = file.timezone.unwrap_or_else(|| "UTC".to_string());
    let timezone = zone
        .parse::<chrono_tz::Tz>()
        .map_err(|_| invalid("schedule.timezone", format!("'{zone}' is not an IANA time zone (e.g. Europe/Paris)")))?;
    Ok(Some(ScheduleSettings {
        cron_text: file.cron,
        cron,
        timezone,
        snapshot_offset_days: file.snapshot_offset_days.unwrap_or(1),
        catch_up: file.catch_up.unwrap_or(3),
    }))
}

pub(super) fn validate_publish(
    file: PublishFile,
    invalid: &dyn Fn(&str, String) -> JobError,
) -> Result<PublishSettings, JobError> {
    let minutes = file.lock_ttl_minutes.unwrap_or(360);
    if minutes == 0 {
        return Err(invalid("publish.lock_ttl_minutes", "must be at least 1".into()));
    }
    // Delta Lake's own default (deletedFileRetentionDuration) is 7 days
    let hours = file.retention_hours.unwrap_or(168);
    Ok(PublishSettings {
        lock_ttl: chrono::Duration::minutes(minutes as i64),
        retention: chrono::Duration::hours(hours as i64),
    })
}

pub(super) fn validate_storage(
    file: StorageFile,
    invalid: &dyn Fn(&str, String) -> JobError,
) -> Result<StorageSettings, JobError> {
    let d = StorageSettings::default();
    let positive = |key: &str, v: Option<u64>| match v {
        Some(0) => Err(invalid(&format!("storage.{key}"), "must be at least 1".into())),
        other => Ok(other),
    };
    let settings = StorageSettings {
        max_retries: file.max_retries.unwrap_or(d.max_retries),
        retry_timeout: positive("retry_timeout_seconds", file.retry_timeout_seconds)?
            .map_or(d.retry_timeout, Duration::from_secs),
        initial_backoff: positive("initial_backoff_ms", file.initial_backoff_ms)?
            .map_or(d.initial_backoff, Duration::from_millis),
        max_backoff: positive("max_backoff_seconds", file.max_backoff_seconds)?
            .map_or(d.max_backoff, Duration::from_secs),
        request_timeout: positive("request_timeout_seconds", file.request_timeout_seconds)?
            .map_or(d.request_timeout, Duration::from_secs),
        connect_timeout: positive("connect_timeout_seconds", file.connect_timeout_seconds)?
            .map_or(d.connect_timeout, Duration::from_secs),
    };
    if settings.initial_backoff > settings.max_backoff {
        return Err(invalid("storage.initial_backoff_ms", "is longer than max_backoff_seconds".into()));
    }
    Ok(settings)
}
