//! `cvm generate`: a synthetic landing in the contract's shape, with
//! learnable churn structure, for demos, tests and benchmarks.
//!
//! ```text
//! cvm generate --subscribers 20000 --days 150 --as-of 2026-11-22 --out /tmp/landing
//! cvm run jobs/demo.toml --as-of 2026-11-22 --input-root /tmp/landing --warehouse /tmp/wh
//! ```
//!
//! What it writes under `--out`, in the conventional layout
//! `<source>/dt=YYYY-MM-DD/part-<shard:05>.csv` (or `.parquet`) with the
//! contract's column names, every row valid unless `--dirty` says otherwise:
//!
//! - subscribers (dt=T): every line activated in the ~8 years before T (more
//!   recent cohorts larger, 20% growth a year), plan_type prepaid/postpaid
//!   (55/45), segment consumer/youth/business, region, msisdn, plan_id,
//!   channel, birth_year, commitment_months (the last column: postpaid 24,
//!   12 or 0 for none, 45/35/20%; empty for prepaid) and, for ended lines,
//!   deactivation_date and reason (voluntary, port_out, other, involuntary).
//! - billing (dt=T): one bill per month in service over the 18 calendar months
//!   before T's month (bill_month `YYYY-MM`, invoice_id, charge_type recurring
//!   for postpaid, net_amount with 2 decimals); lognormal ARPU by plan and
//!   segment (postpaid higher), prorated in partial months.
//! - cdr (one folder per local day, dt=D, for the last `--days` days): per line
//!   and day in service a Poisson number of events (about one a day: a
//!   per-line gamma-distributed level, times a weekday factor by segment,
//!   scaled by `--cdr-per-day`), types voice/sms/data/mms (mix by segment),
//!   times by a usage-weighted hour of day, direction, duration_s for voice
//!   and data, volume_bytes for data, other_party from the line's few
//!   contacts; event_time is local time with its UTC offset (CET/CEST).
//! - recharges (dt=T, prepaid only): top-ups from activation to deactivation
//!   (or T), a Poisson process at a gamma-distributed per-line rate (mean one
//!   every ~10 days), in usual denominations. The full history by default,
//!   since cvm's BG/NBD model counts repeat recharge days since activation;
//!   `--recharge-days N` keeps the last N days only.
//! - tickets (dt=T, over the last `--days` days): a few % of lines a month
//!   open one; resolved_at hours to days later, empty while open at T. Each
//!   network fault episode (below) opens 1..=3 more of category fault in its
//!   first days, slow to resolve (mean ~4 days, 20% open after 7).
//! - optouts (dt=T): about 2% of lines; strategic_fit (dt=T): one score per segment.
//!
//! The churn signal (src/generate/churn.rs):
//! - Decisions: a line decides to leave at a daily hazard
//!   `h(d) = theta / 30.44 x contract x fault x age x channel`, piecewise
//!   constant, its first decision found with one exponential draw over the
//!   intervals. theta ~ Beta(alpha, beta) by plan and segment (postpaid
//!   business Beta(0.7, 75) .. prepaid youth Beta(1.1, 22)), so churn falls
//!   with tenure across the base as a shifted-beta-geometric model expects,
//!   and about 2% of the lines in service leave a month. contract: a
//!   postpaid term of c months is x4 in its last month (the renewal window,
//!   tenure months counted as cvm counts them) and x0.35 in the others;
//!   prepaid and postpaid without commitment x1. fault: network fault
//!   episodes come at a yearly rate by region (north 0.3, south 0.3, east
//!   0.8, west 0.4), last 45 days and triple the hazard. age: x1.3 under 26.
//!   channel: store 0.9, online 1.15, dealer 1, telesales 1.35.
//! - Exits: 70% of decisions are warned: over the 30..75 days to the end,
//!   usage falls steadily to 5..35% of its level, the share of calls and
//!   messages the line makes (not receives) sinks to half, bills fall
//!   (prepaid strongly, postpaid partly), complaints rise, and prepaid
//!   recharges thin out and stop 15 days before the end. The other 30% end 0..10 days
//!   after the decision, without warning. A postpaid line ends on the first
//!   monthly anniversary of its activation on or after that day, as term
//!   contracts do. Reasons: postpaid port_out 50%, voluntary 45%, other 5%;
//!   prepaid voluntary 85%, port_out 10%, other 5%. Involuntary exits
//!   (non-payment) are a hazard of their own, abrupt: 0.3% a month postpaid
//!   (x2 under 26, x2 in the lowest ARPU tier), 0.2% prepaid. A line ends at
//!   the earlier of the two. Decisions are simulated to 90 days after T, so
//!   a line in service at T may already show its decline. Noise: dips of
//!   the same shape as a decline that recover (0.3 theta a month), and
//!   usage levels that differ a lot between lines, so low usage alone does
//!   not mean churn.
//! - The truth: `_truth/churn_truth.csv` beside the sources (ingest never
//!   reads it; written with the snapshot-day sources, not by
//!   `--only-cdr-day`), always CSV, one file sorted by subscriber_id: one row
//!   per line in service at the end of T with `subscriber_id, plan_type,
//!   hazard_30d, end_date, end_reason, churns_30d`. hazard_30d is the true
//!   probability, given what is knowable at T (theta and the factors, the
//!   faults started by T, a warned decision already taken and its day),
//!   that the line leaves voluntarily in (T, T+30]; churns_30d is 1 when it did
//!   (voluntary, port_out or other; not involuntary); end_date and
//!   end_reason say how it ended if before T+90. Scoring hazard_30d against
//!   churns_30d gives the best AUC any churn model can reach on the landing.
//!
//! Fraud patterns (`--plant simbox=0.002,spike=0.003,burst=0.05,revenue=0.01`,
//! any subset, default none; src/generate/plant.rs) planted in the cdr, the
//! billing or the recharges, each line's pattern drawn from a stream of
//! (seed, line) alone:
//! - simbox (a share of all lines): a SIM box terminating bulk traffic. On
//!   every day in service in the window, instead of its own events, it
//!   makes Poisson([`SIMBOX_CALLS_PER_DAY`] = 250) outgoing voice calls,
//!   each to a fresh random number (none of its contacts), lasting 1 +
//!   Exp(60 s), at times uniform over the 24 hours; nothing incoming, no
//!   sms, mms or data. An absolute volume: `--cdr-per-day` does not scale it.
//! - spike (a share of all lines, disjoint from simbox): one day, uniform
//!   among the last 3 of the window up to T on which the line is in
//!   service, with its Poisson mean of events times [`SPIKE_FACTOR`] = 30
//!   (its own mix of types).
//! - burst (a share of the new lines, activated in the 30 days up to T, not
//!   already simbox or spike): subscription fraud, its Poisson mean times
//!   [`BURST_FACTOR`] = 20 on every day in service.
//! - revenue (a share of all lines, none of the above, in service at T;
//!   src/generate/revenue.rs), by plan: a postpaid line billed in 4 months
//!   or more before the last bill month (the month before T's) is half
//!   bill_jump, half credit_heavy. bill_jump: that month's invoice gets an
//!   extra `roaming` or `voice` line making the month's total 8..15 times
//!   the median of the line's earlier bills (a stolen SIM's roaming, a
//!   billing error); credit_heavy: an `adjustment` line of minus 100..150%
//!   of the month's charges (unjustified credits). A prepaid line with
//!   recharges written for 90 days before the 30 days up to T is
//!   recharge_mismatch: extra top-ups in those 30 days, in the two
//!   denominations above its usual one, bring them to 8..12 times its
//!   usual 30 days' (the highest of the 90 days' before, its whole
//!   history's and its habit's), while its usage stays as it was. Lines
//!   without that history get nothing. The amounts and times come from a
//!   stream of (seed, line); the rows follow the line's own and are never
//!   spoiled by `--dirty`, so the other rows are as without planting.
//!
//! The extra events (a spike's or burst's `mean x (factor - 1)`, a SIM
//! box's calls) come from a stream of (seed, line, day), and the day's
//! shared stream draws what it always drew (a SIM box's own events are
//! drawn and dropped), so planting changes only the planted lines' cdr rows
//! (and, with `--dirty`, which rows are spoiled: planted rows are spoiled
//! as any row). `--cdr-per-day` sets the lines' own volume; planted events
//! come on top. Without `--plant` every byte is as before it existed. With
//! it, `_truth/fraud_truth.csv` (beside churn_truth.csv, written with it;
//! always CSV) holds one row per planted line in service at the end of T,
//! sorted by subscriber_id: `subscriber_id, pattern, anomaly_date` (pattern
//! simbox, spike, burst, bill_jump, credit_heavy or recharge_mismatch;
//! anomaly_date the spike's day, the first day of the planted bill month or
//! of the planted 30 days, empty for simbox and burst), and the summary
//! counts them.
//!
//! Determinism: the same arguments give byte-identical files whatever the
//! number of threads. Lines are generated in shards of `--shard-size` (shard
//! k writes `part-<k:05>` in every folder, and the truth rows of its lines,
//! appended to the one truth file in shard order). Every random stream is
//! derived from the seed and what it is for: a line's traits from (seed, line), a
//! snapshot source's rows from (seed, source, shard), a day's events from
//! (seed, shard, day), a planted line's from (seed, line, day), the
//! spoiled rows from a stream of their own. So
//! `--only-cdr-day D` writes exactly the folder a full generation writes for
//! D, without generating anything else, and `--dirty` changes only the rows
//! it spoils.
//!
//! The population is placed relative to T (activations are ages before T),
//! so a generation as of T+1 is that of T moved by one day: the same
//! subscriber ids, one day more of history.
//!
//! A fixed timeline (`--world-date A`): the world is drawn once relative to
//! A instead (activations before A; faults, decisions and exits simulated
//! to A + 181; dips from the cdr window of a generation as of A), and a
//! generation as of any T in A ..= A + 90 observes it on day T: the same
//! lines with the same activation and deactivation dates. Only what is
//! written follows T (its days, bill months, the lines ended by T, the
//! truth's horizon). Lines activated after A do not exist in such a world,
//! so its base shrinks as T moves on. The rows' own noise (bill amounts,
//! event times, recharges, tickets) comes from streams per shard, not per
//! line, so it differs between two T; the lines and their exits do not.
//!
//! Campaigns and their effect (`--campaigns-from WAREHOUSE`, with
//! `--world-date`; src/generate/treatment.rs): the generator reads the
//! warehouse's published `contacts_history` (the lists of the nights before
//! T, through the reader `cvm query` uses). A contact of wave W (the night
//! the list was drawn) cancels the line's exit, unless involuntary, if it
//! ends in (W, W + 90], with probability [`EFFECT`] by segment (consumer
//! 0.40, youth 0.10, business 0.70) times `--treatment-scale`, capped at 1,
//! drawn from a stream of (seed, line, wave, campaign) alone. A line
//! listed in several waves is treated by the earliest contact whose window
//! holds its end; control rows are never treated. A saved line stays in
//! service (no deactivation, bills and usage at its level after W, and it
//! does not leave again within the simulated horizon); what it showed up to
//! W is kept (a decline stops after W, recharges quiet before W stay so).
//! It also writes:
//! - responses (dt=T): one row per contact made by the end of T,
//!   `subscriber_id, campaign, contacted_at, outcome, channel`: contacted on
//!   one of the 3 days after the wave, 09:00-19:00 local; no_answer 35%, of
//!   the rest accepted with chance 0.8 if the contact saved the line, 0.15
//!   otherwise, then declined or reached half and half. Not a source of the
//!   contract yet: a job does not read it.
//! - `_truth/treatment_truth.csv`: one row per listing before T (sorted by
//!   campaign, wave_date, subscriber_id) with `group, segment`,
//!   `would_end_90d` (the untreated line ends, not involuntarily, in (W, W +
//!   90]), `end_date` (its untreated end, any reason) and `saved`. The
//!   planted uplift at horizon h is the control group's share ending in (W,
//!   W + h] less the contacts' share times (1 - their effect).

mod calendar;
mod cdr;
mod churn;
mod event;
mod options;
mod plant;
mod population;
mod revenue;
pub mod rng;
mod sink;
mod sources;
mod summary;
mod tasks;
mod treatment;
mod truth;

use std::time::Instant;

use crate::storage::{Location, StorageError};
pub use options::{DEFAULT_SHARD_SIZE, MAX_SUBSCRIBERS, Options};
pub use plant::{BURST_FACTOR, Plant, SIMBOX_CALLS_PER_DAY, SPIKE_FACTOR};
pub use population::Census;
pub use sink::Format;
use sources::SOURCES;
pub use summary::{SourceStats, Summary};
pub use treatment::{EFFECT, TreatmentStats};
pub use truth::{FraudStats, TruthStats};

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{file}: cannot write: {message}")]
    Write { file: String, message: String },
    #[error("a generation worker stopped unexpectedly: {0}")]
    Worker(String),
    #[error("--campaigns-from {warehouse}: {message}")]
    Campaigns { warehouse: String, message: String },
}

impl GenerateError {
    /// A bad command line, not a failure to write.
    pub fn is_usage(&self) -> bool {
        matches!(self, GenerateError::Usage(_))
    }
}

/// Writes the landing `options` describe and says what it wrote.
pub async fn generate(options: &Options) -> Result<Summary, GenerateError> {
    options.check()?;
    let location = Location::open(&options.out.as_folder(), &Default::default())?;
    let root = location.url.store_path();
    let started = Instant::now();
    // the folders written are replaced
    match options.only_cdr_day {
        Some(day) => {
            location.delete_prefix(&root.clone().join("cdr").join(format!("dt={day}"))).await?;
        }
        None => {
            for source in SOURCES {
                location.delete_prefix(&root.clone().join(source.name())).await?;
            }
            location.delete_prefix(&root.clone().join(sources::RESPONSES.name)).await?;
            location.delete_prefix(&root.clone().join(truth::FOLDER)).await?;
        }
    }
    let history = match &options.campaigns_from {
        Some(warehouse) => Some(treatment::read_history(warehouse, options.as_of, options.subscribers).await?),
        None => None,
    };
    let handle = tokio::runtime::Handle::current();
    let options = options.clone();
    let job = tokio::task::spawn_blocking(move || tasks::write_all(&options, &location, handle, started, history));
    job.await.map_err(|e| GenerateError::Worker(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::storage::StoreUrl;

    /// Every file under `dir`, by path relative to it, with its bytes.
    pub(super) fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(dir).unwrap().display().to_string();
                    out.push((rel, std::fs::read(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    pub(super) fn options(dir: &std::path::Path) -> Options {
        let out = StoreUrl::parse(&dir.display().to_string(), std::path::Path::new("/")).unwrap();
        Options { shard_size: 400, ..Options::new(1_500, 5, "2026-03-31".parse().unwrap(), out) }
    }

    pub(super) async fn run(options: Options) -> Summary {
        generate(&options).await.expect("generates")
    }

    fn stats<'a>(summary: &'a Summary, source: &str) -> &'a SourceStats {
        &summary.sources.iter().find(|(name, _)| *name == source).unwrap().1
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_same_arguments_give_the_same_bytes_whatever_the_threads() {
        for format in [Format::Csv, Format::Parquet] {
            let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let base = |dir| Options { format, dirty: 0.02, threads: Some(1), ..options(dir) };
            let first = run(base(a.path())).await;
            let second = run(Options { threads: Some(3), ..base(b.path()) }).await;
            let (fa, fb) = (files(a.path()), files(b.path()));
            // 4 shards x (5 snapshot sources + 5 cdr days) + strategic_fit + the truth
            assert_eq!(fa.len(), 42, "{format:?}");
            assert!(fa == fb, "{format:?}: the files differ between 1 and 3 threads");
            assert_eq!(first.census.active, second.census.active);
            assert_eq!(first.census.lines, 1_500);
        }
    }

    /// The sha256 of every file of a generation, by path, as hex.
    fn digest(dir: &std::path::Path) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for (path, bytes) in files(dir) {
            hash.update(path.as_bytes());
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(&bytes);
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Pins the landing written before `--plant` existed: adding the planted
    /// patterns must leave every byte of a generation without them as it was.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_generation_without_plant_writes_the_bytes_it_always_wrote() {
        let dir = tempfile::tempdir().unwrap();
        run(Options { dirty: 0.02, cdr_per_day: Some(3_000), ..options(dir.path()) }).await;
        assert_eq!(digest(dir.path()), "aa27784dcd0096ff16e5f835f09dc4d79b02f10b4672278402feb58cd7e1eca9");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_truth_has_one_row_per_line_in_service_at_t_in_subscriber_order() {
        let dir = tempfile::tempdir().unwrap();
        let summary = run(options(dir.path())).await;
        let text = std::fs::read_to_string(dir.path().join("_truth/churn_truth.csv")).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("subscriber_id,plan_type,hazard_30d,end_date,end_reason,churns_30d"));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len() as u64, summary.census.active);
        assert!(rows.windows(2).all(|w| w[0][0] < w[1][0]), "sorted by subscriber_id");
        let (mut hazard, mut churns) = (0.0, 0);
        for row in &rows {
            let h: f64 = row[2].parse().unwrap();
            assert!((0.0..=1.0).contains(&h) && row[2].len() == 8, "{row:?}");
            // in service at T: no end on or before it; churns_30d a voluntary end by T + 30
            assert!(row[3].is_empty() || row[3] > "2026-03-31", "{row:?}");
            assert_eq!(row[3].is_empty(), row[4].is_empty(), "{row:?}");
            let churned = !row[3].is_empty() && row[3] <= "2026-04-30" && row[4] != "involuntary";
            assert_eq!(row[5], if churned { "1" } else { "0" }, "{row:?}");
            hazard += h;
            churns += usize::from(churned);
        }
        let truth = summary.truth.as_ref().unwrap();
        assert_eq!((truth.rows, truth.churns), (rows.len() as u64, churns as u64));
        assert!((truth.mean_hazard() - hazard / rows.len() as f64).abs() < 1e-6);
        assert!(summary.render().contains("truth ") && summary.render().lines().last().unwrap().starts_with("lines "));
        // the subscribers file ends with commitment_months: 24, 12 or 0 for postpaid, empty for prepaid
        let subscribers = std::fs::read_to_string(dir.path().join("subscribers/dt=2026-03-31/part-00000.csv")).unwrap();
        assert!(subscribers.lines().next().unwrap().ends_with(",birth_year,commitment_months"));
        for line in subscribers.lines().skip(1) {
            let (plan, months) = (line.split(',').nth(5).unwrap(), line.rsplit(',').next().unwrap());
            assert!(if plan == "prepaid" { months.is_empty() } else { ["24", "12", "0"].contains(&months) }, "{line}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_cdr_day_alone_is_that_day_of_a_full_generation() {
        let (full, next) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let day: NaiveDate = "2026-03-29".parse().unwrap(); // the first day of summer time
        run(Options { cdr_per_day: Some(3_000), ..options(full.path()) }).await;
        // a stale file in the day's folder goes, the other folders stay
        let stale = next.path().join("cdr/dt=2026-03-29/part-00099.csv");
        std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
        std::fs::write(&stale, "old").unwrap();
        std::fs::create_dir_all(next.path().join("subscribers/dt=2026-03-30")).unwrap();
        std::fs::write(next.path().join("subscribers/dt=2026-03-30/part-00000.csv"), "kept").unwrap();
        let summary = run(Options { cdr_per_day: Some(3_000), only_cdr_day: Some(day), ..options(next.path()) }).await;
        let in_day = |dir: &std::path::Path| -> Vec<(String, Vec<u8>)> {
            files(dir).into_iter().filter(|(p, _)| p.starts_with("cdr/dt=2026-03-29/")).collect()
        };
        let expected = in_day(full.path());
        assert_eq!(expected.len(), 4);
        assert!(in_day(next.path()) == expected, "the day alone differs from the full generation's");
        let names: Vec<String> = files(next.path()).into_iter().map(|(p, _)| p).collect();
        assert_eq!(names.len(), 5, "{names:?}");
        assert!(names.contains(&"subscribers/dt=2026-03-30/part-00000.csv".to_string()));
        assert_eq!(stats(&summary, "cdr").files, 4);
        let text = String::from_utf8(expected[0].1.clone()).unwrap();
        assert!(text.lines().nth(1).unwrap().contains("2026-03-29T") && text.contains("+02:00"), "{text:.200}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dirty_rows_are_about_the_rate_and_leave_the_clean_rows_alone() {
        let (clean, dirty) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let summary_clean = run(options(clean.path())).await;
        let summary = run(Options { dirty: 0.05, ..options(dirty.path()) }).await;
        let (fc, fd) = (files(clean.path()), files(dirty.path()));
        assert_eq!(fc.len(), fd.len());
        for source in ["billing", "cdr", "recharges", "tickets", "subscribers"] {
            let (mut rows, mut changed) = (0usize, 0usize);
            for ((pc, bc), (pd, bd)) in fc.iter().zip(&fd).filter(|((p, _), _)| p.starts_with(&format!("{source}/"))) {
                assert_eq!(pc, pd);
                let (lc, ld): (Vec<&[u8]>, Vec<&[u8]>) =
                    (bc.split(|&b| b == b'\n').collect(), bd.split(|&b| b == b'\n').collect());
                assert_eq!(lc.len(), ld.len(), "{pc}: spoiling a row keeps it");
                rows += lc.len().saturating_sub(2);
                changed += lc.iter().zip(&ld).filter(|(a, b)| a != b).count();
            }
            let s = stats(&summary, source);
            assert_eq!(changed as u64, s.dirty, "{source}: every row counted dirty differs, and only those");
            assert_eq!(s.rows, stats(&summary_clean, source).rows);
            if source == "subscribers" {
                assert_eq!(changed, 0);
            } else if rows > 2_000 {
                let share = changed as f64 / rows as f64;
                assert!((share - 0.05).abs() < 0.015, "{source}: {changed} of {rows}");
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cdr_per_day_sets_the_daily_volume() {
        let dir = tempfile::tempdir().unwrap();
        let summary = run(Options { cdr_per_day: Some(20_000), ..options(dir.path()) }).await;
        let rows = stats(&summary, "cdr").rows as f64;
        assert!((rows / 5.0 / 20_000.0 - 1.0).abs() < 0.03, "{rows} rows in 5 days");
        assert!(summary.cdr_scale > 5.0, "{}", summary.cdr_scale);
    }

    /// Every subscribers row of a generation, by subscriber_id: (activation, deactivation, reason).
    fn subscribers(dir: &std::path::Path, t: &str) -> std::collections::BTreeMap<String, (String, String, String)> {
        let mut out = std::collections::BTreeMap::new();
        for (path, bytes) in files(dir) {
            if path.starts_with(&format!("subscribers/dt={t}/")) {
                for line in String::from_utf8(bytes).unwrap().lines().skip(1) {
                    let f: Vec<&str> = line.split(',').collect();
                    out.insert(f[0].to_string(), (f[2].to_string(), f[3].to_string(), f[4].to_string()));
                }
            }
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fixed_world_seen_30_days_later_has_the_same_lines_and_their_exits() {
        let (first, later) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a: NaiveDate = "2026-03-31".parse().unwrap();
        let fixed = |dir, as_of| Options { world_date: Some(a), as_of, ..options(dir) };
        run(fixed(first.path(), a)).await;
        run(fixed(later.path(), "2026-04-30".parse().unwrap())).await;
        let (at_a, at_30) = (subscribers(first.path(), "2026-03-31"), subscribers(later.path(), "2026-04-30"));
        assert_eq!(at_a.len(), 1_500);
        assert_eq!(at_a.keys().collect::<Vec<_>>(), at_30.keys().collect::<Vec<_>>(), "the same lines");
        // the truth at A says how the lines in service then end; the later generation shows those ends
        let truth = std::fs::read_to_string(first.path().join("_truth/churn_truth.csv")).unwrap();
        let ends: std::collections::BTreeMap<&str, (&str, &str)> =
            truth.lines().skip(1).map(|l| l.split(',').collect::<Vec<_>>()).map(|f| (f[0], (f[3], f[4]))).collect();
        let (mut kept, mut ended) = (0, 0);
        for (id, (act, end, reason)) in &at_a {
            let (act_30, end_30, reason_30) = &at_30[id];
            assert_eq!(act, act_30, "{id}: the activation moved");
            if !end.is_empty() {
                assert_eq!((end, reason), (end_30, reason_30), "{id}: an exit by A changed");
                kept += 1;
                continue;
            }
            let (truth_end, truth_reason) = ends[id.as_str()];
            if !truth_end.is_empty() && truth_end <= "2026-04-30" {
                assert_eq!((truth_end, truth_reason), (end_30.as_str(), reason_30.as_str()), "{id}");
                ended += 1;
            } else {
                assert!(end_30.is_empty(), "{id}: ended at {end_30}, not in the truth at A");
            }
        }
        assert!(kept > 100 && ended > 10, "{kept} exits by A, {ended} in the 30 days after");
        // outside A ..= A + 90 is a usage error; so are campaigns without a fixed world
        let dir = std::path::Path::new("/tmp/unused");
        for as_of in ["2026-03-30", "2026-06-30"] {
            assert!(fixed(dir, as_of.parse().unwrap()).check().unwrap_err().is_usage(), "{as_of}");
        }
        assert!(fixed(dir, "2026-06-29".parse().unwrap()).check().is_ok());
        let warehouse = StoreUrl::parse("/tmp/wh", std::path::Path::new("/")).unwrap();
        assert!(Options { campaigns_from: Some(warehouse), ..options(dir) }.check().unwrap_err().is_usage());
    }

    #[test]
    fn options_outside_their_ranges_are_usage_errors() {
        let dir = std::path::Path::new("/tmp/unused");
        let bad = [
            Options { subscribers: 0, ..options(dir) },
            Options { dirty: 1.5, ..options(dir) },
            Options { only_cdr_day: Some("2026-03-26".parse().unwrap()), ..options(dir) },
            Options { only_cdr_day: Some("2026-04-01".parse().unwrap()), ..options(dir) },
        ];
        for o in bad {
            assert!(o.check().unwrap_err().is_usage());
        }
        assert!(Options { only_cdr_day: Some("2026-03-27".parse().unwrap()), ..options(dir) }.check().is_ok());
    }
}
