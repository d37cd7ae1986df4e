//! `[quality]`: the data-quality check of each source against its own recent
//! history, run after ingest and before anything is published: a source whose
//! volume drops or jumps beyond its band fails the run (exit 3), because a
//! half-delivered CDR day makes every usage figure wrong (docs/job-file.md,
//! "[quality]").

use serde::Deserialize;

use super::{Invalid, JobError};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QualityFile {
    check: Option<bool>,
    history_days: Option<u32>,
    history_months: Option<u32>,
    min_history_periods: Option<u32>,
    min_rows: Option<u64>,
    #[serde(default)]
    cdr: BandFile,
    #[serde(default)]
    billing: BandFile,
    #[serde(default)]
    recharges: BandFile,
    #[serde(default)]
    tickets: BandFile,
    #[serde(default)]
    subscribers: BandFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BandFile {
    low: Option<f64>,
    high: Option<f64>,
}

/// Validated `[quality]`.
#[derive(Debug, Clone, PartialEq)]
pub struct QualitySettings {
    /// Off: the figures are still measured and recorded, nothing fails.
    pub check: bool,
    /// The days before T a daily source's day T is compared with.
    pub history_days: u32,
    /// The months before L billing's month L is compared with.
    pub history_months: u32,
    /// Fewer periods with rows in the history: not judged (a new landing).
    pub min_history_periods: u32,
    /// A usual volume below this is not judged: too small to tell a drop from chance.
    pub min_rows: u64,
    /// Each source's band, in the order the check reports them.
    pub bands: Vec<SourceBand>,
}

/// Tonight's figure may be `low` to `high` times the usual (the history's median).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceBand {
    pub source: &'static str,
    pub low: f64,
    pub high: f64,
}

impl QualitySettings {
    /// The band of `source`; every source the check measures has one.
    pub fn band(&self, source: &str) -> &SourceBand {
        self.bands.iter().find(|b| b.source == source).expect("every measured source has a band")
    }
}

impl Default for QualitySettings {
    fn default() -> Self {
        validate(QualityFile::default(), &|key, message| JobError::Invalid {
            path: Default::default(),
            key: key.into(),
            message,
        })
        .expect("the defaults are valid")
    }
}

pub(super) fn validate(file: QualityFile, invalid: Invalid) -> Result<QualitySettings, JobError> {
    // The defaults leave room for what is normal: a weekend's dip, the hours of T
    // that land with the next day's extract east of UTC, a promotion's recharges,
    // an outage's tickets; billing and the subscriber base move slowly.
    let bands = vec![
        band(file.cdr, "cdr", (0.5, 2.0), invalid)?,
        band(file.billing, "billing", (0.7, 1.5), invalid)?,
        band(file.recharges, "recharges", (0.5, 3.0), invalid)?,
        band(file.tickets, "tickets", (0.2, 10.0), invalid)?,
        band(file.subscribers, "subscribers", (0.8, 1.25), invalid)?,
    ];
    let settings = QualitySettings {
        check: file.check.unwrap_or(true),
        history_days: at_least_one(file.history_days, 28, "quality.history_days", invalid)?,
        history_months: at_least_one(file.history_months, 6, "quality.history_months", invalid)?,
        min_history_periods: at_least_one(file.min_history_periods, 5, "quality.min_history_periods", invalid)?,
        min_rows: file.min_rows.unwrap_or(500),
        bands,
    };
    let shortest = settings.history_days.min(settings.history_months);
    if settings.min_history_periods > shortest {
        return Err(invalid(
            "quality.min_history_periods",
            format!(
                "{} is more than history_days or history_months ({shortest}): no source could be judged",
                settings.min_history_periods
            ),
        ));
    }
    Ok(settings)
}

fn band(file: BandFile, source: &'static str, default: (f64, f64), invalid: Invalid) -> Result<SourceBand, JobError> {
    let low = file.low.unwrap_or(default.0);
    let high = file.high.unwrap_or(default.1);
    let key = |name: &str| format!("quality.{source}.{name}");
    if !(low.is_finite() && (0.0..1.0).contains(&low)) {
        return Err(invalid(&key("low"), format!("{low} is not a ratio from 0 up to 1")));
    }
    if !(high.is_finite() && high > 1.0) {
        return Err(invalid(&key("high"), format!("{high} is not a ratio above 1")));
    }
    Ok(SourceBand { source, low, high })
}

fn at_least_one(value: Option<u32>, default: u32, key: &str, invalid: Invalid) -> Result<u32, JobError> {
    match value.unwrap_or(default) {
        0 => Err(invalid(key, "must be at least 1".into())),
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<QualitySettings, JobError> {
        let file: QualityFile = toml::from_str(text).expect("parses");
        validate(file, &|key, message| JobError::Invalid { path: Default::default(), key: key.into(), message })
    }

    #[test]
    fn defaults_hold_a_band_per_source() {
        let settings = QualitySettings::default();
        assert!(settings.check);
        assert_eq!((settings.history_days, settings.history_months, settings.min_history_periods), (28, 6, 5));
        assert_eq!(settings.band("cdr"), &SourceBand { source: "cdr", low: 0.5, high: 2.0 });
        assert_eq!(settings.bands.len(), 5);
    }

    #[test]
    fn a_source_band_is_set_by_name() {
        let settings = parse("history_days = 14\n[cdr]\nlow = 0.8\n[tickets]\nhigh = 4.0\n").unwrap();
        assert_eq!(settings.band("cdr"), &SourceBand { source: "cdr", low: 0.8, high: 2.0 });
        assert_eq!(settings.band("tickets").high, 4.0);
        assert_eq!(settings.history_days, 14);
    }

    #[test]
    fn bands_that_cannot_hold_are_refused_by_key() {
        let key = |text: &str| match parse(text) {
            Err(JobError::Invalid { key, .. }) => key,
            other => panic!("{other:?}"),
        };
        assert_eq!(key("[cdr]\nlow = 1.2\n"), "quality.cdr.low");
        assert_eq!(key("[billing]\nhigh = 0.9\n"), "quality.billing.high");
        assert_eq!(key("history_days = 0\n"), "quality.history_days");
        assert_eq!(key("history_months = 3\n"), "quality.min_history_periods");
        assert!(toml::from_str::<QualityFile>("[cdr]\nlo = 0.4\n").is_err(), "an unknown key is refused");
    }
}
