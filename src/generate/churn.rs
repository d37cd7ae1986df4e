//! How lines leave: a voluntary decision hazard with drivers (term
//! contracts, network faults, age, sales channel), the exits that follow a
//! decision (warned or abrupt, snapped to a monthly anniversary for
//! postpaid), involuntary exits for non-payment, and the true probability of
//! a voluntary exit in the 30 days after T that the truth file states.
//!
//! Hazards are piecewise constant in time, so a line's first decision is
//! found interval by interval with one exponential draw, not day by day.

use super::calendar;
use super::rng::Rng;

pub const DAYS_PER_MONTH: f64 = 30.44;
/// Postpaid term contracts in months (0: no commitment), with their weights in percent.
pub const COMMITMENTS: [(u8, u32); 3] = [(24, 45), (12, 35), (0, 20)];
/// The hazard factor in the last month of a term (the renewal window), and in the others.
const RENEWAL_FACTOR: f64 = 4.0;
const IN_TERM_FACTOR: f64 = 0.35;
/// Fault episodes a year per line, by region (`REGIONS` order), their length
/// in days and their factor on the hazard while one lasts.
const FAULTS_PER_YEAR: [f64; 4] = [0.3, 0.3, 0.8, 0.4];
pub const FAULT_DAYS: i32 = 45;
const FAULT_FACTOR: f64 = 3.0;
/// Holders under this age churn `YOUNG_FACTOR` times as often (and fail to pay twice as often).
const YOUNG_AGE: i32 = 26;
const YOUNG_FACTOR: f64 = 1.3;
/// The hazard factor by sales channel (`SALES_CHANNELS` order: store, online, dealer, telesales).
const CHANNEL_FACTOR: [f64; 4] = [0.9, 1.15, 1.0, 1.35];
/// Share of decisions followed by a visible decline, and the days from the
/// decision to the end: warned 30..=75, abrupt 0..=10; involuntary 0..=5.
pub const WARNED_SHARE: f64 = 0.70;
const WARNED_DAYS: (i32, i32) = (30, 75);
const ABRUPT_DAYS: (i32, i32) = (0, 10);
const INVOLUNTARY_DAYS: i32 = 5;
/// Involuntary (non-payment) exits a month: prepaid, postpaid (x2 under
/// `YOUNG_AGE`, x2 in the lowest ARPU tier).
const INVOLUNTARY_MONTHLY: [f64; 2] = [0.002, 0.003];
/// Reasons of voluntary exits in percent, per plan: voluntary, port_out, other.
const VOLUNTARY_REASONS: [[u32; 3]; 2] = [[85, 10, 5], [45, 50, 5]];
/// Indices in `population::REASONS`.
pub const VOLUNTARY: u8 = 1;
pub const INVOLUNTARY: u8 = 2;
pub const PORT_OUT: u8 = 3;
pub const OTHER: u8 = 4;
/// The truth's horizon: a voluntary exit in (T, T + 30].
pub const TRUTH_DAYS: i32 = 30;

/// A voluntary decision to leave, on `day`; `warned`: a decline precedes the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub day: i32,
    pub warned: bool,
}

/// What a line's hazards depend on.
#[derive(Debug, Clone, Copy)]
pub struct Drivers<'a> {
    pub postpaid: bool,
    pub act: i32,
    /// Monthly churn propensity (Beta by plan and segment).
    pub theta: f64,
    /// Term in months; 0: none.
    pub commitment: u8,
    pub birth_year: i32,
    pub sales_channel: u8,
    pub region: u8,
    pub low_tier: bool,
    /// Start days of the fault episodes, ascending.
    pub faults: &'a [i32],
}

impl Drivers<'_> {
    /// The first day on which the holder is `YOUNG_AGE` or older (age = year - birth_year).
    fn adult_from(&self) -> i32 {
        calendar::days_from_civil(self.birth_year + YOUNG_AGE, 1, 1)
    }

    /// The contract factor on day `d`, and the first day after `d` it may change.
    fn contract(&self, d: i32) -> (f64, i32) {
        if !self.postpaid || self.commitment == 0 {
            return (1.0, i32::MAX);
        }
        let c = i64::from(self.commitment);
        let k = calendar::tenure_months(self.act, d);
        let pos = k.rem_euclid(c);
        if pos == c - 1 {
            (RENEWAL_FACTOR, calendar::month_start(self.act, k + 1))
        } else {
            (IN_TERM_FACTOR, calendar::month_start(self.act, k + c - 1 - pos))
        }
    }

    /// Whether a fault episode (among those starting on or before `known_to`)
    /// lasts on day `d`, and the first day after `d` that may change.
    fn fault(&self, d: i32, known_to: i32) -> (bool, i32) {
        let (mut on, mut next) = (false, i32::MAX);
        for &s in self.faults.iter().take_while(|&&s| s <= known_to) {
            if s > d {
                next = next.min(s);
                break;
            }
            if d < s + FAULT_DAYS {
                on = true;
                next = next.min(s + FAULT_DAYS);
            }
        }
        (on, next)
    }

    /// The daily voluntary hazard without the fault factor, constant from `d` to the day returned.
    fn base(&self, d: i32) -> (f64, i32) {
        let (contract, next) = self.contract(d);
        let adult = self.adult_from();
        let (age, next) = if d < adult { (YOUNG_FACTOR, next.min(adult)) } else { (1.0, next) };
        let channel = CHANNEL_FACTOR[self.sales_channel as usize];
        (self.theta / DAYS_PER_MONTH * contract * age * channel, next)
    }

    /// The daily voluntary decision hazard h(d), constant from `d` to the day returned.
    pub fn voluntary(&self, d: i32) -> (f64, i32) {
        let (h, next) = self.base(d);
        let (fault, next_fault) = self.fault(d, i32::MAX);
        (if fault { h * FAULT_FACTOR } else { h }, next.min(next_fault))
    }

    /// The daily involuntary hazard, constant from `d` to the day returned.
    pub fn involuntary(&self, d: i32) -> (f64, i32) {
        let monthly = INVOLUNTARY_MONTHLY[usize::from(self.postpaid)];
        if !self.postpaid {
            return (monthly / DAYS_PER_MONTH, i32::MAX);
        }
        let tier = if self.low_tier { 2.0 } else { 1.0 };
        let adult = self.adult_from();
        let (age, next) = if d < adult { (2.0, adult) } else { (1.0, i32::MAX) };
        (monthly * tier * age / DAYS_PER_MONTH, next)
    }

    /// The first day out of service of an exit that falls due on day `x`:
    /// `x` itself for prepaid, the first monthly anniversary of the
    /// activation on or after `x` for postpaid; never before the day after activation.
    pub fn end_on(&self, x: i32) -> i32 {
        if self.postpaid { calendar::anniversary_on_or_after(self.act, x) } else { x.max(self.act + 1) }
    }
}

/// The first day in `from..to` on which a piecewise-constant daily hazard,
/// integrated from `from`, passes `e` (an Exp(1) draw); `piece(d)` is the
/// hazard on day `d` and the first day after `d` it may change.
pub fn first_day(from: i32, to: i32, e: f64, piece: impl Fn(i32) -> (f64, i32)) -> Option<i32> {
    let (mut d, mut area) = (from, 0.0);
    while d < to {
        let (rate, next) = piece(d);
        let next = next.clamp(d + 1, to);
        let step = rate * f64::from(next - d);
        if area + step > e {
            return Some((d + ((e - area) / rate) as i32).min(next - 1));
        }
        area += step;
        d = next;
    }
    None
}

/// The fault episodes of a line from `act` to `to`: a Poisson process at its region's yearly rate.
pub fn faults(r: &mut Rng, region: u8, act: i32, to: i32) -> Vec<i32> {
    let mean_gap = 365.25 / FAULTS_PER_YEAR[region as usize];
    let mut out = Vec::new();
    let mut s = f64::from(act) + r.exponential(mean_gap);
    while s < f64::from(to) {
        out.push(s as i32);
        s += r.exponential(mean_gap);
    }
    out
}

/// How a line ends, if it does before its exits stop being simulated.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exit {
    /// The voluntary decision, unless an involuntary exit came first.
    pub decision: Option<Decision>,
    /// The first day out of service.
    pub end: Option<i32>,
    /// Index in `population::REASONS` (0 without an end).
    pub reason: u8,
    /// The end of the voluntary exit, for the decline's length.
    pub voluntary_end: Option<i32>,
}

/// Draws a line's exit: its first voluntary decision and first involuntary
/// default on days `act..to`, and what follows them; the line ends at the earlier.
pub fn exit(r: &mut Rng, drivers: &Drivers, to: i32) -> Exit {
    let act = drivers.act;
    let voluntary = first_day(act, to, r.exponential(1.0), |d| drivers.voluntary(d)).map(|day| {
        let warned = r.chance(WARNED_SHARE);
        let (lo, hi) = if warned { WARNED_DAYS } else { ABRUPT_DAYS };
        let len = lo + r.below((hi - lo + 1) as usize) as i32;
        let x = r.below(100) as u32;
        let [v, p, _] = VOLUNTARY_REASONS[usize::from(drivers.postpaid)];
        let reason = if x < v {
            VOLUNTARY
        } else if x < v + p {
            PORT_OUT
        } else {
            OTHER
        };
        (Decision { day, warned }, drivers.end_on(day + len), reason)
    });
    let involuntary = first_day(act, to, r.exponential(1.0), |d| drivers.involuntary(d))
        .map(|day| drivers.end_on(day + r.below(INVOLUNTARY_DAYS as usize + 1) as i32));
    match (voluntary, involuntary) {
        (vol, Some(end)) if vol.is_none_or(|(_, v, _)| end < v) => {
            // a decision taken before the default still shows its decline
            let vol = vol.filter(|(decision, _, _)| decision.day < end);
            Exit { decision: vol.map(|v| v.0), end: Some(end), reason: INVOLUNTARY, voluntary_end: vol.map(|v| v.1) }
        }
        (Some((decision, end, reason)), _) => {
            Exit { decision: Some(decision), end: Some(end), reason, voluntary_end: Some(end) }
        }
        (None, _) => Exit::default(),
    }
}

/// The probability, given what is knowable at the end of day `t`, that a
/// line in service then ends voluntarily in (t, t + 30].
///
/// Knowable: the drivers, the fault episodes started by `t`, and a warned
/// decision taken by `t` (its decline shows) with its day. Not knowable: the
/// days from that decision to the end, abrupt decisions not yet ended,
/// future decisions and future faults.
///
/// - A warned decision on day D <= t: the share of its lengths (30..=75 days,
///   equally likely) whose end, after t as observed, falls in (t, t + 30].
/// - Otherwise, over the days d from t - 44 (an abrupt decision earlier has
///   ended by t, even postpaid) to t + 30: the chance q(d) = 1 - exp(-h(d))
///   of a first decision on d, times 0.3 (abrupt: a warned one would show,
///   or end after t + 30), times the share of its lengths (0..=10) ending in
///   (t, t + 30]; divided by the chance of what was observed (no decision
///   by t, or an abrupt one ending after t). After t the fault factor is its
///   expectation over the episodes that may start by d.
///
/// What it leaves out: an involuntary exit coming first (about 0.3% a
/// month), and that expectation taken inside q rather than outside it.
pub fn hazard_30d(drivers: &Drivers, decision: Option<Decision>, t: i32) -> f64 {
    let window = |end: i32| end > t && end <= t + TRUTH_DAYS;
    if let Some(Decision { day, warned: true }) = decision.filter(|d| d.day <= t) {
        let (mut after, mut inside) = (0u32, 0u32);
        for len in WARNED_DAYS.0..=WARNED_DAYS.1 {
            let end = drivers.end_on(day + len);
            after += u32::from(end > t);
            inside += u32::from(window(end));
        }
        return if after > 0 { f64::from(inside) / f64::from(after) } else { 0.0 };
    }
    // the anniversaries the abrupt exits below can snap to, looked up, not recomputed
    let mut anniversaries = [i32::MAX; 6];
    if drivers.postpaid {
        let k0 = calendar::tenure_months(drivers.act, t - 45).max(0) + 1;
        for (i, a) in anniversaries.iter_mut().enumerate() {
            *a = calendar::month_start(drivers.act, k0 + i as i64);
        }
    }
    let end_on = |x: i32| -> i32 {
        match anniversaries.iter().find(|&&a| a >= x) {
            Some(&a) if drivers.postpaid && a != i32::MAX => a,
            _ => drivers.end_on(x),
        }
    };
    let fault_rate = FAULTS_PER_YEAR[drivers.region as usize] / 365.25;
    let abrupt_lens = f64::from(ABRUPT_DAYS.1 - ABRUPT_DAYS.0 + 1);
    let (mut survive, mut observed, mut inside) = (1.0, 0.0, 0.0);
    let mut piece = (0.0, i32::MIN);
    for d in (t - 44).max(drivers.act)..=t + TRUTH_DAYS {
        if d == t + 1 {
            observed += survive;
        }
        if d >= piece.1 {
            piece = drivers.base(d);
        }
        let (fault, _) = drivers.fault(d, t);
        let factor = if fault {
            FAULT_FACTOR
        } else if d > t {
            // a new episode on day d needs a start in (t, d] within its length
            let days = d - (t + 1).max(d - FAULT_DAYS + 1) + 1;
            1.0 + (FAULT_FACTOR - 1.0) * (1.0 - (-fault_rate * f64::from(days)).exp())
        } else {
            1.0
        };
        let q = 1.0 - (-piece.0 * factor).exp();
        let (mut after, mut ends_inside) = (0u32, 0u32);
        for len in ABRUPT_DAYS.0..=ABRUPT_DAYS.1 {
            let end = end_on(d + len);
            after += u32::from(end > t);
            ends_inside += u32::from(window(end));
        }
        let abrupt = survive * q * (1.0 - WARNED_SHARE) / abrupt_lens;
        if d <= t {
            observed += abrupt * f64::from(after);
        }
        inside += abrupt * f64::from(ends_inside);
        survive *= 1.0 - q;
    }
    if observed > 0.0 { inside / observed } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::super::population::{Line, POSTPAID, PREPAID, World};
    use super::*;

    fn day(s: &str) -> i32 {
        calendar::from_date(s.parse().unwrap())
    }

    const T: &str = "2026-11-22";

    fn lines(n: u32) -> (World, Vec<Line>) {
        let w = World::new(1, day(T), 150, 0);
        let lines = (0..n).map(|i| Line::simulate(&w, i)).collect();
        (w, lines)
    }

    fn drivers<'a>(postpaid: bool, act: &str, commitment: u8, faults: &'a [i32]) -> Drivers<'a> {
        Drivers {
            postpaid,
            act: day(act),
            theta: 0.03,
            commitment,
            birth_year: 1980,
            sales_channel: 2,
            region: 2,
            low_tier: false,
            faults,
        }
    }

    #[test]
    fn a_piecewise_hazard_is_integrated_piece_by_piece() {
        // 0.1 a day for 10 days, then 1 a day: an area of 1.5 is passed on day 10 + 0.5
        let piece = |d: i32| if d < 10 { (0.1, 10) } else { (1.0, i32::MAX) };
        assert_eq!(first_day(0, 100, 0.95, piece), Some(9));
        assert_eq!(first_day(0, 100, 1.5, piece), Some(10));
        assert_eq!(first_day(0, 100, 2.2, piece), Some(11));
        assert_eq!(first_day(0, 11, 2.2, piece), None);
        assert_eq!(first_day(0, 100, 5.0, |_| (0.0, i32::MAX)), None);
    }

    #[test]
    fn the_contract_factor_peaks_in_the_last_month_of_each_term() {
        let d = drivers(true, "2025-01-31", 12, &[]);
        assert_eq!(d.contract(day("2025-12-30")), (IN_TERM_FACTOR, day("2025-12-31")));
        assert_eq!(d.contract(day("2025-12-31")), (RENEWAL_FACTOR, day("2026-01-31")));
        assert_eq!(d.contract(day("2026-01-31")), (IN_TERM_FACTOR, day("2026-12-31")));
        assert_eq!(d.contract(day("2027-01-30")), (RENEWAL_FACTOR, day("2027-01-31")));
        assert_eq!(drivers(true, "2025-01-31", 0, &[]).contract(day("2025-12-31")), (1.0, i32::MAX));
        assert_eq!(drivers(false, "2025-01-31", 12, &[]).contract(day("2025-12-31")), (1.0, i32::MAX));
        // 45 days of fault from each start; the hazard triples while one lasts
        let faults = [day("2026-01-01"), day("2026-02-01")];
        let d = drivers(true, "2025-01-31", 0, &faults);
        assert_eq!(d.fault(day("2025-12-31"), i32::MAX), (false, day("2026-01-01")));
        assert_eq!(d.fault(day("2026-02-10"), i32::MAX), (true, day("2026-02-15")));
        assert_eq!(d.fault(day("2026-03-17"), i32::MAX), (true, day("2026-03-18")));
        assert_eq!(d.fault(day("2026-03-18"), i32::MAX), (false, i32::MAX));
        assert_eq!(d.fault(day("2026-02-10"), day("2026-01-15")), (true, day("2026-02-15")));
        let (h, _) = d.voluntary(day("2026-02-10"));
        assert!((h - 0.03 / DAYS_PER_MONTH * FAULT_FACTOR).abs() < 1e-15);
    }

    #[test]
    fn a_visible_warned_decision_gives_the_share_of_its_lengths_ending_in_the_month() {
        let t = day(T);
        let d = drivers(false, "2024-01-01", 0, &[]);
        // ends D + 30 ..= D + 75 with D = t - 40: after t for 41..=75 (35 lengths), by t + 30 for 41..=70 (30)
        let h = hazard_30d(&d, Some(Decision { day: t - 40, warned: true }), t);
        assert!((h - 30.0 / 35.0).abs() < 1e-12, "{h}");
        // postpaid: D = t - 5 (2026-11-17), D + len from 12-17 to 2027-01-31, snapped to the
        // 10th: 2027-01-10 or 02-10, both after the month; to the 20th: 12-20 for len 30..=33
        let d = drivers(true, "2024-01-10", 0, &[]);
        assert_eq!(hazard_30d(&d, Some(Decision { day: t - 5, warned: true }), t), 0.0);
        let d = drivers(true, "2024-01-20", 0, &[]);
        let h = hazard_30d(&d, Some(Decision { day: t - 5, warned: true }), t);
        assert!((h - 4.0 / 46.0).abs() < 1e-12, "{h}");
    }

    /// The truth against exits drawn many times for fixed drivers: the
    /// share of lines in service at T without a visible decision that leave
    /// voluntarily in the month after T.
    fn recovered(template: Drivers, past: &[i32], n: u64) -> (f64, f64, f64) {
        let t = day(T);
        let horizon = t + 91;
        let (mut seen, mut left) = (0u64, 0u64);
        for i in 0..n {
            let r = &mut Rng::stream(9, &[i]);
            let mut faults = past.to_vec();
            faults.extend(super::faults(r, template.region, t + 1, horizon));
            let e = exit(r, &Drivers { faults: &faults, ..template }, horizon);
            let visible = e.decision.is_some_and(|d| d.warned && d.day <= t);
            if e.end.is_none_or(|x| x > t) && !visible {
                seen += 1;
                left += u64::from(e.reason != INVOLUNTARY && e.end.is_some_and(|x| x <= t + TRUTH_DAYS));
            }
        }
        let p = left as f64 / seen as f64;
        (hazard_30d(&Drivers { faults: past, ..template }, None, t), p, (p * (1.0 - p) / seen as f64).sqrt())
    }

    #[test]
    fn the_truth_without_a_visible_decision_is_recovered_by_simulation() {
        let t = day(T);
        // postpaid in its renewal window (2026-11-10 .. 12-10) during a fault;
        // prepaid young, no fault yet; postpaid mid-term
        let fault = [t - 20];
        let cases = [
            Drivers { theta: 0.05, ..drivers(true, "2025-12-10", 12, &[]) },
            Drivers { theta: 0.2, birth_year: 2004, sales_channel: 3, ..drivers(false, "2026-09-01", 0, &[]) },
            Drivers { theta: 0.1, ..drivers(true, "2025-03-01", 24, &[]) },
        ];
        for (i, case) in cases.into_iter().enumerate() {
            let past: &[i32] = if i == 0 { &fault } else { &[] };
            let (truth, share, se) = recovered(case, past, 200_000);
            assert!((truth - share).abs() < 4.0 * se, "case {i}: truth {truth} vs {share} +- {se}");
        }
    }

    #[test]
    fn postpaid_voluntary_exits_end_on_anniversaries_of_the_activation() {
        let (_, lines) = lines(20_000);
        let ends: Vec<&Line> =
            lines.iter().filter(|l| l.plan == POSTPAID && l.end.is_some() && l.reason != INVOLUNTARY).collect();
        assert!(ends.len() > 1_000, "{}", ends.len());
        for l in ends {
            let e = l.end.unwrap_or_default();
            assert_eq!(calendar::month_start(l.act, calendar::tenure_months(l.act, e)), e, "line {}", l.id);
        }
    }

    /// Decisions a month in service (up to T, up to the decision) by whether `split` holds on the day.
    fn decision_rates(lines: &[Line], t: i32, split: impl Fn(&Line, i32) -> bool) -> (f64, f64) {
        let (mut decided, mut exposed) = ([0.0; 2], [0.0; 2]);
        for l in lines {
            let stop = l.decision.map_or(l.end.unwrap_or(t + 1), |d| d.day + 1).min(t + 1);
            for d in l.act..stop {
                let i = usize::from(split(l, d));
                exposed[i] += 1.0 / DAYS_PER_MONTH;
                decided[i] += f64::from(u8::from(l.decision.is_some_and(|x| x.day == d)));
            }
        }
        (decided[1] / exposed[1], decided[0] / exposed[0])
    }

    #[test]
    fn term_lines_decide_to_leave_mostly_in_their_renewal_window() {
        let (w, lines) = lines(20_000);
        let term: Vec<Line> = lines.into_iter().filter(|l| l.commitment > 0).collect();
        let (renewal, mid_term) = decision_rates(&term, w.t, |l, d| l.drivers().contract(d).0 == RENEWAL_FACTOR);
        // 4 / 0.35 = 11.4 times as likely, less the lines that left before
        let ratio = renewal / mid_term;
        assert!((6.0..14.0).contains(&ratio), "{renewal} vs {mid_term}: {ratio}");
    }

    #[test]
    fn lines_decide_to_leave_more_during_a_fault() {
        let (w, lines) = lines(20_000);
        let (fault, other) = decision_rates(&lines, w.t, |l, d| l.drivers().fault(d, i32::MAX).0);
        let ratio = fault / other;
        assert!((2.3..3.5).contains(&ratio), "{fault} vs {other}: {ratio}");
    }

    #[test]
    fn about_two_percent_of_active_lines_leave_a_month() {
        // the 12 months of 30 days before T: ends in the month over lines in service at its start
        let (w, lines) = lines(50_000);
        let rate = |plan: Option<u8>| {
            let (mut active, mut ended) = (0u32, 0u32);
            for m in 1..=12 {
                let (first, next) = (w.t - 30 * m, w.t - 30 * (m - 1));
                for l in lines.iter().filter(|l| plan.is_none_or(|p| l.plan == p)) {
                    if l.act <= first && l.end.is_none_or(|e| e > first) {
                        active += 1;
                        ended += u32::from(l.end.is_some_and(|e| e <= next));
                    }
                }
            }
            f64::from(ended) / f64::from(active)
        };
        let all = rate(None);
        assert!((0.0175..0.0225).contains(&all), "{all}");
        // prepaid leave about twice as often as postpaid
        assert!(rate(Some(PREPAID)) > 1.6 * rate(Some(POSTPAID)), "{} {}", rate(Some(PREPAID)), rate(Some(POSTPAID)));
    }

    #[test]
    fn the_truth_is_calibrated_on_the_simulated_base() {
        let (w, lines) = lines(100_000);
        let t = w.t;
        let (mut n, mut expected, mut left, mut warned) = (0.0, 0.0, 0.0, [0.0; 2]);
        for l in lines.iter().filter(|l| l.end.is_none_or(|e| e > t)) {
            let h = hazard_30d(&l.drivers(), l.decision, t);
            assert!((0.0..=1.0).contains(&h));
            let churns = l.reason != INVOLUNTARY && l.end.is_some_and(|e| e <= t + TRUTH_DAYS);
            n += 1.0;
            expected += h;
            left += f64::from(u8::from(churns));
            if l.decision.is_some_and(|d| d.warned && d.day <= t) {
                warned[0] += h;
                warned[1] += f64::from(u8::from(churns));
            }
        }
        // within 3 standard errors of the realised share, overall and for the visible decisions
        let (mean, share) = (expected / n, left / n);
        let se = (share * (1.0 - share) / n).sqrt();
        assert!((mean - share).abs() < 3.0 * se, "mean hazard {mean} vs share {share} +- {se}");
        assert!((warned[0] - warned[1]).abs() < 3.0 * warned[1].sqrt(), "{warned:?}");
        assert!(left > 500.0 && warned[1] > 0.5 * left, "{left} {warned:?}");
    }
}
