//! The simulated lines: each line's static traits (plan, segment, activation,
//! contract, fault episodes, exit and its warning signs, usage level, ARPU,
//! recharge habit) drawn from its own random stream, so any file can be
//! generated without the others.

mod line;
mod simulate;
mod world;

pub use line::{Episode, Line, Pattern};
pub use world::World;

pub const HISTORY_YEARS: i32 = 8;
/// Cohorts grow 20% a year.
pub const COHORT_GROWTH: f64 = 0.20;
pub const BILL_MONTHS: usize = 18;
/// How far past T decisions to leave are simulated (for warning signs at T and the truth).
pub const FUTURE_DAYS: i32 = 90;
/// A fixed world (`--world-date A`) may be observed on the days A ..= A + WORLD_DAYS.
pub const WORLD_DAYS: i32 = 90;

pub const PLANS: [&str; 2] = ["prepaid", "postpaid"];
pub const PREPAID: u8 = 0;
pub const POSTPAID: u8 = 1;
pub const SEGMENTS: [&str; 3] = ["consumer", "youth", "business"];
pub const YOUTH: u8 = 1;
pub const REGIONS: [(&str, u32); 4] = [("north", 30), ("south", 25), ("east", 25), ("west", 20)];
pub const SALES_CHANNELS: [(&str, u32); 4] = [("store", 4), ("online", 3), ("dealer", 2), ("telesales", 1)];
pub const REASONS: [&str; 5] = ["", "voluntary", "involuntary", "port_out", "other"];
pub const DENOMINATIONS: [i64; 7] = [5, 10, 15, 20, 25, 30, 50];
pub const RECHARGE_CHANNELS: [&str; 7] = ["app", "app", "app", "shop", "voucher", "online", "online"];
pub const OPTOUT_CHANNELS: [&str; 6] = ["sms", "sms", "email", "email", "call", ""];
pub const MAX_CONTACTS: usize = 9;
/// A prepaid line leaving after a decline stops recharging this many days before its end.
pub const QUIET_DAYS: i32 = 15;

/// Stream tags: what a random stream is for.
pub mod tag {
    pub const LINE: u64 = 1;
    pub const SOURCE: u64 = 2;
    pub const CDR: u64 = 3;
    pub const DIRTY: u64 = 4;
    /// A contact's treatment draw, by (line, wave, campaign).
    pub const TREATMENT: u64 = 5;
    /// A contact's response, by (line, wave, campaign).
    pub const RESPONSE: u64 = 6;
    /// A line's planted fraud pattern, by (line), and its planted events, by (line, day).
    pub const PLANT: u64 = 7;
    /// A line's planted revenue anomaly's amounts and times, by (line).
    pub const REVENUE: u64 = 8;
    /// Whether and when the fraud team confirms a planted line's case, by (line).
    pub const CASE: u64 = 9;
}

/// What the traits of a set of lines add up to (for the summary).
#[derive(Debug, Clone, Copy, Default)]
pub struct Census {
    pub lines: u64,
    pub active: u64,
    pub deactivated_30: u64,
    pub deactivated_60: u64,
    pub warned: u64,
    pub abrupt: u64,
    pub dips: u64,
}

impl Census {
    pub fn add(&mut self, other: &Census) {
        self.lines += other.lines;
        self.active += other.active;
        self.deactivated_30 += other.deactivated_30;
        self.deactivated_60 += other.deactivated_60;
        self.warned += other.warned;
        self.abrupt += other.abrupt;
        self.dips += other.dips;
    }
}

/// `S` and eight digits: a line's subscriber_id.
pub fn subscriber_id(id: u32) -> [u8; 9] {
    let mut out = *b"S00000000";
    eight_digits(&mut out[1..], id);
    out
}

/// The last eight decimal digits of `v` into `out[..8]`.
pub fn eight_digits(out: &mut [u8], mut v: u32) {
    for i in (0..8).rev() {
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{calendar, churn};

    fn world() -> World {
        World::new(1, calendar::from_date("2026-11-22".parse().unwrap()), 150, 0)
    }

    #[test]
    fn lines_are_fixed_by_seed_and_id() {
        let w = world();
        let (a, b) = (Line::simulate(&w, 17), Line::simulate(&w, 17));
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_ne!(format!("{a:?}"), format!("{:?}", Line::simulate(&w, 18)));
    }

    #[test]
    fn the_base_has_the_scripted_mix() {
        let w = world();
        let lines: Vec<Line> = (0..20_000).map(|i| Line::simulate(&w, i)).collect();
        let share = |f: &dyn Fn(&Line) -> bool| lines.iter().filter(|l| f(l)).count() as f64 / lines.len() as f64;
        assert!((share(&|l| l.plan == PREPAID) - 0.55).abs() < 0.02);
        assert!(share(&|l| l.act <= w.t && l.act >= w.t - 8 * 365) == 1.0);
        // recent cohorts larger: the last year holds more lines than the first
        assert!(share(&|l| l.act > w.t - 365) > 1.5 * share(&|l| l.act <= w.t - 7 * 365));
        assert!(lines.iter().all(|l| l.end.is_none_or(|e| e > l.act)));
        // postpaid commitments 24/12/none months: 45/35/20%
        let postpaid = share(&|l| l.plan == POSTPAID);
        for (months, weight) in churn::COMMITMENTS {
            let s = share(&|l| l.plan == POSTPAID && l.commitment == months) / postpaid;
            assert!((s - f64::from(weight) / 100.0).abs() < 0.02, "{months}: {s}");
        }
        assert!(share(&|l| l.plan == PREPAID && l.commitment > 0) == 0.0);
        // about 70% of voluntary leavers decline first; involuntary exits have no warning of their own
        let ended: Vec<&Line> = lines.iter().filter(|l| l.end.is_some() && l.reason != churn::INVOLUNTARY).collect();
        let warned = ended.iter().filter(|l| l.episodes.first().is_some_and(|e| e.falls)).count();
        assert!((warned as f64 / ended.len() as f64 - 0.70).abs() < 0.03, "{warned} of {}", ended.len());
        let involuntary = share(&|l| l.reason == churn::INVOLUNTARY) / share(&|l| l.end.is_some());
        assert!((0.08..0.25).contains(&involuntary), "{involuntary}");
        assert!(lines.iter().all(|l| (l.reason == 0) == l.end.is_none()));
        let mean_level = lines.iter().map(|l| l.level).sum::<f64>() / lines.len() as f64;
        assert!((mean_level - 1.0).abs() < 0.03, "{mean_level}");
    }

    #[test]
    fn engagement_declines_to_its_low_and_dips_recover() {
        let mut line = Line::simulate(&world(), 1);
        line.episodes = vec![Episode::new(100, 50, true, 0.1), Episode::new(300, 40, false, 0.2)];
        assert_eq!(line.engagement(99), 1.0);
        assert!((line.engagement(149) - 0.1).abs() < 1e-12);
        assert!(line.engagement(120) > line.engagement(140));
        assert!((line.engagement(300 + 27) - 0.2).abs() < 1e-12); // p = 0.7
        assert!(line.engagement(339) > 0.9 && line.engagement(340) == 1.0);
        // calls made sink to half by the end of a fall; a dip leaves them alone
        assert_eq!(line.outgoing_factor(99), 1.0);
        assert!((line.outgoing_factor(149) - 0.5).abs() < 1e-12);
        assert_eq!(line.outgoing_factor(320), 1.0);
        assert_eq!(&subscriber_id(1234), b"S00001234");
    }
}
