//! A line's traits once drawn, and what follows from them day by day: its
//! days in service and recharges, its engagement and outgoing share, its
//! drivers of churn, a campaign's save, and its part of the census.

use super::{Census, MAX_CONTACTS, POSTPAID, QUIET_DAYS, World};
use crate::generate::churn::{self, Decision, Drivers};

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
    pub(super) fn new(start: i32, len: i32, falls: bool, low: f64) -> Episode {
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

/// The pattern planted on a line: one of the cdr (simbox, spike, burst) or
/// a revenue anomaly in the billing or the recharges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    SimBox,
    /// The spike day.
    Spike(i32),
    Burst,
    /// The first day of the bill month whose bill has an extra charge of
    /// 8..15 times the line's usual bill.
    BillJump(i32),
    /// The first day of the bill month with a credit of 100..150% of its charges.
    CreditHeavy(i32),
    /// The first day of the 30 days up to T whose recharges are 8..12
    /// times the line's usual 30 days'.
    RechargeMismatch(i32),
}

impl Pattern {
    pub fn name(self) -> &'static str {
        match self {
            Pattern::SimBox => "simbox",
            Pattern::Spike(_) => "spike",
            Pattern::Burst => "burst",
            Pattern::BillJump(_) => "bill_jump",
            Pattern::CreditHeavy(_) => "credit_heavy",
            Pattern::RechargeMismatch(_) => "recharge_mismatch",
        }
    }

    /// The truth's anomaly_date: the spike's day, the planted bill month's
    /// first day, or the first day of the planted recharges' 30 days.
    pub fn date(self) -> Option<i32> {
        match self {
            Pattern::SimBox | Pattern::Burst => None,
            Pattern::Spike(d) | Pattern::BillJump(d) | Pattern::CreditHeavy(d) | Pattern::RechargeMismatch(d) => {
                Some(d)
            }
        }
    }
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
    /// The fraud pattern planted on it (`--plant`), if any.
    pub plant: Option<Pattern>,
}

impl Line {
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
