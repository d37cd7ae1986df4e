//! The simulated lines: each line's static traits (plan, segment, activation,
//! contract, fault episodes, exit and its warning signs, usage level, ARPU,
//! recharge habit) drawn from its own random stream, so any file can be
//! generated without the others.

use super::calendar;
use super::churn::{self, Decision, Drivers};
use super::rng::Rng;

pub const HISTORY_YEARS: i32 = 8;
/// Cohorts grow 20% a year.
pub const COHORT_GROWTH: f64 = 0.20;
pub const BILL_MONTHS: usize = 18;
/// How far past T decisions to leave are simulated (for warning signs at T and the truth).
pub const FUTURE_DAYS: i32 = 90;
/// A fixed world (`--world-date A`) may be observed on the days A ..= A + WORLD_DAYS.
pub const WORLD_DAYS: i32 = 90;
/// Dips are drawn from this many days before the first cdr day.
const DIP_LEAD_DAYS: i32 = 75;

pub const PLANS: [&str; 2] = ["prepaid", "postpaid"];
pub const PREPAID: u8 = 0;
pub const POSTPAID: u8 = 1;
pub const SEGMENTS: [&str; 3] = ["consumer", "youth", "business"];
pub const YOUTH: u8 = 1;
/// Segment mix (consumer, youth, business) per plan.
const SEGMENT_MIX: [[f64; 3]; 2] = [[0.60, 0.35, 0.05], [0.60, 0.15, 0.25]];
/// Monthly churn propensity theta ~ Beta(alpha, beta) per plan and segment:
/// the voluntary decision hazard a month before its factors (see `churn`),
/// set so that about 2% of the lines in service leave a month (prepaid
/// about 2.8%, postpaid about 1.3%, involuntary exits included).
const CHURN_BETA: [[(f64, f64); 3]; 2] =
    [[(1.0, 26.0), (1.1, 22.0), (0.9, 34.0)], [(0.8, 36.0), (0.9, 28.0), (0.7, 75.0)]];
/// (mu, sigma) of the lognormal monthly ARPU per plan and segment.
const ARPU: [[(f64, f64); 3]; 2] =
    [[(2.30, 0.55), (2.20, 0.50), (2.60, 0.55)], [(3.45, 0.40), (3.20, 0.35), (3.90, 0.45)]];
pub const REGIONS: [(&str, u32); 4] = [("north", 30), ("south", 25), ("east", 25), ("west", 20)];
pub const SALES_CHANNELS: [(&str, u32); 4] = [("store", 4), ("online", 3), ("dealer", 2), ("telesales", 1)];
pub const REASONS: [&str; 5] = ["", "voluntary", "involuntary", "port_out", "other"];
/// Mean MB per data session, and mean seconds per call, per segment.
const DATA_MB: [f64; 3] = [6.0, 12.0, 5.0];
const VOICE_S: [f64; 3] = [130.0, 90.0, 200.0];
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
}

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
    dips_from: i32,
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

/// A usage dip (recovers) or a pre-churn decline (falls to its low at deactivation).
#[derive(Debug, Clone, Copy)]
pub struct Episode {
    pub start: i32,
    pub len: i32,
    pub falls: bool,
    pub low: f64,
    /// The first day it no longer shows: `start + len`, or the day after
    /// the wave whose contact cancelled the exit it announced.
    pub stop: i32,
}

impl Episode {
    fn new(start: i32, len: i32, falls: bool, low: f64) -> Episode {
        Episode { start, len, falls, low, stop: start + len }
    }
}

/// A non-involuntary exit a campaign's contact cancelled (`--campaigns-from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// The wave (snapshot day of the list) whose contact saved the line.
    pub wave: i32,
    /// The end that did not happen, and its reason.
    pub end: i32,
    pub reason: u8,
}

/// One line's static traits.
#[derive(Debug, Clone)]
pub struct Line {
    pub id: u32,
    pub plan: u8,
    pub segment: u8,
    pub region: u8,
    pub sales_channel: u8,
    pub act: i32,
    /// Postpaid term in months (0: none; always 0 for prepaid).
    pub commitment: u8,
    /// Monthly churn propensity, drawn per plan and segment.
    pub theta: f64,
    /// Start days of the network fault episodes, ascending, up to T + FUTURE_DAYS.
    pub faults: Vec<i32>,
    /// The voluntary decision to leave, if taken by T + FUTURE_DAYS (and
    /// before an involuntary end).
    pub decision: Option<Decision>,
    /// The first day out of service, if an exit was decided by T +
    /// FUTURE_DAYS (after T it is not written, only drives the warning signs
    /// and the truth).
    pub end: Option<i32>,
    pub reason: u8,
    pub episodes: Vec<Episode>,
    pub arpu: f64,
    pub tier: u8,
    pub birth_year: i32,
    /// Expected events a day before scaling and engagement.
    pub level: f64,
    pub voice_mean: f64,
    pub data_mean: f64,
    pub contacts: [u32; MAX_CONTACTS],
    pub n_contacts: u8,
    /// Base tickets a day.
    pub ticket_rate: f64,
    /// Recharges a day (prepaid), preferred denomination and channel.
    pub recharge_rate: f64,
    pub denomination: u8,
    pub recharge_channel: u8,
    /// Opt-out day and channel.
    pub optout: Option<(i32, u8)>,
    /// The exit a contact cancelled, if one did.
    pub saved: Option<Saved>,
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

fn pick<T: Copy>(r: &mut Rng, table: &[(T, u32)]) -> usize {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut x = r.below(total as usize) as u32;
    for (i, (_, w)) in table.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    table.len() - 1
}

impl Line {
    /// Draws line `id`'s traits from its own stream.
    pub fn simulate(world: &World, id: u32) -> Line {
        let r = &mut Rng::stream(world.seed, &[tag::LINE, u64::from(id)]);
        // nothing drawn here depends on T in a fixed world: only on its origin and last day
        let (origin, last) = (world.origin, world.last);
        let plan = if r.chance(0.55) { PREPAID } else { POSTPAID };
        let mix = SEGMENT_MIX[plan as usize];
        let u = r.uniform();
        let segment = if u < mix[0] {
            0
        } else if u < mix[0] + mix[1] {
            1
        } else {
            2
        };
        let (p, s) = (plan as usize, segment as usize);
        let region = pick(r, &REGIONS) as u8;
        let tail = 1.0 - (-COHORT_GROWTH * f64::from(HISTORY_YEARS)).exp();
        let age = (-(1.0 - r.uniform() * tail).ln() / COHORT_GROWTH * 365.0) as i32; // recent cohorts larger
        let act = origin - age.min(HISTORY_YEARS * 365);
        let (a, b) = CHURN_BETA[p][s];
        let theta = r.beta(a, b);
        let commitment = if plan == POSTPAID { churn::COMMITMENTS[pick(r, &churn::COMMITMENTS)].0 } else { 0 };
        let born = if segment == YOUTH { 2008 - r.below(12) as i32 } else { 2002 - r.below(52) as i32 };
        let birth_year = born.min(calendar::civil_from_days(act).0 - 14);
        let sales_channel = pick(r, &SALES_CHANNELS) as u8;
        let (mu, sigma) = ARPU[p][s];
        let arpu = r.lognormal(mu, sigma);
        let tier = if arpu < (mu - 0.3 * sigma).exp() {
            0
        } else if arpu < (mu + 0.5 * sigma).exp() {
            1
        } else {
            2
        };

        // exits: a voluntary decision hazard with drivers, and defaults
        let horizon = world.horizon();
        let faults = churn::faults(r, region, act, horizon);
        let drivers = Drivers {
            postpaid: plan == POSTPAID,
            act,
            theta,
            commitment,
            birth_year,
            sales_channel,
            region,
            low_tier: tier == 0,
            faults: &faults,
        };
        let exit = churn::exit(r, &drivers, horizon);
        let end = exit.end;
        let alive_to = end.map_or(last + 1, |e| e.min(last + 1));

        // warning signs: a warned decision declines from its day to the voluntary end
        let mut episodes = Vec::new();
        if let (Some(Decision { day, warned: true }), Some(e)) = (exit.decision, exit.voluntary_end) {
            episodes.push(Episode::new(day, e - day, true, 0.05 + 0.30 * r.uniform()));
        }
        // dips that recover: 0.3 theta a month
        let (d0, d1) = (act.max(world.dips_from), alive_to);
        if d1 > d0 {
            for _ in 0..r.poisson(0.3 * theta * f64::from(d1 - d0) / 30.44) {
                let len = 30 + r.below(46) as i32;
                let start = d0 - len + r.below((d1 - d0 + len) as usize) as i32;
                episodes.push(Episode::new(start, len, false, 0.05 + 0.30 * r.uniform()));
            }
        }

        let level = r.gamma(2.0, 0.5);
        let voice_mean = VOICE_S[s] * (0.5 + r.uniform());
        let data_mean = DATA_MB[s] * 1_048_576.0 * (0.3 + 1.4 * r.uniform());
        let n_contacts = 2 + r.below(8) as u8;
        let mut contacts = [0u32; MAX_CONTACTS];
        for c in contacts.iter_mut().take(n_contacts as usize) {
            *c = 10_000_000 + r.below(90_000_000) as u32;
        }
        let ticket_rate = 0.001 * r.gamma(1.0, 1.0); // ~3% of lines a month, some call more often

        let (mut recharge_rate, mut denomination, mut recharge_channel) = (0.0, 0, 0);
        if plan == PREPAID {
            recharge_rate = r.gamma(2.5, 0.1 / 2.5); // mean one every 10 days
            let target = arpu / (recharge_rate * 30.44).max(0.2);
            denomination = (0..DENOMINATIONS.len())
                .min_by(|&i, &j| {
                    let (a, b) = ((DENOMINATIONS[i] as f64 - target).abs(), (DENOMINATIONS[j] as f64 - target).abs());
                    a.total_cmp(&b)
                })
                .unwrap_or(0) as u8;
            recharge_channel = r.below(RECHARGE_CHANNELS.len()) as u8;
        }
        let optout = r.chance(0.02).then(|| {
            let since = act + r.below((alive_to - act).max(1) as usize) as i32;
            (since, r.below(OPTOUT_CHANNELS.len()) as u8)
        });

        Line {
            id,
            plan,
            segment,
            region,
            sales_channel,
            act,
            commitment,
            theta,
            faults,
            decision: exit.decision,
            end,
            reason: exit.reason,
            episodes,
            arpu,
            tier,
            birth_year,
            level,
            voice_mean,
            data_mean,
            contacts,
            n_contacts,
            ticket_rate,
            recharge_rate,
            denomination,
            recharge_channel,
            optout,
            saved: None,
        }
    }

    /// The line's untreated exit if it is not involuntary: its end and reason.
    pub fn voluntary_exit(&self) -> Option<(i32, u8)> {
        self.end.filter(|_| self.reason != churn::INVOLUNTARY).map(|e| (e, self.reason))
    }

    /// Cancels the line's exit by the contact of `wave` (its end after
    /// `wave`): it stays in service, and the decline announcing the exit
    /// stops showing after the wave. What happened up to the wave is kept.
    pub fn save(&mut self, wave: i32) {
        let Some((end, reason)) = self.voluntary_exit().filter(|&(e, _)| e > wave) else {
            return;
        };
        self.saved = Some(Saved { wave, end, reason });
        self.end = None;
        self.reason = 0;
        self.decision = None;
        for ep in self.episodes.iter_mut().filter(|ep| ep.falls) {
            ep.stop = ep.stop.min(wave + 1);
        }
    }

    /// What the line's hazards depend on.
    pub fn drivers(&self) -> Drivers<'_> {
        Drivers {
            postpaid: self.plan == POSTPAID,
            act: self.act,
            theta: self.theta,
            commitment: self.commitment,
            birth_year: self.birth_year,
            sales_channel: self.sales_channel,
            region: self.region,
            low_tier: self.tier == 0,
            faults: &self.faults,
        }
    }

    /// The first day after the last day in service, capped at T + 1.
    pub fn alive_to(&self, t: i32) -> i32 {
        self.end.map_or(t + 1, |e| e.min(t + 1))
    }

    /// The first day without recharges: the end of service, capped at T + 1,
    /// or `QUIET_DAYS` before the end of a warned voluntary exit.
    pub fn recharges_to(&self, t: i32) -> i32 {
        let alive_to = self.alive_to(t);
        match (self.decision, self.end) {
            (Some(Decision { warned: true, .. }), Some(e)) if self.reason != churn::INVOLUNTARY => {
                alive_to.min(e - QUIET_DAYS)
            }
            _ => alive_to,
        }
    }

    /// A saved line that had stopped recharging before its wave (a warned
    /// exit's quiet days) starts again the day after the wave: the days it
    /// stayed quiet. Recharges inside it are not written.
    pub fn recharge_gap(&self) -> Option<std::ops::Range<i32>> {
        let saved = self.saved?;
        let warned = self.episodes.iter().any(|ep| ep.falls);
        let quiet = saved.end - QUIET_DAYS;
        (warned && quiet <= saved.wave).then_some(quiet..saved.wave + 1)
    }

    /// Ended on or before T.
    pub fn ended(&self, t: i32) -> bool {
        self.end.is_some_and(|e| e <= t)
    }

    /// Usage multiplier on day `d`: 1 normally, lower inside a dip or a pre-churn decline.
    pub fn engagement(&self, d: i32) -> f64 {
        let mut m = 1.0f64;
        for ep in &self.episodes {
            let x = d - ep.start;
            if 0 <= x && x < ep.len && d < ep.stop {
                let p = f64::from(x + 1) / f64::from(ep.len);
                let v = if ep.falls {
                    1.0 - (1.0 - ep.low) * p.powf(0.8) // steady decline to `low` at deactivation
                } else {
                    1.0 - (1.0 - ep.low) * if p < 0.7 { p / 0.7 } else { (1.0 - p) / 0.3 } // dip, then recovery
                };
                m = m.min(v);
            }
        }
        m
    }

    /// The factor on the chance that a call or message on day `d` is made,
    /// not received: a line on its way out moves its own calls to the
    /// operator it is leaving for (often a second SIM) before it stops
    /// receiving them, so in a falling episode the share it makes sinks to
    /// half by the end. A dip without churn leaves it alone.
    pub fn outgoing_factor(&self, d: i32) -> f64 {
        let mut f = 1.0f64;
        for ep in self.episodes.iter().filter(|ep| ep.falls) {
            let x = d - ep.start;
            if 0 <= x && x < ep.len && d < ep.stop {
                f = f.min(1.0 - 0.5 * f64::from(x + 1) / f64::from(ep.len));
            }
        }
        f
    }

    /// This line's contribution to the summary's counts.
    pub fn census(&self, world: &World) -> Census {
        let t = world.t;
        let mut c = Census { lines: 1, ..Census::default() };
        match self.end {
            Some(e) if e <= t => {
                c.deactivated_30 = u64::from(e > t - 30);
                c.deactivated_60 = u64::from(e > t - 60);
                if e >= world.w0 {
                    let warned = self.episodes.first().is_some_and(|ep| ep.falls);
                    c.warned = u64::from(warned);
                    c.abrupt = u64::from(!warned);
                }
            }
            _ => c.active = 1,
        }
        c.dips = self.episodes.iter().filter(|ep| !ep.falls).count() as u64;
        c
    }

    pub fn plan_id(&self) -> &'static str {
        const IDS: [[&str; 3]; 2] = [["PRE_S", "PRE_M", "PRE_L"], ["POST_S", "POST_M", "POST_L"]];
        IDS[self.plan as usize][self.tier as usize]
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
