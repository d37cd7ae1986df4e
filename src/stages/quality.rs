//! The data-quality check: each source's volume (rows) and completeness
//! (distinct lines) in its judged period, against the median of the periods
//! before it, and its timeliness (the newest period with rows). The daily
//! sources are judged on T, billing on L, the subscriber extract by its
//! rows against the previous published snapshots'. A figure outside the
//! job's band fails the run before anything is published (exit 3): a
//! half-delivered CDR day makes every usage figure wrong, and a clean exit
//! would publish it. docs/job-file.md, "[quality]", gives the settings.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use crate::engine::{self, Params, sqlfiles};
use crate::job::{QualitySettings, SourceBand};
use crate::observe::thousands;
use crate::stages::models::Frame;
use crate::warehouse::manifest::{Manifest, QualityCheck, Status, Verdict};

/// Every figure of tonight's check, the failed ones first.
#[derive(Debug)]
pub struct QualityReport {
    pub checks: Vec<QualityCheck>,
}

/// The sources whose figures fell outside their bands.
#[derive(Debug, thiserror::Error)]
#[error("data quality: {}; nothing was published (the [quality] bands are in the job file)", describe_all(.failed))]
pub struct QualityError {
    pub failed: Vec<QualityCheck>,
}

impl QualityReport {
    pub fn failed(&self) -> Vec<QualityCheck> {
        self.checks.iter().filter(|c| is_failure(c.verdict)).cloned().collect()
    }
}

fn is_failure(verdict: Verdict) -> bool {
    matches!(verdict, Verdict::Missing | Verdict::Low | Verdict::High)
}

/// Measures every source (sql/quality/quality_volumes.sql over the staged
/// sources and usage_daily) and the subscriber extract against
/// `earlier_runs` (any runs of the job; the published ones before T count).
pub async fn check(
    ctx: &SessionContext,
    settings: &QualitySettings,
    as_of: NaiveDate,
    params: &Params,
    subscribers_tonight: u64,
    earlier_runs: &[Manifest],
) -> Result<QualityReport, DataFusionError> {
    let file = sqlfiles::find("quality_volumes").expect("quality_volumes.sql exists");
    let params = params.clone().merged(&crate::stages::params::quality(settings, as_of));
    let df = engine::plan(ctx, file, &params).await.map_err(|e| DataFusionError::External(Box::new(e)))?;
    let frame = Frame::collect(df).await?;
    let (sources, periods) = (frame.strings("source")?, frame.dates("period")?);
    let (rows, lines) = (frame.i64s("rows")?, frame.i64s("lines")?);
    let mut series: BTreeMap<&str, Series> = BTreeMap::new();
    for i in 0..sources.len() {
        let source = sources[i].as_str();
        series.entry(source).or_default().insert(periods[i], (rows[i] as u64, lines[i] as u64));
    }
    let mut checks = Vec::new();
    let window_end_month = engine::window_end_month(as_of);
    for band in &settings.bands {
        let (judged, window): (NaiveDate, Vec<NaiveDate>) = match band.source {
            "subscribers" => continue,
            "billing" => (window_end_month, months_before(window_end_month, settings.history_months)),
            _ => (as_of, days_before(as_of, settings.history_days)),
        };
        let empty = Series::new();
        let series = series.get(band.source).unwrap_or(&empty);
        checks.extend(judge(settings, band, judged, &window, series));
    }
    let history = subscriber_history(earlier_runs, as_of, settings.history_days);
    checks.push(judge_subscribers(settings, as_of, subscribers_tonight, &history));
    checks.sort_by_key(|c| !is_failure(c.verdict));
    Ok(QualityReport { checks })
}

/// A source's (rows, lines) per period that has rows.
type Series = BTreeMap<NaiveDate, (u64, u64)>;

/// The `n` days before `day`, oldest first.
fn days_before(day: NaiveDate, n: u32) -> Vec<NaiveDate> {
    (1..=n).rev().map(|k| day - chrono::Days::new(k.into())).collect()
}

/// The `n` months before `month` (a first day), oldest first.
fn months_before(month: NaiveDate, n: u32) -> Vec<NaiveDate> {
    (1..=n).rev().map(|k| month - Months::new(k)).collect()
}

/// The source's rows and lines in `judged` against the periods of `window`
/// from the first with rows on (a landing that starts mid-window is not
/// judged against the days before it began); a period without rows counts 0.
fn judge(
    settings: &QualitySettings,
    band: &SourceBand,
    judged: NaiveDate,
    window: &[NaiveDate],
    series: &Series,
) -> Vec<QualityCheck> {
    let first = series.keys().next().copied();
    let history: Vec<(u64, u64)> = window
        .iter()
        .filter(|p| first.is_some_and(|f| **p >= f))
        .map(|p| series.get(p).copied().unwrap_or((0, 0)))
        .collect();
    let newest = series.keys().next_back().copied();
    let tonight = series.get(&judged).copied().unwrap_or((0, 0));
    let usual_rows = median(history.iter().map(|h| h.0));
    // lines are judged where rows are: a source too small by rows is too small by lines
    let judgeable = history.len() >= settings.min_history_periods as usize && usual_rows >= settings.min_rows as f64;
    let figure = |measure: &str, value: u64, usual: f64| {
        let verdict = if !judgeable {
            Verdict::NotJudged
        } else if value == 0 {
            Verdict::Missing
        } else if (value as f64) < band.low * usual {
            Verdict::Low
        } else if (value as f64) > band.high * usual {
            Verdict::High
        } else {
            Verdict::Within
        };
        QualityCheck {
            source: band.source.to_string(),
            measure: measure.to_string(),
            period: judged,
            value,
            usual: (history.len() >= settings.min_history_periods as usize).then_some(usual),
            history_periods: history.len() as u32,
            low: band.low,
            high: band.high,
            newest,
            verdict,
        }
    };
    vec![figure("rows", tonight.0, usual_rows), figure("lines", tonight.1, median(history.iter().map(|h| h.1)))]
}

/// The subscriber extract's rows read by the newest published run of each
/// of the `days` snapshots before T, oldest first.
fn subscriber_history(runs: &[Manifest], as_of: NaiveDate, days: u32) -> Vec<u64> {
    let since = as_of - chrono::Days::new(days.into());
    let mut newest_per_snapshot: BTreeMap<NaiveDate, &Manifest> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.status == Status::Succeeded) {
        if run.snapshot_date < since || run.snapshot_date >= as_of {
            continue;
        }
        let kept = newest_per_snapshot.entry(run.snapshot_date).or_insert(run);
        if run.started_at > kept.started_at {
            *kept = run;
        }
    }
    newest_per_snapshot.values().filter_map(|r| r.sources.get("subscribers")).map(|s| s.rows_read).collect()
}

fn judge_subscribers(settings: &QualitySettings, as_of: NaiveDate, tonight: u64, history: &[u64]) -> QualityCheck {
    let band = settings.band("subscribers");
    let series: Series =
        history.iter().enumerate().map(|(i, rows)| (as_of - chrono::Days::new(i as u64 + 1), (*rows, 0))).collect();
    let window = days_before(as_of, history.len() as u32);
    let mut tonight_series = series.clone();
    tonight_series.insert(as_of, (tonight, 0));
    let mut check = judge(settings, band, as_of, &window, &tonight_series).remove(0);
    // the extract is the base's latest state, read whole every night: not late by its periods
    check.newest = None;
    check
}

fn median(values: impl Iterator<Item = u64>) -> f64 {
    let mut v: Vec<u64> = values.collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let mid = v.len() / 2;
    if v.len() % 2 == 1 { v[mid] as f64 } else { (v[mid - 1] + v[mid]) as f64 / 2.0 }
}

pub fn describe_all(failed: &[QualityCheck]) -> String {
    failed.iter().map(describe).collect::<Vec<_>>().join("; ")
}

/// One figure in words, e.g. "cdr: 12,345 rows on 2026-11-22, 0.41 times the
/// usual 30,000 (the median of the 28 days before; band 0.5 to 2)".
pub fn describe(check: &QualityCheck) -> String {
    let monthly = check.source == "billing";
    let period = if monthly { format!("in {}", &check.period.format("%Y-%m")) } else { format!("on {}", check.period) };
    let unit = if monthly { "months" } else { "days" };
    let what = if check.measure == "lines" { "lines with a row" } else { "rows" };
    let usual = check.usual.unwrap_or(0.0);
    let basis = format!("the median of the {} {unit} before", check.history_periods);
    match check.verdict {
        Verdict::Missing => format!(
            "{} has no rows {period} (usually {} {what}, {basis}): its extract is late or missing{}",
            check.source,
            thousands(usual.round() as u64),
            check.newest.map(|n| format!("; its newest rows are of {n}")).unwrap_or_default()
        ),
        Verdict::NotJudged => match check.usual {
            None => format!(
                "{}: {} {what} {period}, not judged: {} {unit} of history",
                check.source,
                thousands(check.value),
                check.history_periods
            ),
            Some(usual) => format!(
                "{}: {} {what} {period}, not judged: usually {}, too few to tell a short delivery from chance",
                check.source,
                thousands(check.value),
                thousands(usual.round() as u64)
            ),
        },
        _ => format!(
            "{}: {} {what} {period}, {:.2} times the usual {} ({basis}; band {} to {})",
            check.source,
            thousands(check.value),
            check.value as f64 / usual,
            thousands(usual.round() as u64),
            check.low,
            check.high
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn settings() -> QualitySettings {
        QualitySettings { history_days: 7, min_history_periods: 3, min_rows: 100, ..Default::default() }
    }

    fn cdr(days: &[(u32, u64)]) -> Series {
        days.iter().map(|(d, rows)| (day(*d), (*rows, rows / 10))).collect()
    }

    fn rows_verdict(series: &Series) -> (Verdict, String) {
        let s = settings();
        let checks = judge(&s, s.band("cdr"), day(22), &days_before(day(22), 7), series);
        (checks[0].verdict, describe(&checks[0]))
    }

    #[test]
    fn a_half_delivered_day_fails_and_says_by_how_much() {
        let series =
            cdr(&[(15, 1000), (16, 1100), (17, 900), (18, 1000), (19, 1000), (20, 950), (21, 1050), (22, 400)]);
        let (verdict, text) = rows_verdict(&series);
        assert_eq!(verdict, Verdict::Low);
        assert_eq!(
            text,
            "cdr: 400 rows on 2026-11-22, 0.40 times the usual 1,000 (the median of the 7 days before; band 0.5 to 2)"
        );
    }

    #[test]
    fn a_missing_day_is_late_and_names_the_newest_rows() {
        let series = cdr(&[(18, 1000), (19, 1000), (20, 1000), (21, 1000)]);
        let (verdict, text) = rows_verdict(&series);
        assert_eq!(verdict, Verdict::Missing);
        assert!(text.contains("has no rows on 2026-11-22") && text.contains("newest rows are of 2026-11-21"), "{text}");
    }

    #[test]
    fn a_usual_day_a_short_history_and_a_small_source_pass() {
        assert_eq!(rows_verdict(&cdr(&[(19, 1000), (20, 1000), (21, 1000), (22, 1900)])).0, Verdict::Within);
        assert_eq!(rows_verdict(&cdr(&[(19, 1000), (20, 1000), (21, 1000), (22, 2100)])).0, Verdict::High);
        // two days of history: a new landing
        assert_eq!(rows_verdict(&cdr(&[(20, 1000), (21, 1000), (22, 10)])).0, Verdict::NotJudged);
        // usually 50 rows: chance, not delivery
        assert_eq!(rows_verdict(&cdr(&[(18, 50), (19, 50), (20, 50), (21, 50), (22, 5)])).0, Verdict::NotJudged);
    }

    #[test]
    fn a_day_without_rows_in_the_history_counts_as_zero() {
        // four days of history from the first with rows, two of them empty: the median is 500
        let series = cdr(&[(18, 1000), (21, 1000), (22, 200)]);
        let s = settings();
        let checks = judge(&s, s.band("cdr"), day(22), &days_before(day(22), 7), &series);
        assert_eq!((checks[0].usual, checks[0].verdict), (Some(500.0), Verdict::Low));
    }

    #[test]
    fn the_subscriber_extract_is_judged_by_its_earlier_runs() {
        let s = settings();
        let check = judge_subscribers(&s, day(22), 500, &[1000, 1000, 1010]);
        assert_eq!((check.verdict, check.source.as_str()), (Verdict::Low, "subscribers"));
        assert_eq!(judge_subscribers(&s, day(22), 1005, &[1000, 1000, 1010]).verdict, Verdict::Within);
        assert_eq!(judge_subscribers(&s, day(22), 500, &[]).verdict, Verdict::NotJudged);
    }

    #[test]
    fn billing_is_judged_by_month() {
        let months = months_before(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), 3);
        assert_eq!(months[0], NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
        assert_eq!(months[2], NaiveDate::from_ymd_opt(2026, 9, 1).unwrap());
    }
}
