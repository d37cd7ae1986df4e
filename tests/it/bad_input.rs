//! Bad input at scale, through the ingest step itself (the library, not the
//! binary, so hundreds of inputs take seconds):
//! - the corpus of malformed extracts in fixtures/malformed/ (cases.toml
//!   says what each one is and what ingest must make of it);
//! - a fuzzer: arbitrary bytes and mutated valid rows never panic, and for
//!   every input ingest either fails naming the file or accounts for every
//!   row: rows_read = rows_staged + rows_rejected, per source;
//! - the same per reader (CSV plain, gzip, zstd; NDJSON; Parquet, typed and
//!   as text), mutating the rows and damaging the encoded file
//!   (`CVM_FUZZ_ITERATIONS` cases each, 40 by default).

use std::collections::BTreeMap;
use std::path::Path;

use cvm::job::{Job, Overrides};
use cvm::stages::ingest::{self, IngestError};
use cvm::warehouse::manifest::SourceReport;

use crate::support::*;

/// What ingest made of one landing: per-source reports, or the error.
fn ingest_landing(landing: &Path) -> Result<BTreeMap<String, SourceReport>, IngestError> {
    ingest_landing_with(landing, "")
}

/// [`ingest_landing`] with more job settings (TOML, after the rest).
fn ingest_landing_with(landing: &Path, extra: &str) -> Result<BTreeMap<String, SourceReport>, IngestError> {
    let dir = tempfile::tempdir().unwrap();
    let job_path = dir.path().join("job.toml");
    let text = format!(
        "name = \"fuzz\"\ninput_root = \"{}\"\nwarehouse = \"{}\"\n[rejects]\nmax_rate = 1.0\n{extra}",
        landing.display(),
        dir.path().join("warehouse").display()
    );
    std::fs::write(&job_path, text).unwrap();
    let job = Job::load(&job_path, &Overrides::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ctx = cvm::engine::session(
            &cvm::engine::EngineOptions { target_partitions: Some(1), ..Default::default() },
            &job.storage,
        )
        .unwrap();
        cvm::engine::register_store(&ctx, &job.input_root, &job.storage).unwrap();
        let session = cvm::stages::session::RunSession::local(ctx.clone());
        cvm::stages::models::register_job_tables(&session, &job).await.unwrap();
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let mut reports = BTreeMap::new();
        let folder = cvm::storage::StoreUrl::parse(&format!("{}/", dir.path().display()), dir.path()).unwrap();
        let folder = cvm::storage::Location::open(&folder, &Default::default()).unwrap();
        ingest::ingest(&session, &job, as_of, &folder, &|_| false, &mut reports, None).await.map(|_| reports)
    })
}

/// Every row read is staged or rejected, in every source.
fn assert_accounted(reports: &BTreeMap<String, SourceReport>, context: &str) {
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

/// The CDR rows of [`CDR`] as NDJSON, one object a line.
fn cdr_as_ndjson() -> String {
    let mut lines = CDR.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|line| {
            let object: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(line.split(','))
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                .collect();
            serde_json::Value::Object(object).to_string() + "\n"
        })
        .collect()
}

/// CDR rows as a Parquet file with the contract's types (timestamps, whole
/// numbers, decimals, booleans) where `typed`, else every column as text;
/// `nasty` puts hostile text in the text columns.
fn cdr_parquet(rng: &mut Rng, typed: bool) -> Vec<u8> {
    use datafusion::arrow::array::{ArrayRef, BooleanArray, Decimal128Array, Int64Array, StringArray};
    use datafusion::arrow::array::{RecordBatch, TimestampMicrosecondArray};
    use std::sync::Arc;
    let n = 1 + rng.below(40);
    let text = |valid: &str, rng: &mut Rng| -> Option<String> {
        match rng.below(8) {
            0 => None,
            1 => Some(NASTY[rng.below(NASTY.len())].to_string()),
            _ => Some(valid.to_string()),
        }
    };
    let ids: Vec<Option<String>> = (0..n).map(|i| text(["A1", "A2", "A3", "ZZ"][i % 4], rng)).collect();
    let kinds: Vec<Option<String>> = (0..n).map(|i| text(["voice", "sms", "data", "video"][i % 4], rng)).collect();
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        ("subscriber_id", Arc::new(StringArray::from(ids))),
        ("event_type", Arc::new(StringArray::from(kinds))),
        ("other_party", Arc::new(StringArray::from(vec![Some("+33123"); n]))),
    ];
    if typed {
        let micros = |rng: &mut Rng| match rng.below(10) {
            0 => None,
            1 => Some(i64::MIN + rng.below(1000) as i64),
            2 => Some(i64::MAX - rng.below(1000) as i64),
            _ => Some(1_795_000_000_000_000 + (rng.below(1 << 30) as i64) * 1000),
        };
        let whole = |rng: &mut Rng| match rng.below(6) {
            0 => None,
            1 => Some(-(rng.below(100) as i64)),
            2 => Some(i64::MAX),
            _ => Some(rng.below(4000) as i64),
        };
        let times: TimestampMicrosecondArray = (0..n).map(|_| micros(rng)).collect();
        let zone = if rng.below(2) == 0 { Some("UTC") } else { None };
        let times = match zone {
            Some(z) => times.with_timezone(z),
            None => times,
        };
        let durations: Int64Array = (0..n).map(|_| whole(rng)).collect();
        let amounts: Decimal128Array = (0..n)
            .map(|_| match rng.below(5) {
                0 => None,
                1 => Some(i128::MAX / 7),
                _ => Some(rng.below(100_000) as i128 - 50_000),
            })
            .collect();
        let amounts = amounts.with_precision_and_scale(38, [0, 2, 6][rng.below(3)]).unwrap();
        let roaming: BooleanArray = (0..n).map(|i| (i % 3 != 0).then_some(i % 2 == 0)).collect();
        columns.push(("event_time", Arc::new(times)));
        columns.push(("duration_s", Arc::new(durations)));
        columns.push(("charged_amount", Arc::new(amounts)));
        columns.push(("roaming", Arc::new(roaming)));
    } else {
        let times: Vec<Option<String>> = (0..n).map(|_| text("2026-11-21T10:00:00Z", rng)).collect();
        let durations: Vec<Option<String>> = (0..n).map(|_| text("60", rng)).collect();
        columns.push(("event_time", Arc::new(StringArray::from(times))));
        columns.push(("duration_s", Arc::new(StringArray::from(durations))));
    }
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut out = Vec::new();
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Flips, drops or truncates a few bytes of an encoded file.
fn damage(mut bytes: Vec<u8>, rng: &mut Rng) -> Vec<u8> {
    for _ in 0..=rng.below(3) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(3) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

#[test]
fn every_reader_fuzzed_never_panics_and_accounts_for_every_row() {
    let iterations: usize = std::env::var("CVM_FUZZ_ITERATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(40);
    let readers = ["csv", "csv.gz", "csv.zst", "ndjson", "parquet"];
    let ndjson = cdr_as_ndjson();
    for (r, reader) in readers.iter().enumerate() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ (r as u64 + 1));
        let (mut ingested, mut failed) = (0, 0);
        for case in 0..iterations {
            // every other case damages the encoded file itself (a broken gzip frame, a Parquet footer)
            let damaged = case % 2 == 1;
            let bytes = match *reader {
                "csv" => mutate(CDR, &mut rng),
                "csv.gz" => gzip(&mutate(CDR, &mut rng)),
                "csv.zst" => zstd::encode_all(&mutate(CDR, &mut rng)[..], 3).unwrap(),
                "ndjson" => mutate(&ndjson, &mut rng),
                _ => cdr_parquet(&mut rng, case % 4 < 2),
            };
            let bytes =
                if damaged && *reader != "csv" && *reader != "ndjson" { damage(bytes, &mut rng) } else { bytes };
            let landing = Landing::new();
            std::fs::remove_file(landing.path().join("cdr/dt=2026-11-22/part-0.csv")).unwrap();
            let file = format!("cdr/dt=2026-11-22/part-0.{reader}");
            landing.write_bytes(&file, &bytes);
            let format = match *reader {
                "ndjson" => "ndjson",
                "parquet" => "parquet",
                _ => "csv",
            };
            let context = format!("{reader} case {case}");
            match ingest_landing_with(landing.path(), &format!("[sources.cdr]\nformat = \"{format}\"\n")) {
                Ok(reports) => {
                    assert_accounted(&reports, &context);
                    ingested += 1;
                }
                Err(e) => {
                    let text = e.to_string();
                    assert!(!text.contains("panic"), "{context}: {text}");
                    assert!(text.contains(&file), "{context}: the error should name the file: {text}");
                    failed += 1;
                }
            }
        }
        assert!(ingested > 0, "{reader}: nothing was ingested in {iterations} cases ({failed} failed)");
    }
}
