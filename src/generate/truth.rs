//! The truth beside the landing: `_truth/churn_truth.csv`, one row per line
//! in service at the end of T, sorted by subscriber_id, with the true
//! probability that it leaves voluntarily in the 30 days after T and what
//! the simulation then did, so a benchmark can score a churn model against
//! the best any model could do (the oracle's AUC). It sits outside every
//! source folder, so ingest never reads it; always CSV, one file.
//!
//! With `--plant`, `_truth/fraud_truth.csv` beside it: one row per planted
//! line in service at T, sorted by subscriber_id, with its pattern (simbox,
//! spike, burst, bill_jump, credit_heavy, recharge_mismatch) and its
//! anomaly_date: a spike's day, the first day of the planted bill month, or
//! the first day of the planted recharges' 30 days (empty for simbox and
//! burst).
//!
//! With `--plant ...,cases=P`, the `fraud_cases` source too (in the
//! landing's format, `fraud_cases/dt=T/part-00000`): one row per planted SIM
//! box or burst in service at T that the fraud team confirmed on or before
//! T ([`plant::case_date`]), sorted by subscriber_id.
//!
//! Shards compute their rows in any order; the rows are appended to the
//! files in shard order (a shard that finishes early waits in memory for
//! those before it), so the bytes do not depend on the threads.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::GenerateError;
use super::churn::{self, TRUTH_DAYS};
use super::plant::{self, Plant};
use super::population::Pattern;
use super::population::{self as pop, FUTURE_DAYS, Line, World};
use super::sink::{Cell, FileStats, FileWriter, Format, Kind, Table};
use super::sources::ascii;
use crate::storage::Location;

/// Where the truth goes under `--out`.
pub const FOLDER: &str = "_truth";
pub const FILE: &str = "churn_truth.csv";
pub const FRAUD_FILE: &str = "fraud_truth.csv";

static TRUTH: Table = Table {
    name: "churn_truth",
    columns: &[
        ("subscriber_id", Kind::Text),
        ("plan_type", Kind::Text),
        // text: written with 6 decimals
        ("hazard_30d", Kind::Text),
        ("end_date", Kind::Date),
        ("end_reason", Kind::Text),
        ("churns_30d", Kind::Int),
    ],
};

static FRAUD: Table = Table {
    name: "fraud_truth",
    columns: &[("subscriber_id", Kind::Text), ("pattern", Kind::Text), ("anomaly_date", Kind::Date)],
};

/// One line's truth.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    id: u32,
    plan: u8,
    hazard_30d: f64,
    /// The end and its reason, if before T + FUTURE_DAYS.
    end: Option<(i32, u8)>,
    churns_30d: bool,
    plant: Option<Pattern>,
    /// The day its fraud case was confirmed, if on or before T.
    case: Option<i32>,
}

/// The truth of the lines of `lines` in service at the end of T, in their order.
pub fn rows(world: &World, plant: &Plant, lines: &[Line]) -> Vec<Row> {
    let t = world.t;
    lines
        .iter()
        .filter(|l| !l.ended(t))
        .map(|l| {
            let end = l.end.filter(|&e| e < t + FUTURE_DAYS).map(|e| (e, l.reason));
            Row {
                id: l.id,
                plan: l.plan,
                hazard_30d: churn::hazard_30d(&l.drivers(), l.decision, t),
                end,
                churns_30d: end.is_some_and(|(e, reason)| e <= t + TRUTH_DAYS && reason != churn::INVOLUNTARY),
                plant: l.plant,
                case: plant::case_date(world, plant, l),
            }
        })
        .collect()
}

/// What the truth file held, for the summary.
#[derive(Debug, Clone, Default)]
pub struct TruthStats {
    pub url: String,
    /// Lines in service at T.
    pub rows: u64,
    pub bytes: u64,
    pub hazard_sum: f64,
    pub churns: u64,
    /// The fraud truth, with `--plant`.
    pub fraud: Option<FraudStats>,
}

/// What the fraud truth file held: the planted lines in service at T, by pattern.
#[derive(Debug, Clone, Default)]
pub struct FraudStats {
    pub url: String,
    pub simbox: u64,
    pub spike: u64,
    pub burst: u64,
    pub bill_jump: u64,
    pub credit_heavy: u64,
    pub recharge_mismatch: u64,
    pub bytes: u64,
    /// The `fraud_cases` source, with `cases=`: its URL and rows.
    pub cases: Option<(String, u64)>,
}

impl TruthStats {
    pub fn mean_hazard(&self) -> f64 {
        self.hazard_sum / (self.rows.max(1) as f64)
    }

    pub fn churn_share(&self) -> f64 {
        self.churns as f64 / (self.rows.max(1) as f64)
    }
}

/// The truth file being written, shard after shard.
pub struct Writer {
    state: Mutex<State>,
}

struct State {
    out: FileWriter,
    fraud: Option<(FileWriter, FraudStats)>,
    cases: Option<FileWriter>,
    /// The shard whose rows are appended next, and those computed before their turn.
    next: u64,
    waiting: BTreeMap<u64, Vec<Row>>,
    stats: TruthStats,
    text: String,
}

impl Writer {
    /// The churn truth, and the fraud truth if `fraud`; the `fraud_cases`
    /// source at `cases` (its path and format under the landing) if given.
    pub fn create(
        location: &Location,
        handle: tokio::runtime::Handle,
        fraud: bool,
        cases: Option<(object_store::path::Path, Format)>,
    ) -> Result<Writer, GenerateError> {
        let folder = location.url.store_path().join(FOLDER);
        let mut fraud = if fraud {
            let path = folder.clone().join(FRAUD_FILE);
            let stats = FraudStats { url: location.url.url_of(&path), ..FraudStats::default() };
            Some((FileWriter::create(location, path, &FRAUD, Format::Csv, handle.clone())?, stats))
        } else {
            None
        };
        let cases = match (cases, &mut fraud) {
            (Some((path, format)), Some((_, stats))) => {
                stats.cases = Some((location.url.url_of(&path), 0));
                let table = super::sources::table(crate::contract::SourceKind::FraudCases);
                Some(FileWriter::create(location, path, table, format, handle.clone())?)
            }
            _ => None,
        };
        let path = folder.join(FILE);
        let stats = TruthStats { url: location.url.url_of(&path), ..TruthStats::default() };
        let out = FileWriter::create(location, path, &TRUTH, Format::Csv, handle)?;
        let (next, waiting, text) = (0, BTreeMap::new(), String::new());
        Ok(Writer { state: Mutex::new(State { out, fraud, cases, next, waiting, stats, text }) })
    }

    /// Hands over `shard`'s rows; writes them, and those of the shards after
    /// it that were waiting, once every shard before it is written.
    pub fn add(&self, shard: u64, rows: Vec<Row>) -> Result<(), GenerateError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *state;
        state.waiting.insert(shard, rows);
        while let Some(rows) = state.waiting.remove(&state.next) {
            for row in rows {
                write(&mut state.out, &row, &mut state.text)?;
                state.stats.rows += 1;
                state.stats.hazard_sum += row.hazard_30d;
                state.stats.churns += u64::from(row.churns_30d);
                if let (Some((out, stats)), Some(pattern)) = (&mut state.fraud, row.plant) {
                    write_fraud(out, stats, row.id, pattern)?;
                    if let (Some(cases), Some(day)) = (&mut state.cases, row.case) {
                        write_case(cases, stats, row.id, pattern, day)?;
                    }
                }
            }
            state.next += 1;
        }
        Ok(())
    }

    /// Completes the file; every shard must have been added.
    pub fn finish(self) -> Result<TruthStats, GenerateError> {
        let state = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        if !state.waiting.is_empty() {
            return Err(GenerateError::Worker(format!("the truth of shard {} never came", state.next)));
        }
        let FileStats { bytes, .. } = state.out.finish()?;
        if let Some(cases) = state.cases {
            cases.finish()?;
        }
        let fraud = match state.fraud {
            Some((out, stats)) => Some(FraudStats { bytes: out.finish()?.bytes, ..stats }),
            None => None,
        };
        Ok(TruthStats { bytes, fraud, ..state.stats })
    }
}

fn write_fraud(out: &mut FileWriter, stats: &mut FraudStats, id: u32, pattern: Pattern) -> Result<(), GenerateError> {
    let count = match pattern {
        Pattern::SimBox => &mut stats.simbox,
        Pattern::Spike(_) => &mut stats.spike,
        Pattern::Burst => &mut stats.burst,
        Pattern::BillJump(_) => &mut stats.bill_jump,
        Pattern::CreditHeavy(_) => &mut stats.credit_heavy,
        Pattern::RechargeMismatch(_) => &mut stats.recharge_mismatch,
    };
    *count += 1;
    let sid = pop::subscriber_id(id);
    let date = pattern.date().map_or(Cell::Null, Cell::Date);
    out.row(&[Cell::Text(ascii(&sid)), Cell::Text(pattern.name()), date])
}

/// A confirmed case: its day, and the fraud team's name for the pattern.
fn write_case(
    out: &mut FileWriter,
    stats: &mut FraudStats,
    id: u32,
    pattern: Pattern,
    day: i32,
) -> Result<(), GenerateError> {
    if let Some((_, rows)) = &mut stats.cases {
        *rows += 1;
    }
    let kind = if pattern == Pattern::SimBox { "simbox" } else { "subscription" };
    out.row(&[Cell::Text(ascii(&pop::subscriber_id(id))), Cell::Date(day), Cell::Text(kind)])
}

fn write(out: &mut FileWriter, row: &Row, text: &mut String) -> Result<(), GenerateError> {
    use std::fmt::Write;
    text.clear();
    let _ = write!(text, "{:.6}", row.hazard_30d);
    let sid = pop::subscriber_id(row.id);
    let (end, reason) = match row.end {
        Some((e, reason)) => (Cell::Date(e), Cell::Text(pop::REASONS[reason as usize])),
        None => (Cell::Null, Cell::Null),
    };
    out.row(&[
        Cell::Text(ascii(&sid)),
        Cell::Text(pop::PLANS[row.plan as usize]),
        Cell::Text(text),
        end,
        reason,
        Cell::Int(i64::from(row.churns_30d)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StoreUrl;

    #[test]
    fn shards_are_written_in_their_order_whichever_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        let url = StoreUrl::parse(&dir.path().display().to_string(), std::path::Path::new("/")).unwrap();
        let location = Location::open(&url.as_folder(), &Default::default()).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let writer = Writer::create(&location, runtime.handle().clone(), true, None).unwrap();
        let row =
            |id, hazard_30d, end, churns_30d| Row { id, plan: 1, hazard_30d, end, churns_30d, plant: None, case: None };
        let planted = |plant| Row { plant: Some(plant), ..row(5, 0.0, None, false) };
        writer.add(2, vec![planted(Pattern::Burst)]).unwrap();
        let revenue = [Pattern::BillJump(20_000), Pattern::CreditHeavy(20_000), Pattern::RechargeMismatch(20_010)];
        writer.add(3, (6..).zip(revenue).map(|(id, p)| Row { id, ..planted(p) }).collect()).unwrap();
        let spike = Row { id: 4, ..planted(Pattern::Spike(20_010)) };
        writer
            .add(1, vec![row(3, 0.1234564, Some((20_000, churn::PORT_OUT)), true), Row { hazard_30d: 1.0, ..spike }])
            .unwrap();
        writer.add(0, vec![row(1, 0.5, Some((20_100, churn::INVOLUNTARY)), false)]).unwrap();
        let stats = writer.finish().unwrap();
        let text = std::fs::read_to_string(dir.path().join("_truth/churn_truth.csv")).unwrap();
        assert_eq!(
            text,
            "subscriber_id,plan_type,hazard_30d,end_date,end_reason,churns_30d\n\
             S00000001,postpaid,0.500000,2025-01-12,involuntary,0\n\
             S00000003,postpaid,0.123456,2024-10-04,port_out,1\n\
             S00000004,postpaid,1.000000,,,0\n\
             S00000005,postpaid,0.000000,,,0\n\
             S00000006,postpaid,0.000000,,,0\n\
             S00000007,postpaid,0.000000,,,0\n\
             S00000008,postpaid,0.000000,,,0\n"
        );
        assert_eq!((stats.rows, stats.churns, stats.bytes), (7, 1, text.len() as u64));
        let fraud = std::fs::read_to_string(dir.path().join("_truth/fraud_truth.csv")).unwrap();
        assert_eq!(
            fraud,
            "subscriber_id,pattern,anomaly_date\n\
             S00000004,spike,2024-10-14\n\
             S00000005,burst,\n\
             S00000006,bill_jump,2024-10-04\n\
             S00000007,credit_heavy,2024-10-04\n\
             S00000008,recharge_mismatch,2024-10-14\n"
        );
        let f = stats.fraud.as_ref().unwrap();
        assert_eq!((f.simbox, f.spike, f.burst, f.bytes), (0, 1, 1, fraud.len() as u64));
        assert_eq!((f.bill_jump, f.credit_heavy, f.recharge_mismatch), (1, 1, 1));
        assert!((stats.mean_hazard() - 1.6234564 / 7.0).abs() < 1e-12);
    }
}
