//! The calendar of one generation: the snapshot day, the windows written
//! (cdr and tickets, recharges, bill months), where a fixed world is
//! observed from, and the UTC offsets of its days.

use super::{BILL_MONTHS, FUTURE_DAYS, HISTORY_YEARS, WORLD_DAYS};
use crate::generate::calendar;

/// Dips are drawn from this many days before the first cdr day.
const DIP_LEAD_DAYS: i32 = 75;

/// The calendar of one generation: the snapshot, the windows and the bill months.
#[derive(Debug, Clone)]
pub struct World {
    pub seed: u64,
    /// The snapshot day T.
    pub t: i32,
    /// The day the population is placed relative to (activations are ages
    /// before it): T, or the world date A of a fixed world.
    pub origin: i32,
    /// The last snapshot the world is simulated for: T, or A + WORLD_DAYS.
    /// Exits are simulated to `last + FUTURE_DAYS`, so no draw depends on T
    /// in a fixed world.
    pub last: i32,
    /// The first day dips are drawn from.
    pub(super) dips_from: i32,
    /// The first day of the cdr and tickets window (T - days + 1).
    pub w0: i32,
    /// The first day whose recharges are written.
    pub rc0: i32,
    pub months: Vec<BillMonth>,
    /// UTC offsets (minutes) of the days from `base` to T + 1.
    base: i32,
    offsets: Vec<i32>,
}

/// A calendar month of the billing window.
#[derive(Debug, Clone)]
pub struct BillMonth {
    /// `YYYY-MM`.
    pub label: String,
    /// `YYYYMM`, for invoice ids.
    pub compact: String,
    pub first: i32,
    pub next: i32,
}

impl World {
    pub fn new(seed: u64, t: i32, days: u32, recharge_days: u32) -> World {
        let (y, m, _) = calendar::civil_from_days(t);
        let mut months = Vec::with_capacity(BILL_MONTHS);
        let (mut y, mut m) = (y, m);
        for _ in 0..BILL_MONTHS {
            (y, m) = if m > 1 { (y, m - 1) } else { (y - 1, 12) };
            let first = calendar::days_from_civil(y, m, 1);
            let next = first + calendar::days_in_month(y, m) as i32;
            months.push(BillMonth { label: format!("{y}-{m:02}"), compact: format!("{y}{m:02}"), first, next });
        }
        months.reverse();
        let rc0 = if recharge_days > 0 { t - recharge_days as i32 + 1 } else { i32::MIN };
        let w0 = t - days as i32 + 1;
        let base = (t - HISTORY_YEARS * 366 - 40).min(w0 - 80);
        let offsets = (base..t + 2).map(calendar::utc_offset_minutes).collect();
        World { seed, t, origin: t, last: t, dips_from: w0 - DIP_LEAD_DAYS, w0, rc0, months, base, offsets }
    }

    /// This calendar observing the world drawn once relative to `a` (T in
    /// `a ..= a + WORLD_DAYS`): activations before `a`, exits simulated to
    /// `a + WORLD_DAYS + FUTURE_DAYS`, dips from the cdr window of a
    /// generation as of `a`; only what is written follows T.
    pub fn fixed_at(self, a: i32) -> World {
        let days = self.t - self.w0 + 1;
        World { origin: a, last: a + WORLD_DAYS, dips_from: a - days + 1 - DIP_LEAD_DAYS, ..self }
    }

    /// The first day exits are no longer simulated on.
    pub fn horizon(&self) -> i32 {
        self.last + FUTURE_DAYS + 1
    }

    /// The UTC offset of a local day, in minutes.
    #[inline]
    pub fn offset(&self, day: i32) -> i32 {
        match self.offsets.get((day - self.base) as usize) {
            Some(o) if day >= self.base => *o,
            _ => calendar::utc_offset_minutes(day),
        }
    }
}
