//! Bad input at scale, through the ingest step itself (the library, not the
//! binary, so hundreds of inputs take seconds):
//! - the corpus of malformed extracts in fixtures/malformed/ (cases.toml
//!   says what each one is and what ingest must make of it);
//! - a fuzzer: arbitrary bytes and mutated valid rows never panic, and for
//!   every input ingest either fails naming the file or accounts for every
//!   row: rows_read = rows_staged + rows_rejected, per source.

use std::collections::BTreeMap;
use std::path::Path;

use cvm::ingest::{self, IngestError, SourceReport};
use cvm::job::{Job, Overrides};

use crate::support::*;

/// What ingest made of one landing: per-source reports, or the error.
fn ingest_landing(landing: &Path) -> Result<BTreeMap<&'static str, SourceReport>, IngestError> {
    let dir = tempfile::tempdir().unwrap();
    let job_path = dir.path().join("job.toml");
    let text = format!(
        "name = \"fuzz\"\ninput_root = \"{}\"\nwarehouse = \"{}\"\n[rejects]\nmax_rate = 1.0\n",
        landing.display(),
        dir.path().join("warehouse").display()
    );
    std::fs::write(&job_path, text).unwrap();
    let job = Job::load(&job_path, &Overrides::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ctx =
            cvm::engine::session(&cvm::engine::EngineOptions { target_partitions: Some(1), ..Default::default() })
                .unwrap();
        cvm::engine::register_store(&ctx, &job.input_root).unwrap();
        cvm::modelling::register_job_tables(&ctx, &job, None).await.unwrap();
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let mut reports = BTreeMap::new();
        let folder = cvm::storage::StoreUrl::parse(&format!("{}/", dir.path().display()), dir.path()).unwrap();
        let folder = cvm::storage::Location::open(&folder).unwrap();
        ingest::ingest(&ctx, &job, as_of, &folder, &|_| false, &mut reports).await.map(|_| reports)
    })
}

/// Every row read is staged or rejected, in every source.
fn assert_accounted(reports: &BTreeMap<&'static str, SourceReport>, context: &str) {
    for (source, r) in reports {
        assert_eq!(
            r.rows_read,
            r.rows_staged + r.rows_rejected,
            "{source}: {} read, {} staged, {} rejected ({context})",
            r.rows_read,
            r.rows_staged,
            r.rows_rejected
        );
    }
}

#[derive(Debug, serde::Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Debug, serde::Deserialize)]
struct Case {
    /// The file in fixtures/malformed/.
    file: String,
    /// Where it lands, in place of the valid file of that source.
    source: String,
    what: String,
    /// "ingested" or "error".
    outcome: String,
    rows_read: Option<u64>,
    rows_staged: Option<u64>,
    /// Rule -> rows rejected by it (exactly these).
    #[serde(default)]
    rejected: BTreeMap<String, u64>,
    /// For errors: words the message must contain.
    #[serde(default)]
    message: Vec<String>,
}

/// A valid landing with `source`'s file replaced by `bytes`.
fn landing_with(source: &str, bytes: &[u8]) -> Landing {
    let landing = Landing::new();
    let rel = match source {
        "subscribers" => "subscribers/dt=2026-11-22/part-0.csv",
        "billing" => "billing/dt=2026-11-05/part-0.csv",
        "cdr" => "cdr/dt=2026-11-22/part-0.csv",
        other => panic!("no valid file of {other} to replace"),
    };
    landing.write_bytes(rel, bytes);
    landing
}

#[test]
fn every_malformed_extract_of_the_corpus_has_its_expected_outcome() {
    let folder = repo().join("fixtures/malformed");
    let corpus: Corpus = toml::from_str(&std::fs::read_to_string(folder.join("cases.toml")).unwrap()).unwrap();
    assert!(corpus.case.len() >= 10);
    for case in &corpus.case {
        let bytes = std::fs::read(folder.join(&case.file)).unwrap();
        let landing = landing_with(&case.source, &bytes);
        let context = format!("{} ({})", case.file, case.what);
        match (case.outcome.as_str(), ingest_landing(landing.path())) {
            ("ingested", Ok(reports)) => {
                assert_accounted(&reports, &context);
                let r = &reports[case.source.as_str()];
                if let Some(n) = case.rows_read {
                    assert_eq!(r.rows_read, n, "rows read of {context}");
                }
                if let Some(n) = case.rows_staged {
                    assert_eq!(r.rows_staged, n, "rows staged of {context}");
                }
                assert_eq!(r.rejects_by_rule, case.rejected, "rejects of {context}");
            }
            ("error", Err(e)) => {
                let text = e.to_string();
                for word in &case.message {
                    assert!(text.contains(word.as_str()), "{context}: the error should say '{word}': {text}");
                }
            }
            (expected, got) => panic!("{context}: expected {expected}, got {got:?}"),
        }
    }
}

/// A small deterministic generator (xorshift), so a failing case can be replayed from its number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces that break CSV parsers and type casts.
const NASTY: &[&str] = &[
    "\"",
    ",",
    "\n",
    "\r\n",
    "\r",
    "\u{feff}",
    "NaN",
    "inf",
    "-Infinity",
    "1e309",
    "9999-99-99",
    "2026-02-30",
    "\0",
    "\u{fffd}",
    "é",
    "''",
    "\"\"",
    ",,,,,,,,,,,,",
    " ",
    "-0",
    "0x1F",
    "1,5",
    "99999999999999999999",
];

fn mutate(valid: &str, rng: &mut Rng) -> Vec<u8> {
    let mut bytes = valid.as_bytes().to_vec();
    for _ in 0..=rng.below(6) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes[i] = rng.next() as u8;
            }
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            2 => {
                let piece = NASTY[rng.below(NASTY.len())];
                bytes.splice(at..at, piece.bytes());
            }
            3 => bytes.truncate(at),
            4 => {
                // a latin-1 byte: not UTF-8
                bytes.insert(at, 0xe9);
            }
            _ => {
                let line = valid.lines().nth(1 + rng.below(valid.lines().count().saturating_sub(1))).unwrap_or("");
                bytes.extend_from_slice(line.as_bytes());
                bytes.push(b'\n');
            }
        }
    }
    bytes
}

#[test]
fn fuzzed_extracts_never_panic_and_every_row_is_accounted_for() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ingested, mut failed) = (0, 0);
    for case in 0..120 {
        let (source, valid) = [("subscribers", SUBSCRIBERS), ("billing", BILLING), ("cdr", CDR)][case % 3];
        let bytes = if case % 10 == 9 {
            // arbitrary bytes
            (0..rng.below(400)).map(|_| rng.next() as u8).collect()
        } else {
            mutate(valid, &mut rng)
        };
        let landing = landing_with(source, &bytes);
        match ingest_landing(landing.path()) {
            Ok(reports) => {
                assert_accounted(&reports, &format!("case {case}: {source} {:?}", String::from_utf8_lossy(&bytes)));
                ingested += 1;
            }
            Err(e) => {
                // a file that cannot be read at all is named, never a panic
                assert!(e.to_string().contains("part-0.csv") || e.to_string().contains(source), "case {case}: {e}");
                failed += 1;
            }
        }
    }
    // the fuzzer reaches both outcomes, or it is not testing much
    assert!(ingested > 60 && failed > 0, "{ingested} ingested, {failed} failed");
}
