//! Drawing one line's traits from its own random stream, always in the
//! same order: its profile (plan, segment, region, activation, propensity,
//! contract, holder, ARPU), its exit and warning signs, its usage, its
//! recharge habit and its opt-out.

use super::{
    COHORT_GROWTH, DENOMINATIONS, Episode, HISTORY_YEARS, Line, MAX_CONTACTS, OPTOUT_CHANNELS, POSTPAID, PREPAID,
    RECHARGE_CHANNELS, REGIONS, SALES_CHANNELS, World, YOUTH, tag,
};
use crate::generate::calendar;
use crate::generate::churn::{self, Decision, Drivers, Exit};
use crate::generate::rng::Rng;

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
/// Mean MB per data session, and mean seconds per call, per segment.
const DATA_MB: [f64; 3] = [6.0, 12.0, 5.0];
const VOICE_S: [f64; 3] = [130.0, 90.0, 200.0];

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

/// The traits drawn first, in this order: plan, segment, region,
/// activation, churn propensity, contract, birth year, sales channel, ARPU.
struct Profile {
    plan: u8,
    segment: u8,
    region: u8,
    act: i32,
    theta: f64,
    commitment: u8,
    birth_year: i32,
    sales_channel: u8,
    arpu: f64,
    tier: u8,
}

impl Profile {
    /// Activations are ages before `origin`.
    fn draw(r: &mut Rng, origin: i32) -> Profile {
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
        Profile { plan, segment, region, act, theta, commitment, birth_year, sales_channel, arpu, tier }
    }

    /// What the line's hazards depend on, with its fault episodes.
    fn drivers<'a>(&self, faults: &'a [i32]) -> Drivers<'a> {
        Drivers {
            postpaid: self.plan == POSTPAID,
            act: self.act,
            theta: self.theta,
            commitment: self.commitment,
            birth_year: self.birth_year,
            sales_channel: self.sales_channel,
            region: self.region,
            low_tier: self.tier == 0,
            faults,
        }
    }
}

/// The usage episodes of a line in service on `act..alive_to`: the decline
/// of a warned decision, then the dips that recover.
fn episodes(r: &mut Rng, world: &World, exit: &Exit, profile: &Profile, alive_to: i32) -> Vec<Episode> {
    // warning signs: a warned decision declines from its day to the voluntary end
    let mut episodes = Vec::new();
    if let (Some(Decision { day, warned: true }), Some(e)) = (exit.decision, exit.voluntary_end) {
        episodes.push(Episode::new(day, e - day, true, 0.05 + 0.30 * r.uniform()));
    }
    // dips that recover: 0.3 theta a month
    let (d0, d1) = (profile.act.max(world.dips_from), alive_to);
    if d1 > d0 {
        for _ in 0..r.poisson(0.3 * profile.theta * f64::from(d1 - d0) / 30.44) {
            let len = 30 + r.below(46) as i32;
            let start = d0 - len + r.below((d1 - d0 + len) as usize) as i32;
            episodes.push(Episode::new(start, len, false, 0.05 + 0.30 * r.uniform()));
        }
    }
    episodes
}

/// How much a line uses its service: its event level, call and session
/// sizes, the parties it talks to and its ticket rate.
struct Usage {
    level: f64,
    voice_mean: f64,
    data_mean: f64,
    contacts: [u32; MAX_CONTACTS],
    n_contacts: u8,
    ticket_rate: f64,
}

impl Usage {
    fn draw(r: &mut Rng, segment: u8) -> Usage {
        let s = segment as usize;
        let level = r.gamma(2.0, 0.5);
        let voice_mean = VOICE_S[s] * (0.5 + r.uniform());
        let data_mean = DATA_MB[s] * 1_048_576.0 * (0.3 + 1.4 * r.uniform());
        let n_contacts = 2 + r.below(8) as u8;
        let mut contacts = [0u32; MAX_CONTACTS];
        for c in contacts.iter_mut().take(n_contacts as usize) {
            *c = 10_000_000 + r.below(90_000_000) as u32;
        }
        let ticket_rate = 0.001 * r.gamma(1.0, 1.0); // ~3% of lines a month, some call more often
        Usage { level, voice_mean, data_mean, contacts, n_contacts, ticket_rate }
    }
}

/// A prepaid line's recharges a day, preferred denomination and channel
/// (nothing drawn for postpaid: all 0).
fn recharge_habit(r: &mut Rng, plan: u8, arpu: f64) -> (f64, u8, u8) {
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
    (recharge_rate, denomination, recharge_channel)
}

/// About 2% of lines opt out, on a day in service, by a channel.
fn optout(r: &mut Rng, act: i32, alive_to: i32) -> Option<(i32, u8)> {
    r.chance(0.02).then(|| {
        let since = act + r.below((alive_to - act).max(1) as usize) as i32;
        (since, r.below(OPTOUT_CHANNELS.len()) as u8)
    })
}

impl Line {
    /// Draws line `id`'s traits from its own stream.
    pub fn simulate(world: &World, id: u32) -> Line {
        let r = &mut Rng::stream(world.seed, &[tag::LINE, u64::from(id)]);
        // nothing drawn here depends on T in a fixed world: only on its origin and last day
        let (origin, last) = (world.origin, world.last);
        let profile = Profile::draw(r, origin);
        let act = profile.act;

        // exits: a voluntary decision hazard with drivers, and defaults
        let horizon = world.horizon();
        let faults = churn::faults(r, profile.region, act, horizon);
        let exit = churn::exit(r, &profile.drivers(&faults), horizon);
        let end = exit.end;
        let alive_to = end.map_or(last + 1, |e| e.min(last + 1));
        let episodes = episodes(r, world, &exit, &profile, alive_to);

        let usage = Usage::draw(r, profile.segment);
        let (recharge_rate, denomination, recharge_channel) = recharge_habit(r, profile.plan, profile.arpu);
        let optout = optout(r, act, alive_to);

        let Profile { plan, segment, region, theta, commitment, birth_year, sales_channel, arpu, tier, .. } = profile;
        let Usage { level, voice_mean, data_mean, contacts, n_contacts, ticket_rate } = usage;
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
            plant: None,
        }
    }
}
