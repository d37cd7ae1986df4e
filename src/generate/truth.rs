//! The truth beside the landing: `_truth/churn_truth.csv`, one row per line
//! in service at the end of T, sorted by subscriber_id, with the true
//! probability that it leaves voluntarily in the 30 days after T and what
//! the simulation then did, so a benchmark can score a churn model against
//! the best any model could do (the oracle's AUC). It sits outside every
//! source folder, so ingest never reads it; always CSV, one file.
//!
//! Shards compute their rows in any order; the rows are appended to the one
//! file in shard order (a shard that finishes early waits in memory for
//! those before it), so the bytes do not depend on the threads.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::GenerateError;
use super::churn::{self, TRUTH_DAYS};
use super::population::{self as pop, FUTURE_DAYS, Line, World};
use super::sink::{Cell, FileStats, FileWriter, Format, Kind, Table};
use super::sources::ascii;
use crate::storage::Location;

/// Where the truth goes under `--out`.
pub const FOLDER: &str = "_truth";
pub const FILE: &str = "churn_truth.csv";

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

/// One line's truth.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    id: u32,
    plan: u8,
    hazard_30d: f64,
    /// The end and its reason, if before T + FUTURE_DAYS.
    end: Option<(i32, u8)>,
    churns_30d: bool,
}

/// The truth of the lines of `lines` in service at the end of T, in their order.
pub fn rows(world: &World, lines: &[Line]) -> Vec<Row> {
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
    /// The shard whose rows are appended next, and those computed before their turn.
    next: u64,
    waiting: BTreeMap<u64, Vec<Row>>,
    stats: TruthStats,
    text: String,
}

impl Writer {
    pub fn create(location: &Location, handle: tokio::runtime::Handle) -> Result<Writer, GenerateError> {
        let path = location.url.store_path().join(FOLDER).join(FILE);
        let stats = TruthStats { url: location.url.url_of(&path), ..TruthStats::default() };
        let out = FileWriter::create(location, path, &TRUTH, Format::Csv, handle)?;
        Ok(Writer { state: Mutex::new(State { out, next: 0, waiting: BTreeMap::new(), stats, text: String::new() }) })
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
        Ok(TruthStats { bytes, ..state.stats })
    }
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
        let writer = Writer::create(&location, runtime.handle().clone()).unwrap();
        let row = |id, hazard_30d, end, churns_30d| Row { id, plan: 1, hazard_30d, end, churns_30d };
        writer.add(2, vec![row(5, 0.0, None, false)]).unwrap();
        writer
            .add(1, vec![row(3, 0.1234564, Some((20_000, churn::PORT_OUT)), true), row(4, 1.0, None, false)])
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
             S00000005,postpaid,0.000000,,,0\n"
        );
        assert_eq!((stats.rows, stats.churns, stats.bytes), (4, 1, text.len() as u64));
        assert!((stats.mean_hazard() - 1.6234564 / 4.0).abs() < 1e-12);
    }
}
