//! Planted revenue anomalies (`--plant revenue=R`): which lines may carry
//! one, and the billing or recharges rows that make it.
//!
//! - bill_jump (postpaid, billed in at least [`BILLED_BEFORE`] months before
//!   the last bill month, the one before T's month): that month's invoice
//!   gets an extra `roaming` or `voice` line, so the month's net total is
//!   [`BILL_JUMP`] (8..15) times the median of the line's earlier bills.
//! - credit_heavy (postpaid, the same history): that month's invoice gets
//!   an `adjustment` credit of [`CREDIT_SHARE`] (100..150%) of the month's
//!   charges, so the month's total is zero or negative.
//! - recharge_mismatch (prepaid, recharges written for at least
//!   [`HISTORY_DAYS`] days before the [`WINDOW_DAYS`] days up to T): extra
//!   top-ups in those 30 days bring their total to [`RECHARGE_FACTOR`]
//!   (8..12) times the line's usual 30 days' (the highest of its last 90
//!   days' average, its whole written history's and what its habit
//!   expects), in its usual denominations or the next two up; its usage
//!   (cdr) is untouched.
//!
//! The kind is drawn in plant.rs; amounts and times come from a stream of
//! (seed, line) alone, never from a source's shared stream, and planted
//! rows are never spoiled by `--dirty`, so every other row is written as
//! without planting.

use super::population::{DENOMINATIONS, Line, POSTPAID, Pattern, RECHARGE_CHANNELS, World, tag};
use super::rng::Rng;
use super::sources::time_of_day;

/// A bill jump or heavy credit needs bills in this many months before the planted one.
pub const BILLED_BEFORE: usize = 4;
/// A bill jump's month total, in times the median of the line's earlier bills.
pub const BILL_JUMP: (f64, f64) = (8.0, 15.0);
/// A heavy credit, in times the month's charges.
pub const CREDIT_SHARE: (f64, f64) = (1.0, 1.5);
/// The planted recharges' days: the last this many up to T.
pub const WINDOW_DAYS: i32 = 30;
/// A recharge mismatch needs recharges written for this many days before its window.
pub const HISTORY_DAYS: i32 = 90;
/// The planted 30 days' recharges, in times the line's usual 30 days'.
pub const RECHARGE_FACTOR: (f64, f64) = (8.0, 12.0);

/// The revenue anomaly `line` can carry, if any (`u` uniform on [0, 1)
/// picks bill_jump below 0.5, credit_heavy above, for postpaid): none for a
/// line out of service at T or without the history its kind needs.
pub fn pattern(world: &World, line: &Line, u: f64) -> Option<Pattern> {
    if line.ended(world.t) {
        return None;
    }
    if line.plan == POSTPAID {
        let last = world.months.last()?;
        let earliest = world.months.len().checked_sub(1 + BILLED_BEFORE).map(|i| &world.months[i])?;
        return (line.act < earliest.next).then_some(if u < 0.5 {
            Pattern::BillJump(last.first)
        } else {
            Pattern::CreditHeavy(last.first)
        });
    }
    let first = world.t - WINDOW_DAYS + 1;
    let history = first - HISTORY_DAYS;
    (line.act <= history && world.rc0 <= history).then_some(Pattern::RechargeMismatch(first))
}

fn stream(world: &World, line: &Line) -> Rng {
    Rng::stream(world.seed, &[tag::REVENUE, u64::from(line.id)])
}

fn between((lo, hi): (f64, f64), u: f64) -> f64 {
    lo + (hi - lo) * u
}

/// The median of `cents` (the mean of the middle two for an even count); 0 if empty.
pub fn median(cents: &[i64]) -> f64 {
    let mut sorted = cents.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2] as f64,
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0,
    }
}

/// The planted line of `line`'s bill of the month starting on `month`, if
/// it is the planted month: its charge_type and net amount in cents.
/// `earlier` holds the line's bills (cents) of the months before, `cents`
/// this month's.
pub fn bill_line(world: &World, line: &Line, month: i32, earlier: &[i64], cents: i64) -> Option<(&'static str, i64)> {
    let (jump, planted) = match line.plant? {
        Pattern::BillJump(d) => (true, d),
        Pattern::CreditHeavy(d) => (false, d),
        _ => return None,
    };
    if planted != month {
        return None;
    }
    let r = &mut stream(world, line);
    let u = r.uniform();
    if !jump {
        let credit = (between(CREDIT_SHARE, u) * cents as f64).ceil() as i64;
        return Some(("adjustment", -credit));
    }
    let charge = if r.chance(0.5) { "roaming" } else { "voice" };
    let (factor, usual) = (between(BILL_JUMP, u), median(earlier));
    let total = (factor * usual).ceil() as i64;
    // the month's own bill is far below 8 times the usual one: the extra charge is positive
    Some((charge, (total - cents).max(1)))
}

/// One planted top-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopUp {
    pub day: i32,
    pub sec: u32,
    pub cents: i64,
    pub channel: &'static str,
}

/// The planted top-ups of a recharge_mismatch line, by time: added to its
/// own in the window (`own`: the days and cents of every recharge written
/// for it), they make [`RECHARGE_FACTOR`] times its usual 30 days'. None
/// for any other line.
pub fn top_ups(world: &World, line: &Line, own: &[(i32, i64)]) -> Vec<TopUp> {
    let Some(Pattern::RechargeMismatch(first)) = line.plant else {
        return Vec::new();
    };
    let sum = |from: i32, to: i32| own.iter().filter(|(d, _)| (from..to).contains(d)).map(|(_, c)| *c).sum::<i64>();
    let since = line.act.max(world.rc0);
    let last_90 = sum(first - HISTORY_DAYS, first) as f64 * 30.0 / f64::from(HISTORY_DAYS);
    let all = sum(since, first) as f64 * 30.0 / f64::from((first - since).max(1));
    let habit = line.recharge_rate * 30.0 * DENOMINATIONS[line.denomination as usize] as f64 * 100.0;
    let usual = last_90.max(all).max(habit);
    let r = &mut stream(world, line);
    let target = (between(RECHARGE_FACTOR, r.uniform()) * usual).ceil() as i64;
    let mut total = sum(first, world.t + 1);
    let mut out = Vec::new();
    while total < target {
        let k = (line.denomination as usize + 1 + r.below(2)).min(DENOMINATIONS.len() - 1);
        let day = first + r.below(WINDOW_DAYS as usize) as i32;
        let sec = time_of_day(r);
        let channel = if r.chance(0.8) { line.recharge_channel as usize } else { r.below(RECHARGE_CHANNELS.len()) };
        let cents = DENOMINATIONS[k] * 100;
        out.push(TopUp { day, sec, cents, channel: RECHARGE_CHANNELS[channel] });
        total += cents;
    }
    out.sort_by_key(|t| (t.day, t.sec));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::generate::tests::{files, options, run};
    use crate::generate::{Options, Plant};

    /// A generation's rows (their fields) of `source`, by subscriber_id, in file order.
    fn rows(dir: &std::path::Path, source: &str) -> BTreeMap<String, Vec<Vec<String>>> {
        let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for (_, bytes) in files(dir).into_iter().filter(|(p, _)| p.starts_with(&format!("{source}/"))) {
            for line in String::from_utf8(bytes).unwrap().lines().skip(1) {
                let f: Vec<String> = line.split(',').map(str::to_string).collect();
                out.entry(f[0].clone()).or_default().push(f);
            }
        }
        out
    }

    fn cents(text: &str) -> i64 {
        (text.parse::<f64>().unwrap() * 100.0).round() as i64
    }

    /// A line's billing rows summed by bill_month: (positive charges, credits), in cents.
    fn by_month(rows: &[Vec<String>]) -> BTreeMap<&str, (i64, i64)> {
        let mut out: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for row in rows {
            let (amount, month) = (cents(&row[4]), out.entry(row[1].as_str()).or_default());
            if amount >= 0 { month.0 += amount } else { month.1 -= amount }
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn planted_revenue_anomalies_show_in_bills_and_recharges_and_nowhere_else() {
        let (plain, planted) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        run(options(plain.path())).await;
        let plant = Plant { revenue: 0.2, ..Plant::default() };
        let summary = run(Options { plant, ..options(planted.path()) }).await;

        // the truth: each kind on its own lines, dated by its bill month or 30 days (T = 2026-03-31)
        let text = std::fs::read_to_string(planted.path().join("_truth/fraud_truth.csv")).unwrap();
        let mut by: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
        for f in text.lines().skip(1).map(|l| l.split(',').collect::<Vec<_>>()) {
            by.entry(f[1]).or_default().insert(f[0], f[2]);
        }
        let dates = [("bill_jump", "2026-02-01"), ("credit_heavy", "2026-02-01"), ("recharge_mismatch", "2026-03-02")];
        for (kind, date) in dates {
            assert!(by[kind].len() >= 20 && by[kind].values().all(|d| *d == date), "{kind}: {text}");
        }
        assert_eq!(by.len(), 3, "{text}");
        let fraud = summary.truth.as_ref().unwrap().fraud.clone().unwrap();
        let counts = (fraud.bill_jump, fraud.credit_heavy, fraud.recharge_mismatch);
        assert_eq!(
            counts,
            (by["bill_jump"].len() as u64, by["credit_heavy"].len() as u64, by["recharge_mismatch"].len() as u64)
        );

        // every other file is as without planting, and so is every unplanted line's row
        let others = |f: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
            let money =
                |p: &str| p.starts_with("billing/") || p.starts_with("recharges/") || p.ends_with("fraud_truth.csv");
            f.into_iter().filter(|(p, _)| !money(p)).collect()
        };
        assert!(others(files(plain.path())) == others(files(planted.path())));
        let is_planted = |sid: &str| by.values().any(|lines| lines.contains_key(sid));
        for source in ["billing", "recharges"] {
            let (before, after) = (rows(plain.path(), source), rows(planted.path(), source));
            assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
            for (sid, rows) in &before {
                let kept = if is_planted(sid) { &after[sid][..rows.len()] } else { &after[sid][..] };
                assert!(kept == &rows[..], "{source} {sid}: a line's own rows changed");
            }
        }
        let (bills, recharges) = (rows(planted.path(), "billing"), rows(planted.path(), "recharges"));

        // bill_jump: the month's total is 8..15 times the median of the earlier months', in a roaming or voice line
        for sid in by["bill_jump"].keys() {
            let months = by_month(&bills[*sid]);
            let earlier: Vec<i64> = months.range(.."2026-02").map(|(_, (c, d))| c - d).collect();
            let (charges, credits) = months["2026-02"];
            let ratio = (charges - credits) as f64 / median(&earlier);
            assert!(earlier.len() >= 4 && credits == 0 && (8.0..15.01).contains(&ratio), "{sid}: x{ratio}");
            let extra = bills[*sid].last().unwrap();
            assert!(["roaming", "voice"].contains(&extra[3].as_str()) && extra[1] == "2026-02", "{extra:?}");
            assert_eq!(extra[2], bills[*sid][bills[*sid].len() - 2][2], "the same invoice");
        }
        // credit_heavy: an adjustment credit of 100..150% of the month's charges
        for sid in by["credit_heavy"].keys() {
            let (charges, credits) = by_month(&bills[*sid])["2026-02"];
            let share = credits as f64 / charges as f64;
            assert!((1.0..1.501).contains(&share), "{sid}: {share}");
            assert_eq!(bills[*sid].last().unwrap()[3], "adjustment");
        }
        // recharge_mismatch: 8 times or more the 30 days' average of the 90 days before, in denominations
        for sid in by["recharge_mismatch"].keys() {
            let sum = |from: &str, to: &str| -> i64 {
                recharges[*sid].iter().filter(|r| (from..to).contains(&&r[1][..10])).map(|r| cents(&r[2])).sum()
            };
            let (within, before) = (sum("2026-03-02", "2026-04-01"), sum("2025-12-02", "2026-03-02"));
            assert!(within as f64 >= 8.0 * before as f64 / 3.0 && within > 0, "{sid}: {within} after {before}");
            assert!(recharges[*sid].iter().all(|r| DENOMINATIONS.contains(&(cents(&r[2]) / 100))));
        }
    }
}
