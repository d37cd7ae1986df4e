//! The options of a generation, and the one check that they make sense
//! before anything is written.

use chrono::NaiveDate;

use super::plant::Plant;
use super::population;
use super::{Format, GenerateError};
use crate::storage::StoreUrl;

/// Lines per shard unless told otherwise.
pub const DEFAULT_SHARD_SIZE: u64 = 100_000;
/// Subscriber ids are `S` and eight digits, msisdns `+336` and eight.
pub const MAX_SUBSCRIBERS: u64 = 90_000_000;

/// What to generate, validated by [`Options::check`].
#[derive(Debug, Clone)]
pub struct Options {
    pub subscribers: u64,
    pub days: u32,
    pub as_of: NaiveDate,
    pub out: StoreUrl,
    pub seed: u64,
    /// Share of billing, cdr, recharges and tickets rows made invalid.
    pub dirty: f64,
    pub format: Format,
    /// Expected cdr rows a day across the base; `None`: about one event a line a day.
    pub cdr_per_day: Option<u64>,
    /// Keep the recharges of the last N days only; 0: the full history.
    pub recharge_days: u32,
    /// Write this day's cdr folder only.
    pub only_cdr_day: Option<NaiveDate>,
    pub shard_size: u64,
    /// Worker threads; `None`: one per core. The output does not depend on it.
    pub threads: Option<usize>,
    /// A fixed world: drawn once relative to this day A and observed on
    /// `as_of` (in A ..= A + 90); `None`: placed relative to `as_of`.
    pub world_date: Option<NaiveDate>,
    /// A warehouse whose published contacts_history (before `as_of`) treats the lines.
    pub campaigns_from: Option<StoreUrl>,
    /// The factor on [`EFFECT`](super::EFFECT).
    pub treatment_scale: f64,
    /// The shares of lines planted with fraud patterns (none by default).
    pub plant: Plant,
}

impl Options {
    /// The defaults of everything but the required size, snapshot and output.
    pub fn new(subscribers: u64, days: u32, as_of: NaiveDate, out: StoreUrl) -> Options {
        Options {
            subscribers,
            days,
            as_of,
            out,
            seed: 1,
            dirty: 0.0,
            format: Format::Csv,
            cdr_per_day: None,
            recharge_days: 0,
            only_cdr_day: None,
            shard_size: DEFAULT_SHARD_SIZE,
            threads: None,
            world_date: None,
            campaigns_from: None,
            treatment_scale: 1.0,
            plant: Plant::default(),
        }
    }

    pub fn check(&self) -> Result<(), GenerateError> {
        let usage = |m: String| Err(GenerateError::Usage(m));
        if !(1..=MAX_SUBSCRIBERS).contains(&self.subscribers) {
            return usage(format!("--subscribers must be 1..={MAX_SUBSCRIBERS}"));
        }
        if !(1..=3660).contains(&self.days) {
            return usage("--days must be 1..=3660".into());
        }
        if self.shard_size == 0 || self.threads == Some(0) {
            return usage("--shard-size and --threads must be positive".into());
        }
        if !(0.0..=1.0).contains(&self.dirty) {
            return usage("--dirty is a share of rows: 0..=1".into());
        }
        if self.cdr_per_day == Some(0) {
            return usage("--cdr-per-day must be positive".into());
        }
        use chrono::Datelike;
        if !(1920..=2190).contains(&self.as_of.year()) {
            return usage(format!("--as-of {} is out of the supported years 1920..=2190", self.as_of));
        }
        if let Some(day) = self.only_cdr_day {
            let first = self.as_of - chrono::Days::new(u64::from(self.days) - 1);
            if day < first || day > self.as_of {
                return usage(format!(
                    "--only-cdr-day {day} is outside the cdr window {first} .. {} (--days {} before --as-of)",
                    self.as_of, self.days
                ));
            }
        }
        if let Some(a) = self.world_date {
            let last = a + chrono::Days::new(population::WORLD_DAYS as u64);
            if self.as_of < a || self.as_of > last {
                return usage(format!(
                    "--as-of {} is outside the world of --world-date {a}: it may be observed on {a} .. {last}",
                    self.as_of
                ));
            }
        }
        if self.campaigns_from.is_some() && self.world_date.is_none() {
            return usage("--campaigns-from needs --world-date: campaigns act on one fixed world".into());
        }
        if !(self.treatment_scale.is_finite() && self.treatment_scale >= 0.0) {
            return usage("--treatment-scale must be a number >= 0".into());
        }
        self.plant.check().map_err(GenerateError::Usage)?;
        Ok(())
    }
}
