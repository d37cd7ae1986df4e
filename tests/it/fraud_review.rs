//! The fraud team's review list (`cvm screening export`, and the
//! `fraud_review.csv` every run exports), the screening columns of kpi and
//! the report's Screening section, on the planted landing of
//! tests/it/screening.rs, screened on two nights.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::screening::{planted, planted_job, planted_landing};
use crate::support::*;

const KEY_ENV: &str = "CVM_TEST_FRAUD_REVIEW_KEY";
const KEY: &str = "fr4ud-k3y";
/// The night before T: the report's trend has two nights.
const NIGHT_BEFORE: &str = "2026-11-21";
/// Month L of T.
const MONTH_L: &str = "2026-10-01";

/// `cvm screening export JOB --as-of T --warehouse W ARGS`, with the HMAC key in the environment.
fn screening_export(job: &Path, warehouse: &Path, args: &[&str]) -> std::process::Output {
    cvm()
        .args(["screening", "export"])
        .arg(job)
        .args(["--as-of", AS_OF, "--warehouse"])
        .arg(warehouse)
        .args(args)
        .env(KEY_ENV, KEY)
        .output()
        .unwrap()
}

fn sidecar(file: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(format!("{}.sidecar.json", file.display())).unwrap()).unwrap()
}

/// An amount with 4 decimals, as CSV writes a Decimal128(18,4), in units of 0.0001.
fn units(text: &str) -> i128 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let negative = whole.starts_with('-');
    let magnitude = whole.trim_start_matches('-').parse::<i128>().unwrap() * 10_000
        + format!("{fraction:0<4}")[..4].parse::<i128>().unwrap();
    if negative { -magnitude } else { magnitude }
}

/// The screening's suspect and watch lines at T as the list must hold them:
/// suspect first, then by fraud score (highest first), then by subscriber_id.
fn expected_list(warehouse: &Path) -> Vec<Vec<String>> {
    let text = query_csv(
        warehouse,
        &format!(
            "SELECT subscriber_id, plan_type, screening_level, fraud_score, flags, reasons FROM screening \
             WHERE snapshot_date = DATE '{AS_OF}' AND screening_level <> 'clear'"
        ),
    );
    let mut rows = parse_csv(&text).1;
    let key = |r: &Vec<String>| (r[2] != "suspect", -r[3].parse::<f64>().unwrap(), r[0].clone());
    rows.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap());
    rows
}

#[test]
fn the_fraud_team_gets_every_suspect_and_watch_line_opted_out_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let landing = planted_landing(dir.path());
    let planted: BTreeSet<String> = planted(&landing).into_values().flatten().collect();
    // every planted line has opted out of every channel
    let optouts = dir.path().join("optouts.csv");
    let mut text = String::from("subscriber_id,channel,since\n");
    for id in &planted {
        text.push_str(&format!("{id},,2026-01-01\n"));
    }
    std::fs::write(&optouts, text).unwrap();
    // (a line activated on T is not known the night before: its opt-out is then a reject)
    let sources =
        format!("[rejects]\nmax_rate = 0.05\n[sources.optouts]\nformat = \"csv\"\npath = \"{}\"\n", optouts.display());
    let hmac = format!("[exports]\non_run = true\nmsisdn = \"hmac\"\nhmac_key_env = \"{KEY_ENV}\"\n");
    let job = planted_job(dir.path(), &landing, &format!("{sources}{hmac}"));
    let warehouse = dir.path().join("warehouse");
    for night in [NIGHT_BEFORE, AS_OF] {
        let mut cmd = cvm();
        cmd.env(KEY_ENV, KEY);
        run_ok_with(cmd, &job, night, &warehouse);
    }

    // the run's own export: exactly the screening's suspect and watch lines, in order, hashed msisdn
    let expected = expected_list(&warehouse);
    let levels: BTreeSet<&str> = expected.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(levels, BTreeSet::from(["suspect", "watch"]), "the planted landing has lines at both levels");
    let file = warehouse.join(format!("_exports/snapshot_date={AS_OF}/fraud_review.csv"));
    let bytes = std::fs::read(&file).expect("every run exports the fraud review list");
    let (header, rows) = parse_csv(std::str::from_utf8(&bytes).unwrap());
    assert_eq!(
        header,
        [
            "snapshot_date",
            "rank",
            "subscriber_id",
            "plan_type",
            "screening_level",
            "fraud_score",
            "flags",
            "reasons",
            "revenue_3m",
            "msisdn_hmac"
        ]
    );
    assert_eq!(rows.len(), expected.len());
    let revenue: BTreeMap<String, String> = parse_csv(&query_csv(
        &warehouse,
        &format!("SELECT subscriber_id, revenue_3m FROM customer_value WHERE snapshot_date = DATE '{AS_OF}'"),
    ))
    .1
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    for (i, (row, want)) in rows.iter().zip(&expected).enumerate() {
        assert_eq!((row[0].as_str(), row[1].clone()), (AS_OF, (i + 1).to_string()), "{row:?}");
        assert_eq!(&row[2..8], &want[..], "rank {}", i + 1);
        assert_eq!(row[8], revenue[&row[2]], "revenue_3m of {}", row[2]);
        assert_eq!(row[9].len(), 64, "a hashed msisdn: {row:?}");
    }
    let meta = sidecar(&file);
    assert_eq!((meta["campaign"].as_str(), meta["rows"].as_u64()), (Some("fraud_review"), Some(rows.len() as u64)));
    assert_eq!(meta["msisdn"], "hmac-sha256");
    assert_eq!(meta["sha256"].as_str().unwrap(), cvm::job::hex(&Sha256::digest(&bytes)));
    // opted-out lines are listed (opt-outs are about marketing), and kept out of every campaign
    let opted_out = rows.iter().filter(|r| planted.contains(&r[2])).count();
    assert!(opted_out >= 20, "{opted_out} opted-out lines on the list");
    let campaigns =
        query_csv(&warehouse, &format!("SELECT subscriber_id FROM campaigns WHERE snapshot_date = DATE '{AS_OF}'"));
    assert!(parse_csv(&campaigns).1.iter().all(|r| !planted.contains(&r[0])), "an opted-out line in a campaign");

    // the command: suspect lines only, as Parquet
    let parquet = warehouse.join("_exports/review/suspect.parquet");
    let out = screening_export(
        &job,
        &warehouse,
        &["--level", "suspect", "--format", "parquet", "--output", "review/suspect.parquet"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(&std::fs::read(&parquet).unwrap()[..4], b"PAR1");
    let suspects = expected.iter().filter(|r| r[2] == "suspect").count();
    assert_eq!(sidecar(&parquet)["rows"].as_u64(), Some(suspects as u64));

    // msisdn in clear only from a job that allows it, and then its HMAC is the run's column
    let allow_dir = tempfile::tempdir().unwrap();
    let allow = planted_job(allow_dir.path(), &landing, &format!("{sources}[exports]\nmsisdn = \"allow\"\n"));
    let out = screening_export(&allow, &warehouse, &["--with-msisdn", "--output", "review/clear.csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let clear = warehouse.join("_exports/review/clear.csv");
    let (header, clear_rows) = parse_csv(&std::fs::read_to_string(&clear).unwrap());
    assert_eq!(header.last().unwrap(), "msisdn");
    assert_eq!(sidecar(&clear)["msisdn"], "clear");
    assert_eq!(clear_rows.len(), rows.len());
    for (c, h) in clear_rows.iter().zip(&rows) {
        assert_eq!(c[2], h[2]);
        assert!(c[9].len() >= 6, "{c:?}");
        assert_eq!(cvm::stages::campaigns::export::hmac_hex(KEY.as_bytes(), &c[9]), h[9]);
    }
    let drop_dir = tempfile::tempdir().unwrap();
    let drop = planted_job(drop_dir.path(), &landing, &format!("{sources}[exports]\nmsisdn = \"drop\"\n"));
    let out = screening_export(&drop, &warehouse, &["--with-msisdn", "--output", "review/refused.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not allow msisdn"));
    let out = screening_export(&drop, &warehouse, &["--output", "review/dropped.csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (header, _) = parse_csv(&std::fs::read_to_string(warehouse.join("_exports/review/dropped.csv")).unwrap());
    assert_eq!(header.last().unwrap(), "revenue_3m");

    kpi_screening_columns_match_an_independent_count(&warehouse);
    report_has_the_screening_section(&warehouse);
}

/// kpi's watch_lines, suspect_lines and suspect_revenue_12m of month L,
/// counted again from the screening and customer_value tables.
fn kpi_screening_columns_match_an_independent_count(warehouse: &Path) {
    let levels: BTreeMap<String, String> = parse_csv(&query_csv(
        warehouse,
        &format!("SELECT subscriber_id, screening_level FROM screening WHERE snapshot_date = DATE '{AS_OF}'"),
    ))
    .1
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    let lines = query_csv(
        warehouse,
        &format!(
            "SELECT subscriber_id, value_tier, segment, plan_type, region, revenue_12m FROM customer_value \
             WHERE snapshot_date = DATE '{AS_OF}'"
        ),
    );
    let mut expected: BTreeMap<(String, String), (u64, u64, i128)> = BTreeMap::new();
    for row in parse_csv(&lines).1 {
        let Some(level) = levels.get(&row[0]) else { continue };
        let member = |i: usize| if row[i].is_empty() { "(none)".to_string() } else { row[i].clone() };
        for (dimension, member) in [
            ("total", "all".to_string()),
            ("value_tier", member(1)),
            ("segment", member(2)),
            ("plan_type", member(3)),
            ("region", member(4)),
        ] {
            let e = expected.entry((dimension.to_string(), member)).or_default();
            match level.as_str() {
                "watch" => e.0 += 1,
                "suspect" => {
                    e.1 += 1;
                    e.2 += units(&row[5]);
                }
                _ => {}
            }
        }
    }
    let kpi = query_csv(
        warehouse,
        &format!(
            "SELECT dimension, member, watch_lines, suspect_lines, suspect_revenue_12m FROM kpi \
             WHERE snapshot_date = DATE '{AS_OF}' AND month = DATE '{MONTH_L}' AND dimension <> 'profit_decile'"
        ),
    );
    let mut seen = BTreeSet::new();
    for row in parse_csv(&kpi).1 {
        let key = (row[0].clone(), row[1].clone());
        let want = expected.get(&key).copied().unwrap_or_default();
        let got = (row[2].parse::<u64>().unwrap(), row[3].parse::<u64>().unwrap(), units(&row[4]));
        assert_eq!(got, want, "kpi {key:?}: watch, suspect, suspect revenue");
        seen.insert(key);
    }
    let missing: Vec<_> = expected.keys().filter(|k| !seen.contains(*k)).collect();
    assert!(missing.is_empty(), "groups with screened lines missing from kpi: {missing:?}");
    let total = &expected[&("total".to_string(), "all".to_string())];
    assert!(total.0 > 0 && total.1 > 0 && total.2 > 0, "{total:?}");
    // the value tier under_review holds exactly the suspect lines (hold_suspects is on)
    assert_eq!(expected.get(&("value_tier".to_string(), "under_review".to_string())).map(|e| e.1), Some(total.1));
    // the other months and the profit deciles describe no screening
    let other = query_csv(
        warehouse,
        &format!(
            "SELECT count(*) AS n FROM kpi WHERE snapshot_date = DATE '{AS_OF}' \
             AND (month <> DATE '{MONTH_L}' OR dimension = 'profit_decile') \
             AND (watch_lines IS NOT NULL OR suspect_lines IS NOT NULL OR suspect_revenue_12m IS NOT NULL)"
        ),
    );
    assert_eq!(parse_csv(&other).1, [["0"]]);
}

/// The report of T has its Screening section: levels, flags per rule, the
/// revenue on suspect lines and the trend over both nights.
fn report_has_the_screening_section(warehouse: &Path) {
    let folder = warehouse.join(format!("_manifests/screened/snapshot_date={AS_OF}"));
    let report = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".report.html"))
        .expect("the run writes a report");
    let html = std::fs::read_to_string(report).unwrap();
    let section = &html[html.find("<h2>Screening</h2>").expect("a Screening section")..];
    let section = &section[..section.find("</section>").unwrap()];
    for text in
        ["Revenue on suspect lines", "flags per rule", "simbox", "usage_spike", "new_line_burst", "screening trend"]
    {
        assert!(section.contains(text), "no '{text}' in the Screening section");
    }
    // the suspect count of T, as the table shows it
    let suspects = parse_csv(&query_csv(
        warehouse,
        &format!("SELECT count(*) FROM screening WHERE snapshot_date = DATE '{AS_OF}' AND screening_level = 'suspect'"),
    ))
    .1[0][0]
        .clone();
    assert!(section.contains(&format!("<td>suspect</td><td class=\"r\">{suspects}</td>")), "{section}");
}
