//! The sources' file layouts and the rows of the snapshot-day sources
//! (subscribers, billing, recharges, tickets, optouts, strategic_fit), each
//! written from the lines' traits and its own (shard, source) stream.

use super::GenerateError;
use super::population::{self as pop, Line, World, tag};
use super::rng::Rng;
use super::sink::{Cell, FileWriter, Kind, Stamp, Table};

/// The sources written: the contract's.
pub use crate::contract::SourceKind as Source;

/// The sources every generation writes: all the contract's but responses,
/// which only a simulation of campaigns has.
pub const SOURCES: [Source; 7] = [
    Source::Subscribers,
    Source::Billing,
    Source::Cdr,
    Source::Recharges,
    Source::Tickets,
    Source::Optouts,
    Source::StrategicFit,
];

use Kind::{Date, Float, Int, Money, Text, Time};

static SUBSCRIBERS: Table = Table {
    name: "subscribers",
    columns: &[
        ("subscriber_id", Text),
        ("msisdn", Text),
        ("activation_date", Date),
        ("deactivation_date", Date),
        ("deactivation_reason", Text),
        ("plan_type", Text),
        ("plan_id", Text),
        ("segment", Text),
        ("region", Text),
        ("channel", Text),
        ("birth_year", Int),
        ("commitment_months", Int),
    ],
};
static BILLING: Table = Table {
    name: "billing",
    columns: &[
        ("subscriber_id", Text),
        ("bill_month", Text),
        ("invoice_id", Text),
        ("charge_type", Text),
        ("net_amount", Money),
    ],
};
static CDR: Table = Table {
    name: "cdr",
    columns: &[
        ("subscriber_id", Text),
        ("event_time", Time),
        ("event_type", Text),
        ("direction", Text),
        ("duration_s", Int),
        ("volume_bytes", Int),
        ("other_party", Text),
    ],
};
static RECHARGES: Table = Table {
    name: "recharges",
    columns: &[("subscriber_id", Text), ("recharge_time", Time), ("amount", Money), ("channel", Text)],
};
static TICKETS: Table = Table {
    name: "tickets",
    columns: &[("subscriber_id", Text), ("opened_at", Time), ("category", Text), ("resolved_at", Time)],
};
static OPTOUTS: Table =
    Table { name: "optouts", columns: &[("subscriber_id", Text), ("channel", Text), ("since", Date)] };
/// Written with `--campaigns-from` only (src/generate/treatment.rs), so not
/// in [`SOURCES`].
pub static RESPONSES: Table = Table {
    name: "responses",
    columns: &[
        ("subscriber_id", Text),
        ("campaign", Text),
        ("contacted_at", Time),
        ("outcome", Text),
        ("channel", Text),
    ],
};
static STRATEGIC_FIT: Table =
    Table { name: "strategic_fit", columns: &[("subscriber_id", Text), ("segment", Text), ("score", Float)] };

/// The file layout of a source.
pub fn table(source: Source) -> &'static Table {
    match source {
        Source::Subscribers => &SUBSCRIBERS,
        Source::Billing => &BILLING,
        Source::Cdr => &CDR,
        Source::Recharges => &RECHARGES,
        Source::Tickets => &TICKETS,
        Source::Optouts => &OPTOUTS,
        Source::StrategicFit => &STRATEGIC_FIT,
        Source::Responses => &RESPONSES,
    }
}

/// A source's position in [`SOURCES`]: part of its random streams' keys.
pub fn index(source: Source) -> usize {
    source as usize
}

/// Which rows are spoiled, and how: a stream of its own, so the clean rows
/// are the same whatever the rate.
pub struct Dirty {
    rate: f64,
    rng: Rng,
    pub rows: u64,
}

impl Dirty {
    pub fn new(world: &World, rate: f64, source: Source, shard: u64, day: i32) -> Dirty {
        let key = [tag::DIRTY, index(source) as u64, shard, day as u64];
        Dirty { rate, rng: Rng::stream(world.seed, &key), rows: 0 }
    }

    /// `Some(kind)` in 0..kinds when this row is to be spoiled.
    #[inline]
    pub fn pick(&mut self, kinds: usize) -> Option<usize> {
        if self.rate > 0.0 && self.rng.chance(self.rate) {
            self.rows += 1;
            Some(self.rng.below(kinds))
        } else {
            None
        }
    }

    /// A number in 0..n for a spoiled value, from the same stream.
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.below(n)
    }
}

/// An id no subscriber has (`Z` and eight digits): the unknown_subscriber rule.
pub fn unknown_id(id: u32) -> [u8; 9] {
    let mut out = pop::subscriber_id(id);
    out[0] = b'Z';
    out
}

/// Text of ASCII bytes this module formatted itself.
#[inline]
pub fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

/// `+336` and eight digits.
pub fn phone(number: u32) -> [u8; 12] {
    let mut out = *b"+33600000000";
    pop::eight_digits(&mut out[4..], number);
    out
}

/// Hours of the day weighted by usage: an hour appears as often as its weight.
pub const HOUR_TABLE: [u8; 122] = {
    const WEIGHTS: [u8; 24] = [1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 8, 8, 7, 7, 7, 8, 9, 9, 8, 6, 4, 2];
    let mut table = [0u8; 122];
    let (mut h, mut i) = (0, 0);
    while h < 24 {
        let mut w = 0;
        while w < WEIGHTS[h] {
            table[i] = h as u8;
            i += 1;
            w += 1;
        }
        h += 1;
    }
    table
};

/// A second of the day drawn from the usage-weighted hours.
#[inline]
pub fn time_of_day(r: &mut Rng) -> u32 {
    u32::from(HOUR_TABLE[r.below(HOUR_TABLE.len())]) * 3600 + r.below(3600) as u32
}

pub fn stamp(world: &World, day: i32, sec: u32) -> Stamp {
    Stamp { day, sec, offset: world.offset(day) }
}

pub fn write_subscribers(world: &World, lines: &[Line], out: &mut FileWriter) -> Result<(), GenerateError> {
    for line in lines {
        let sid = pop::subscriber_id(line.id);
        let msisdn = phone(10_000_000 + line.id);
        let ended = line.ended(world.t);
        let (end, reason) = match line.end {
            Some(e) if ended => (Cell::Date(e), Cell::Text(pop::REASONS[line.reason as usize])),
            _ => (Cell::Null, Cell::Null),
        };
        out.row(&[
            Cell::Text(ascii(&sid)),
            Cell::Text(ascii(&msisdn)),
            Cell::Date(line.act),
            end,
            reason,
            Cell::Text(pop::PLANS[line.plan as usize]),
            Cell::Text(line.plan_id()),
            Cell::Text(pop::SEGMENTS[line.segment as usize]),
            Cell::Text(pop::REGIONS[line.region as usize].0),
            Cell::Text(pop::SALES_CHANNELS[line.sales_channel as usize].0),
            Cell::Int(i64::from(line.birth_year)),
            if line.plan == pop::POSTPAID { Cell::Int(i64::from(line.commitment)) } else { Cell::Null },
        ])?;
    }
    Ok(())
}

/// One bill per month in service over the billing window, prorated in
/// partial months, lowered by dips and declines (prepaid strongly).
pub fn write_billing(
    world: &World,
    lines: &[Line],
    r: &mut Rng,
    dirty: &mut Dirty,
    out: &mut FileWriter,
) -> Result<(), GenerateError> {
    let mut invoice = *b"INV00000000YYYYMM";
    for line in lines {
        let sid = pop::subscriber_id(line.id);
        let bad_sid = unknown_id(line.id);
        let alive_to = line.alive_to(world.t);
        let postpaid = line.plan == pop::POSTPAID;
        pop::eight_digits(&mut invoice[3..], line.id);
        for month in &world.months {
            let (s, e) = (line.act.max(month.first), alive_to.min(month.next));
            if e <= s {
                continue;
            }
            let mut amount =
                line.arpu * (0.9 + 0.2 * r.uniform()) * f64::from(e - s) / f64::from(month.next - month.first);
            if !line.episodes.is_empty() {
                let g = line.engagement((s + e).div_euclid(2));
                amount *= if postpaid { 0.55 + 0.45 * g } else { 0.15 + 0.85 * g };
            }
            invoice[11..].copy_from_slice(month.compact.as_bytes());
            let mut cells = [
                Cell::Text(ascii(&sid)),
                Cell::Text(&month.label),
                Cell::Text(ascii(&invoice)),
                if postpaid { Cell::Text("recurring") } else { Cell::Null },
                Cell::Money(((amount.max(0.01)) * 100.0).round() as i64),
            ];
            match dirty.pick(4) {
                Some(0) => cells[0] = Cell::Bad(ascii(&bad_sid)),
                Some(1) => cells[0] = Cell::Null,
                Some(2) => cells[1] = Cell::Bad("2026-13"),
                Some(_) => cells[4] = Cell::Bad("abc"),
                None => {}
            }
            out.row(&cells)?;
        }
    }
    Ok(())
}

/// Prepaid top-ups from activation to the end of service: a Poisson process
/// at the line's rate, thinned in dips and declines, and none in the last
/// days before a warned exit.
pub fn write_recharges(
    world: &World,
    lines: &[Line],
    r: &mut Rng,
    dirty: &mut Dirty,
    out: &mut FileWriter,
) -> Result<(), GenerateError> {
    for line in lines.iter().filter(|l| l.plan == pop::PREPAID) {
        let sid = pop::subscriber_id(line.id);
        let bad_sid = unknown_id(line.id);
        let stop = line.recharges_to(world.t);
        let quiet = line.recharge_gap().unwrap_or(0..0);
        let mean_gap = 1.0 / line.recharge_rate;
        let mut t = f64::from(line.act);
        let mut first = true;
        loop {
            if !first {
                t += r.exponential(mean_gap);
            }
            if t >= f64::from(stop) {
                break;
            }
            let o = t as i32;
            if !first && !line.episodes.is_empty() {
                let g = line.engagement(o);
                if g < 1.0 && r.uniform() >= g.powf(1.5) {
                    continue;
                }
            }
            first = false;
            if o < world.rc0 || quiet.contains(&o) {
                continue;
            }
            let mut k = line.denomination as usize;
            let x = r.uniform();
            if x < 0.15 && k > 0 {
                k -= 1;
            } else if x > 0.85 && k < pop::DENOMINATIONS.len() - 1 {
                k += 1;
            }
            let sec = time_of_day(r);
            let channel =
                if r.chance(0.8) { line.recharge_channel as usize } else { r.below(pop::RECHARGE_CHANNELS.len()) };
            let amount = pop::DENOMINATIONS[k] * 100;
            let mut cells = [
                Cell::Text(ascii(&sid)),
                Cell::Time(stamp(world, o, sec)),
                Cell::Money(amount),
                Cell::Text(pop::RECHARGE_CHANNELS[channel]),
            ];
            match dirty.pick(4) {
                Some(0) => cells[0] = Cell::Bad(ascii(&bad_sid)),
                Some(1) => cells[0] = Cell::Null,
                Some(2) => cells[1] = Cell::Bad("yesterday"),
                Some(_) => cells[2] = Cell::Money(-amount),
                None => {}
            }
            out.row(&cells)?;
        }
    }
    Ok(())
}

const TICKET_CATEGORIES: [&str; 4] = ["complaint", "fault", "inquiry", "other"];
/// Category weights in percent: base contacts, and contacts during a dip or decline.
const TICKET_BASE: [usize; 4] = [25, 25, 40, 10];
const TICKET_DIP: [usize; 4] = [65, 20, 10, 5];

fn category(r: &mut Rng, weights: &[usize; 4]) -> &'static str {
    let mut x = r.below(100);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return TICKET_CATEGORIES[i];
        }
        x -= w;
    }
    TICKET_CATEGORIES[3]
}

/// The first days of a fault episode, in which its tickets are opened, and
/// their mean time to resolution (exponential: 20% still open after 7 days).
const FAULT_TICKET_DAYS: i32 = 3;
const FAULT_RESOLUTION_S: f64 = 4.35 * 86_400.0;

/// Customer-service contacts over the window: a base rate per line, extra
/// ones (mostly complaints) where engagement is low, and 1..=3 `fault`
/// tickets in the first days of each fault episode, slow to resolve.
pub fn write_tickets(
    world: &World,
    lines: &[Line],
    r: &mut Rng,
    dirty: &mut Dirty,
    out: &mut FileWriter,
) -> Result<(), GenerateError> {
    let mut mw: Vec<f64> = Vec::new();
    for line in lines {
        let first = line.act.max(world.w0);
        let nd = line.alive_to(world.t) - first;
        if nd <= 0 {
            continue;
        }
        let sid = pop::subscriber_id(line.id);
        let bad_sid = unknown_id(line.id);
        let mut ticket = |opened: i32, sec: u32, cat: &str, resolved: Cell| {
            let mut cells = [Cell::Text(ascii(&sid)), Cell::Time(stamp(world, opened, sec)), Cell::Text(cat), resolved];
            match dirty.pick(5) {
                Some(0) => cells[0] = Cell::Bad(ascii(&bad_sid)),
                Some(1) => cells[0] = Cell::Null,
                Some(2) => cells[1] = Cell::Bad("2026-13-01T00:00:00Z"),
                Some(3) => cells[2] = Cell::Bad("praise"),
                Some(_) => cells[2] = Cell::Null,
                None => {}
            }
            out.row(&cells)
        };
        // resolved `after` seconds past `sec` on day `o`, if by the end of T
        let resolved = |o: i32, sec: u32, after: f64| {
            let rs = i64::from(sec) + after as i64;
            let ro = o + (rs / 86_400) as i32;
            if ro <= world.t { Cell::Time(stamp(world, ro, (rs % 86_400) as u32)) } else { Cell::Null }
        };
        mw.clear();
        let mut low_sum = 0.0;
        if !line.episodes.is_empty() {
            mw.extend((first..first + nd).map(|d| line.engagement(d)));
            low_sum = mw.iter().map(|v| 1.0 - v).sum::<f64>();
        }
        let n_base = r.poisson(line.ticket_rate * f64::from(nd));
        let n_dip = if low_sum > 0.0 { r.poisson(0.012 * low_sum) } else { 0 };
        for n in 0..n_base + n_dip {
            let mut x = r.below(nd as usize);
            if n >= n_base {
                while r.uniform() >= 1.0 - mw[x] {
                    x = r.below(nd as usize);
                }
            }
            let o = first + x as i32;
            let sec = time_of_day(r);
            let cat = category(r, if n < n_base { &TICKET_BASE } else { &TICKET_DIP });
            // 3% stay open; the rest are resolved ~30 hours later on average
            let done =
                if r.uniform() > 0.03 { resolved(o, sec, r.exponential(30.0 * 3600.0) + 600.0) } else { Cell::Null };
            ticket(o, sec, cat, done)?;
        }
        for &start in line.faults.iter().filter(|&&s| s <= world.t && s + FAULT_TICKET_DAYS > first) {
            for _ in 0..1 + r.below(3) {
                let o = start + r.below(FAULT_TICKET_DAYS as usize) as i32;
                let sec = time_of_day(r);
                let done = resolved(o, sec, r.exponential(FAULT_RESOLUTION_S) + 3600.0);
                if o >= first && o < first + nd && o <= world.t {
                    ticket(o, sec, "fault", done)?;
                }
            }
        }
    }
    Ok(())
}

pub fn write_optouts(world: &World, lines: &[Line], out: &mut FileWriter) -> Result<(), GenerateError> {
    for line in lines {
        if let Some((since, channel)) = line.optout.filter(|&(since, _)| since <= world.t) {
            let sid = pop::subscriber_id(line.id);
            let channel = pop::OPTOUT_CHANNELS[channel as usize];
            let channel = if channel.is_empty() { Cell::Null } else { Cell::Text(channel) };
            out.row(&[Cell::Text(ascii(&sid)), channel, Cell::Date(since)])?;
        }
    }
    Ok(())
}

/// One strategic-fit score per segment.
pub fn write_strategic_fit(out: &mut FileWriter) -> Result<(), GenerateError> {
    for (segment, score) in [("business", 0.80), ("consumer", 0.50), ("youth", 0.65)] {
        out.row(&[Cell::Null, Cell::Text(segment), Cell::Float(score)])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_follow_their_weights() {
        assert_eq!(HOUR_TABLE.iter().filter(|&&h| h == 19).count(), 9);
        assert_eq!(HOUR_TABLE[121], 23);
        assert_eq!(ascii(&phone(10_000_042)), "+33610000042");
        assert_eq!(ascii(&unknown_id(7)), "Z00000007");
    }
}
