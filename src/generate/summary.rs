//! What a generation wrote, per source and in all, and the summary printed
//! at its end.

use std::time::Duration;

use chrono::NaiveDate;

use super::{Census, Format, TreatmentStats, TruthStats};

/// What one source's files held.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceStats {
    pub rows: u64,
    pub dirty: u64,
    pub files: u64,
    pub bytes: u64,
    /// Time the workers spent on it, summed over threads.
    pub busy: Duration,
}

/// What a generation wrote.
#[derive(Debug, Clone)]
pub struct Summary {
    pub out: String,
    pub as_of: NaiveDate,
    pub days: u32,
    pub format: Format,
    pub only_cdr_day: Option<NaiveDate>,
    pub threads: usize,
    /// Per source, in [`super::sources::SOURCES`] order.
    pub sources: Vec<(&'static str, SourceStats)>,
    pub census: Census,
    /// The truth files (churn, and fraud with `--plant`), unless only a cdr day was written.
    pub truth: Option<TruthStats>,
    /// The factor on every line's event rate (1 without `--cdr-per-day`).
    pub cdr_scale: f64,
    /// What the campaigns' contacts did (`--campaigns-from`).
    pub treatment: Option<TreatmentStats>,
    pub elapsed: Duration,
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

impl Summary {
    /// The summary printed at the end: one line per source, the truth file,
    /// then the population (last: `cvm bench` quotes the last line).
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let rows: u64 = self.sources.iter().map(|(_, s)| s.rows).sum();
        let bytes: u64 = self.sources.iter().map(|(_, s)| s.bytes).sum();
        let files: u64 = self.sources.iter().map(|(_, s)| s.files).sum();
        let format = match self.format {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        };
        let what = match self.only_cdr_day {
            Some(day) => format!("the cdr of {day} only"),
            None => format!("{} days of cdr", self.days),
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "wrote {} as of {} ({what}, {format}) in {secs:.1} s on {} threads: {rows} rows in {files} files, {}, {:.0} rows/s",
            self.out,
            self.as_of,
            self.threads,
            mb(bytes),
            rows as f64 / secs
        );
        let _ = writeln!(
            out,
            "{:<14} {:>12} {:>9} {:>6} {:>12} {:>9} {:>12}",
            "source", "rows", "dirty", "files", "bytes", "thread_s", "rows/thread_s"
        );
        for (name, s) in self.sources.iter().filter(|(_, s)| s.files > 0) {
            let busy = s.busy.as_secs_f64();
            let _ = writeln!(
                out,
                "{name:<14} {:>12} {:>9} {:>6} {:>12} {busy:>9.2} {:>12.0}",
                s.rows,
                s.dirty,
                s.files,
                mb(s.bytes),
                s.rows as f64 / busy.max(1e-9)
            );
        }
        if let Some(truth) = &self.truth {
            let _ = writeln!(
                out,
                "truth {}: {} lines in service at {}, mean hazard_30d {:.4}, churns_30d {:.4} \
                 (voluntary exits in the 30 days after)",
                truth.url,
                truth.rows,
                self.as_of,
                truth.mean_hazard(),
                truth.churn_share()
            );
        }
        if let Some(fraud) = self.truth.as_ref().and_then(|t| t.fraud.as_ref()) {
            let _ = writeln!(
                out,
                "fraud truth {}: planted on lines in service at {}: {} simbox, {} spike, {} burst, \
                 {} bill_jump, {} credit_heavy, {} recharge_mismatch",
                fraud.url,
                self.as_of,
                fraud.simbox,
                fraud.spike,
                fraud.burst,
                fraud.bill_jump,
                fraud.credit_heavy,
                fraud.recharge_mismatch
            );
            if let Some((url, rows)) = &fraud.cases {
                let _ = writeln!(out, "fraud_cases {url}: {rows} cases confirmed on or before {}", self.as_of);
            }
        }
        if let Some(t) = &self.treatment {
            let _ = writeln!(
                out,
                "campaigns: {} contacts and {} control rows before {} ({} not of this population); \
                 {} contacts held an exit in their window, {} cancelled it; {} responses",
                t.contacts, t.controls, self.as_of, t.unknown, t.exposed, t.saved, t.responses
            );
        }
        let c = &self.census;
        let _ = writeln!(
            out,
            "lines {} ({} active at {}); deactivated in the last 30 days {}, last 60 days {} \
             (of the {} ended in the last {} days, {} with warning signs, {} abrupt; {} dips without churn); \
             cdr rate factor {:.4}",
            c.lines,
            c.active,
            self.as_of,
            c.deactivated_30,
            c.deactivated_60,
            c.warned + c.abrupt,
            self.days,
            c.warned,
            c.abrupt,
            c.dips,
            self.cdr_scale
        );
        out
    }
}
