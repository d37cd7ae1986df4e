//! Planted fraud patterns (`--plant`): which lines are a SIM box, make a
//! one-day spike, or are new lines used heavily at once (subscription
//! fraud), and the cdr events they make beyond or instead of their own;
//! which carry a revenue anomaly (its rows: src/generate/revenue.rs).
//!
//! A line's pattern comes from a stream of (seed, line) alone, its planted
//! events of a day from one of (seed, line, day), so neither depends on the
//! shards, the threads or `--only-cdr-day`. The (shard, day) stream of the
//! ordinary events draws what it always drew (a SIM box's ordinary events
//! are drawn and dropped), so planting changes only the planted lines' rows
//! (and, with `--dirty`, which rows are spoiled); without `--plant` nothing
//! here draws at all.

use super::event::Event;
use super::population::{Line, Pattern, World, tag};
use super::revenue;
use super::rng::Rng;

/// A SIM box's outgoing calls a day (Poisson mean; `--cdr-per-day` does not scale it).
pub const SIMBOX_CALLS_PER_DAY: f64 = 250.0;
/// Mean seconds of a SIM box call (exponential, plus one second).
pub const SIMBOX_CALL_MEAN_S: f64 = 60.0;
/// The factor on a spike line's event rate on its spike day.
pub const SPIKE_FACTOR: f64 = 30.0;
/// The spike day is one of this many last days of the window, up to T.
pub const SPIKE_DAYS: i32 = 3;
/// The factor on a burst line's event rate on every day in service.
pub const BURST_FACTOR: f64 = 20.0;
/// A burst line is new: activated within this many days up to T.
pub const NEW_DAYS: i32 = 30;

/// How many lines to plant each pattern on (`--plant simbox=..,spike=..,burst=..,revenue=..`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Plant {
    /// Share of all lines that are SIM boxes.
    pub simbox: f64,
    /// Share of all lines (not SIM boxes) with a spike day.
    pub spike: f64,
    /// Share of the new lines (neither of the above) used heavily from the start.
    pub burst: f64,
    /// Share of all lines (none of the above) with a revenue anomaly, if
    /// they have the history it needs.
    pub revenue: f64,
    /// Share of the SIM boxes and bursts the fraud team catches at all: a
    /// caught line's case, confirmed on or before T, goes to the
    /// `fraud_cases` source ([`case_date`]).
    pub cases: f64,
}

impl Plant {
    pub fn any(&self) -> bool {
        self.simbox > 0.0 || self.spike > 0.0 || self.burst > 0.0 || self.revenue > 0.0
    }

    /// `simbox=0.002,spike=0.003,burst=0.05,revenue=0.01,cases=0.6`, any subset; the others are 0.
    pub fn parse(text: &str) -> Result<Plant, String> {
        let mut plant = Plant::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| format!("{part}: expected PATTERN=SHARE"))?;
            let share: f64 = value.trim().parse().map_err(|_| format!("{part}: the share is not a number"))?;
            let slot = match name.trim() {
                "simbox" => &mut plant.simbox,
                "spike" => &mut plant.spike,
                "burst" => &mut plant.burst,
                "revenue" => &mut plant.revenue,
                "cases" => &mut plant.cases,
                other => return Err(format!("{other}: unknown pattern (simbox, spike, burst, revenue or cases)")),
            };
            *slot = share;
        }
        plant.check()?;
        Ok(plant)
    }

    /// Every share in 0..=1, and simbox + spike (drawn disjointly) at most 1.
    pub fn check(&self) -> Result<(), String> {
        let shares = [self.simbox, self.spike, self.burst, self.revenue, self.cases];
        if shares.iter().any(|s| !(0.0..=1.0).contains(s)) || self.simbox + self.spike > 1.0 {
            return Err("--plant: each share is in 0..=1, and simbox + spike at most 1".into());
        }
        Ok(())
    }
}

/// The pattern planted on `line`, if any: one uniform picks a SIM box
/// (below `simbox`) or a spike (the next `spike`), a second the spike day
/// among the last [`SPIKE_DAYS`] of the window in service (none: nothing
/// planted), a third a burst for a new line not already planted, a fourth
/// a revenue anomaly for a line none of these (its kind by the line's plan
/// and history, [`revenue::pattern`]). The fourth is drawn after the
/// others, so `revenue=` leaves the other patterns' lines as they were.
pub fn pattern(world: &World, plant: &Plant, line: &Line) -> Option<Pattern> {
    if !plant.any() {
        return None;
    }
    let r = &mut Rng::stream(world.seed, &[tag::PLANT, u64::from(line.id)]);
    let (which, when, burst, money) = (r.uniform(), r.uniform(), r.uniform(), r.uniform());
    if which < plant.simbox {
        return Some(Pattern::SimBox);
    }
    if which < plant.simbox + plant.spike {
        let first = (world.t - SPIKE_DAYS + 1).max(world.w0).max(line.act);
        let last = world.t.min(line.alive_to(world.t) - 1);
        let n = last - first + 1;
        return (n > 0).then(|| Pattern::Spike(first + ((when * f64::from(n)) as i32).min(n - 1)));
    }
    if line.act > world.t - NEW_DAYS && burst < plant.burst {
        return Some(Pattern::Burst);
    }
    (money < plant.revenue).then(|| revenue::pattern(world, line, money / plant.revenue)).flatten()
}

/// Days from the start of a SIM box's or burst's behaviour before
/// the fraud team can confirm it.
pub const CASE_MIN_DAYS: i32 = 5;
/// A SIM box's confirmation falls within this many days centred on T (half
/// of them after T: not caught yet); a burst's within this many days after
/// [`CASE_MIN_DAYS`] from its activation.
pub const CASE_SPREAD_DAYS: i32 = 60;

/// The day the fraud team confirms the case of `line` (a SIM box or a
/// burst), if it is caught on or before T: one uniform, from a stream of
/// (seed, line) of its own, decides whether it is caught at all (below
/// `plant.cases`), a second when. A SIM box is confirmed on a day
/// uniform over the [`CASE_SPREAD_DAYS`] centred on T, at least
/// [`CASE_MIN_DAYS`] after its activation; a burst within
/// [`CASE_SPREAD_DAYS`] from [`CASE_MIN_DAYS`] after its activation.
pub fn case_date(world: &World, plant: &Plant, line: &Line) -> Option<i32> {
    let pattern = line.plant?;
    if plant.cases <= 0.0 || !matches!(pattern, Pattern::SimBox | Pattern::Burst) {
        return None;
    }
    let r = &mut Rng::stream(world.seed, &[tag::CASE, u64::from(line.id)]);
    let (caught, when) = (r.uniform(), r.uniform());
    let offset = (when * f64::from(CASE_SPREAD_DAYS)) as i32;
    let day = match pattern {
        Pattern::SimBox => (world.t - CASE_SPREAD_DAYS / 2 + offset).max(line.act + CASE_MIN_DAYS),
        _ => line.act + CASE_MIN_DAYS + offset,
    };
    (caught < plant.cases && day <= world.t).then_some(day)
}

/// The factor on the event rate of a line with `pattern` on `day` (1 for
/// a SIM box, whose calls are not a factor, and a revenue anomaly).
fn factor(pattern: Pattern, day: i32) -> f64 {
    match pattern {
        Pattern::Spike(d) if d == day => SPIKE_FACTOR,
        Pattern::Burst => BURST_FACTOR,
        _ => 1.0,
    }
}

/// Whether the line's ordinary events are written (a SIM box's are not;
/// a revenue anomaly's usage stays as it was).
pub fn keeps_own_events(pattern: Option<Pattern>) -> bool {
    pattern != Some(Pattern::SimBox)
}

/// The planted events of `line` on `day` (in service, in the window), from
/// the (line, day) stream: a SIM box's calls, or for a spike or burst the
/// events that raise its ordinary Poisson mean `mean` by its factor (a
/// Poisson number of mean `mean x (factor - 1)`, of the line's own mix).
/// `made` is the line's outgoing factor that day.
pub fn events(world: &World, line: &Line, pattern: Pattern, day: i32, mean: f64, made: f64) -> Vec<Event> {
    let extra = match pattern {
        Pattern::SimBox => 0.0,
        _ => mean * (factor(pattern, day) - 1.0),
    };
    if pattern != Pattern::SimBox && extra <= 0.0 {
        return Vec::new();
    }
    let r = &mut Rng::stream(world.seed, &[tag::PLANT, u64::from(line.id), day as u64]);
    match pattern {
        Pattern::SimBox => (0..r.poisson(SIMBOX_CALLS_PER_DAY)).map(|_| simbox_call(r, line)).collect(),
        _ => (0..r.poisson(extra)).map(|_| Event::draw(r, line, made)).collect(),
    }
}

/// A SIM box call: outgoing voice to a number that is none of the line's
/// contacts, at a time uniform over the day, lasting 1 + Exp(60) s.
fn simbox_call(r: &mut Rng, line: &Line) -> Event {
    let sec = r.below(86_400) as u32;
    let contacts = &line.contacts[..usize::from(line.n_contacts)];
    let other = loop {
        let number = 10_000_000 + r.below(90_000_000) as u32;
        if !contacts.contains(&number) {
            break number;
        }
    };
    let duration_s = r.exponential(SIMBOX_CALL_MEAN_S) as i64 + 1;
    Event { sec, kind: "voice", out: true, duration_s: Some(duration_s), volume: None, other: Some(other) }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::generate::Options;
    use crate::generate::tests::{files, options, run};

    #[test]
    fn shares_parse_from_the_command_line() {
        let all = Plant::parse("simbox=0.002,spike=0.003,burst=0.05").unwrap();
        assert_eq!(all, Plant { simbox: 0.002, spike: 0.003, burst: 0.05, revenue: 0.0, cases: 0.0 });
        let revenue = Plant::parse("revenue=0.02").unwrap();
        assert!(revenue.any() && revenue == Plant { revenue: 0.02, ..Plant::default() });
        assert_eq!(Plant::parse(" spike = 0.1 ").unwrap(), Plant { spike: 0.1, ..Plant::default() });
        assert!(!Plant::parse("").unwrap().any());
        assert_eq!(Plant::parse("simbox=0.01,cases=0.6").unwrap().cases, 0.6);
        for bad in [
            "fax=0.1",
            "simbox",
            "simbox=x",
            "burst=1.5",
            "simbox=0.6,spike=0.6",
            "spike=-0.1",
            "revenue=2",
            "cases=1.5",
        ] {
            assert!(Plant::parse(bad).is_err(), "{bad}");
        }
    }

    /// Each cdr row of a generation (its fields) by subscriber_id.
    fn cdr_rows(dir: &std::path::Path) -> BTreeMap<String, Vec<Vec<String>>> {
        let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for (path, bytes) in files(dir).into_iter().filter(|(p, _)| p.starts_with("cdr/")) {
            for line in String::from_utf8(bytes).unwrap().lines().skip(1) {
                let f: Vec<String> = line.split(',').map(str::to_string).collect();
                out.entry(f[0].clone()).or_default().push(f);
            }
            assert!(path.ends_with(".csv"));
        }
        out
    }

    /// The rows of `sid` by day (`YYYY-MM-DD`).
    fn per_day(rows: &[Vec<String>]) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for row in rows {
            *out.entry(row[1][..10].to_string()).or_default() += 1;
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn planted_lines_show_their_pattern_and_only_their_rows_change() {
        let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
        let plant = Plant { simbox: 0.01, spike: 0.02, burst: 0.5, revenue: 0.0, cases: 0.0 };
        run(options(dirs[0].path())).await;
        let summary = run(Options { plant, threads: Some(1), ..options(dirs[1].path()) }).await;
        run(Options { plant, threads: Some(3), ..options(dirs[2].path()) }).await;
        let t = "2026-03-31".parse().unwrap();
        run(Options { plant, only_cdr_day: Some(t), ..options(dirs[3].path()) }).await;
        let (plain, planted) = (files(dirs[0].path()), files(dirs[1].path()));
        assert!(planted == files(dirs[2].path()), "the files differ between 1 and 3 threads");
        let day_t = |f: Vec<(String, Vec<u8>)>| -> Vec<_> {
            f.into_iter().filter(|(p, _)| p.starts_with("cdr/dt=2026-03-31/")).collect()
        };
        assert!(day_t(files(dirs[3].path())) == day_t(planted.clone()), "--only-cdr-day differs");
        // every file but the cdr is as without planting, and the fraud truth is added
        let others = |f: &[(String, Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
            f.iter().filter(|(p, _)| !p.starts_with("cdr/") && !p.ends_with("fraud_truth.csv")).cloned().collect()
        };
        assert!(others(&plain) == others(&planted));
        assert_eq!(planted.len(), plain.len() + 1);

        // the truth: planted lines in service at T, sorted, their pattern and anomaly date
        let text = std::fs::read_to_string(dirs[1].path().join("_truth/fraud_truth.csv")).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("subscriber_id,pattern,anomaly_date"));
        let truth: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        assert!(truth.windows(2).all(|w| w[0][0] < w[1][0]), "sorted by subscriber_id");
        let churn = std::fs::read_to_string(dirs[1].path().join("_truth/churn_truth.csv")).unwrap();
        let in_service: BTreeSet<&str> = churn.lines().skip(1).map(|l| &l[..9]).collect();
        let by: BTreeMap<&str, (&str, &str)> = truth.iter().map(|f| (f[0], (f[1], f[2]))).collect();
        let of = |pattern: &str| by.iter().filter(|(_, (p, _))| *p == pattern).map(|(s, (_, d))| (*s, *d)).collect();
        let (simbox, spike, burst): (Vec<_>, Vec<_>, Vec<_>) = (of("simbox"), of("spike"), of("burst"));
        assert_eq!(simbox.len() + spike.len() + burst.len(), truth.len());
        assert!(by.keys().all(|s| in_service.contains(s)));
        let fraud = summary.truth.as_ref().unwrap().fraud.clone().unwrap();
        assert_eq!(
            (fraud.simbox, fraud.spike, fraud.burst),
            (simbox.len() as u64, spike.len() as u64, burst.len() as u64)
        );
        assert!(!simbox.is_empty() && spike.len() > 10 && !burst.is_empty(), "{text}");
        assert!(summary.render().contains("fraud truth "));

        // only the planted lines' cdr rows change (those in service at T are in the truth)
        let (rows_plain, rows) = (cdr_rows(dirs[0].path()), cdr_rows(dirs[1].path()));
        let sids: BTreeSet<&String> = rows_plain.keys().chain(rows.keys()).collect();
        for sid in sids {
            if rows_plain.get(sid) != rows.get(sid) {
                assert!(by.contains_key(sid.as_str()) || !in_service.contains(sid.as_str()), "{sid} changed");
            }
        }
        check_simbox(&simbox, &rows, &rows_plain);
        check_spike(&spike, &rows);
        check_burst(&burst, dirs[1].path(), &rows);
    }

    /// A SIM box makes only outgoing voice calls, about 250 a day, to
    /// numbers it calls once, none of its contacts, at any hour.
    fn check_simbox(
        simbox: &[(&str, &str)],
        rows: &BTreeMap<String, Vec<Vec<String>>>,
        plain: &BTreeMap<String, Vec<Vec<String>>>,
    ) {
        let (mut calls, mut at_night) = (0usize, 0usize);
        for (sid, anomaly_date) in simbox {
            assert!(anomaly_date.is_empty());
            let rows = &rows[*sid];
            assert!(rows.iter().all(|r| r[2] == "voice" && r[3] == "out" && r[5].is_empty()), "{sid}");
            let numbers: BTreeSet<&String> = rows.iter().map(|r| &r[6]).collect();
            assert!(numbers.len() as f64 > 0.98 * rows.len() as f64, "{sid}: {} numbers", numbers.len());
            let contacts: BTreeSet<&String> =
                plain.get(*sid).into_iter().flatten().filter(|r| !r[6].is_empty()).map(|r| &r[6]).collect();
            assert!(numbers.is_disjoint(&contacts), "{sid} calls its contacts");
            for (day, n) in per_day(rows) {
                assert!((170..=330).contains(&n), "{sid} {day}: {n} calls");
            }
            let mean_s = rows.iter().map(|r| r[4].parse::<f64>().unwrap()).sum::<f64>() / rows.len() as f64;
            assert!((mean_s - 61.0).abs() < 12.0, "{sid}: {mean_s}");
            calls += rows.len();
            at_night += rows.iter().filter(|r| &r[1][11..13] < "06").count();
        }
        // uniform over the day: a quarter before 06:00 (usage-weighted hours: 5%)
        let night = at_night as f64 / calls as f64;
        assert!((night - 0.25).abs() < 0.04, "{night}");
    }

    /// A spike line's spike day (one of the last 3) holds far more of its events than its other days.
    fn check_spike(spike: &[(&str, &str)], rows: &BTreeMap<String, Vec<Vec<String>>>) {
        let (mut on_spike, mut other, mut other_days, mut highest) = (0usize, 0usize, 0usize, 0usize);
        for (sid, date) in spike {
            assert!(["2026-03-29", "2026-03-30", "2026-03-31"].contains(date), "{sid}: {date}");
            let days = rows.get(*sid).map(|r| per_day(r)).unwrap_or_default();
            let n = days.get(*date).copied().unwrap_or(0);
            on_spike += n;
            other += days.iter().filter(|(d, _)| d != date).map(|(_, n)| n).sum::<usize>();
            other_days += 4;
            highest += usize::from(days.iter().all(|(d, &m)| d == date || m < n));
        }
        let ratio = (on_spike as f64 / spike.len() as f64) / (other as f64 / other_days as f64);
        assert!(ratio > 12.0, "spike days {on_spike}, others {other}: x{ratio:.1}");
        assert!(highest * 4 >= spike.len() * 3, "{highest} of {} spike days are the line's busiest", spike.len());
    }

    /// Burst lines are new, and use far more than the other new lines.
    fn check_burst(burst: &[(&str, &str)], dir: &std::path::Path, rows: &BTreeMap<String, Vec<Vec<String>>>) {
        let text = std::fs::read_to_string(dir.join("subscribers/dt=2026-03-31/part-00000.csv")).unwrap()
            + &(1..4)
                .map(|k| {
                    std::fs::read_to_string(dir.join(format!("subscribers/dt=2026-03-31/part-{k:05}.csv"))).unwrap()
                })
                .collect::<String>();
        let act: BTreeMap<&str, &str> =
            text.lines().filter(|l| l.starts_with('S')).map(|l| (&l[..9], l.split(',').nth(2).unwrap())).collect();
        let bursts: BTreeSet<&str> = burst
            .iter()
            .map(|(s, d)| {
                assert!(d.is_empty());
                *s
            })
            .collect();
        let (mut per_burst, mut per_new) = ((0usize, 0usize), (0usize, 0usize));
        for (sid, a) in act.iter().filter(|(_, a)| **a > "2026-03-01") {
            let days = ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31"]
                .iter()
                .filter(|d| *d >= a)
                .count();
            let n = rows.get(*sid).map_or(0, Vec::len);
            let acc = if bursts.contains(sid) { &mut per_burst } else { &mut per_new };
            *acc = (acc.0 + n, acc.1 + days);
        }
        assert!(bursts.iter().all(|s| act[s] > "2026-03-01"), "a burst line is not new");
        let (b, n) = (per_burst.0 as f64 / per_burst.1 as f64, per_new.0 as f64 / per_new.1.max(1) as f64);
        assert!(b > 5.0 * n, "burst lines {b:.1} events a day, other new lines {n:.1}");
    }
}
