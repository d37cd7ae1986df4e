//! The fraud screening finds what `cvm generate --plant` planted: SIM boxes,
//! usage spikes, new-line bursts and revenue anomalies (bill jumps, heavy
//! credits, top-ups their usage does not explain), each rule measured by its
//! precision and recall against the truth the generator writes beside the
//! landing; the usage-profile model by the SIM boxes it finds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::*;

/// Lines and days of the generated landing: enough history for the spike
/// rule (28 days before the recent ones) and enough new lines for bursts.
const SUBSCRIBERS: &str = "3000";
const DAYS: &str = "32";

/// `cvm generate --plant` into `dir`/landing: 1% SIM boxes, 1% usage
/// spikes, new-line bursts in 30% of the new lines, revenue anomalies in 5%
/// of the lines that have the history for one; returns the landing.
pub fn planted_landing(dir: &Path) -> std::path::PathBuf {
    generate_planted(dir, DAYS, "simbox=0.01,spike=0.01,burst=0.3,revenue=0.05").0
}

/// `cvm generate --plant PLANT` of 3,000 lines and `days` days of CDR
/// (Parquet, seed 11) into `dir`/landing; returns the landing and what
/// generate printed.
pub fn generate_planted(dir: &Path, days: &str, plant: &str) -> (std::path::PathBuf, String) {
    let landing = dir.join("landing");
    let out = cvm()
        .args(["generate", "--subscribers", SUBSCRIBERS, "--days", days, "--as-of", AS_OF, "--seed", "11"])
        .args(["--cdr-per-day", "30000", "--format", "parquet", "--plant", plant])
        .arg("--out")
        .arg(&landing)
        .output()
        .unwrap();
    assert!(out.status.success(), "generate failed: {}", String::from_utf8_lossy(&out.stderr));
    (landing, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A job over the planted landing (every source Parquet unless `extra`
/// declares it) writing to `dir`/warehouse, with `extra` appended.
pub fn planted_job(dir: &Path, landing: &Path, extra: &str) -> std::path::PathBuf {
    let mut job = format!("name = \"screened\"\ninput_root = \"{}\"\nwarehouse = \"warehouse\"\n", landing.display());
    for source in ["subscribers", "billing", "cdr", "recharges", "tickets", "optouts", "strategic_fit", "fraud_cases"] {
        if !extra.contains(&format!("[sources.{source}]")) {
            job.push_str(&format!("[sources.{source}]\nformat = \"parquet\"\n"));
        }
    }
    job.push_str(extra);
    let job_path = dir.join("job.toml");
    std::fs::write(&job_path, job).unwrap();
    job_path
}

/// Planted lines by pattern, from `_truth/fraud_truth.csv`.
pub fn planted(landing: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(landing.join("_truth/fraud_truth.csv")).expect("the fraud truth is written");
    let (header, rows) = parse_csv(&text);
    assert_eq!(header, ["subscriber_id", "pattern", "anomaly_date"]);
    let mut by_pattern: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        by_pattern.entry(row[1].clone()).or_default().insert(row[0].clone());
    }
    by_pattern
}

/// Lines each rule fired on, from the published screening table.
pub fn fired(warehouse: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let text = query_csv(warehouse, "SELECT subscriber_id, flags FROM screening WHERE flags IS NOT NULL");
    let mut by_rule: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in parse_csv(&text).1 {
        for rule in row[1].split(',') {
            by_rule.entry(rule.to_string()).or_default().insert(row[0].clone());
        }
    }
    by_rule
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

#[test]
fn planted_fraud_is_found_by_its_rule_with_few_false_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let landing = planted_landing(dir.path());
    let job_path = planted_job(dir.path(), &landing, "");
    let warehouse = dir.path().join("warehouse");
    run_ok(&job_path, AS_OF, &warehouse);

    let planted = planted(&landing);
    let fired = fired(&warehouse);
    let all_planted: BTreeSet<&String> = planted.values().flatten().collect();
    let mut figures = String::new();
    let rules = [
        ("simbox", "simbox", 0.8),
        ("spike", "usage_spike", 0.8),
        ("burst", "new_line_burst", 0.8),
        ("bill_jump", "bill_jump", 0.8),
        ("credit_heavy", "credit_heavy", 0.8),
        // the peer bound is a quantile over every prepaid line, the 4% planted included (docs/models.md)
        ("recharge_mismatch", "recharge_mismatch", 0.7),
    ];
    for (pattern, rule, min_recall) in rules {
        let (truth, found) = (&planted[pattern], fired.get(rule).cloned().unwrap_or_default());
        let hits = truth.intersection(&found).count();
        let recall = share(hits, truth.len());
        // a flag on a line planted with another pattern is not a false alarm: it is fraud
        let precision = share(found.iter().filter(|s| all_planted.contains(s)).count(), found.len());
        figures.push_str(&format!(
            "{pattern}: planted {}, flagged {}, recall {recall:.2}, precision {precision:.2}\n",
            truth.len(),
            found.len()
        ));
        assert!(truth.len() >= 5, "too few planted to measure: {figures}");
        assert!(recall >= min_recall && precision >= 0.8, "{figures}");
    }
    // the model library: no rule of its own to plant for, it must find the SIM boxes and little else
    let profile = fired.get("usage_profile").cloned().unwrap_or_default();
    let simboxes_found = planted["simbox"].intersection(&profile).count();
    let precision = share(profile.iter().filter(|s| all_planted.contains(s)).count(), profile.len());
    figures.push_str(&format!(
        "usage_profile: flagged {}, SIM boxes {simboxes_found}, precision {precision:.2}\n",
        profile.len()
    ));
    assert!(share(simboxes_found, planted["simbox"].len()) >= 0.8 && precision >= 0.8, "{figures}");
    println!("{figures}");

    // a SIM box is suspect on its own, with its reason in words; most lines are clear
    let levels = query_csv(
        &warehouse,
        "SELECT screening_level, count(*) AS lines, min(fraud_score) AS low, max(fraud_score) AS high \
         FROM screening GROUP BY screening_level ORDER BY screening_level",
    );
    let levels: BTreeMap<String, Vec<String>> =
        parse_csv(&levels).1.into_iter().map(|r| (r[0].clone(), r[1..].to_vec())).collect();
    let lines = |level: &str| levels.get(level).map_or(0, |r| r[0].parse::<usize>().unwrap());
    assert!(lines("clear") > 5 * (lines("watch") + lines("suspect")), "{levels:?}");
    // the SIM-box rule (0.9) and the usage profile (0.5): 1 - 0.1 x 0.5
    let simbox = query_csv(
        &warehouse,
        "SELECT subscriber_id, screening_level, fraud_score, reasons FROM screening WHERE flags = 'simbox,usage_profile'",
    );
    let row = parse_csv(&simbox).1.into_iter().find(|r| planted["simbox"].contains(&r[0])).expect("a SIM box");
    assert_eq!((row[1].as_str(), row[2].as_str()), ("suspect", "0.95"), "{row:?}");
    assert!(row[3].starts_with("outgoing voice to about ") && row[3].contains("0% incoming"), "{row:?}");
    assert!(row[3].contains("; usage profile far from its plan type's"), "{row:?}");
    // a revenue anomaly alone is watch: a billing error is not fraud, the fraud team decides
    let credit = query_csv(&warehouse, "SELECT screening_level, reasons FROM screening WHERE flags = 'credit_heavy'");
    let row = parse_csv(&credit).1.into_iter().next().expect("a credit-heavy line");
    assert_eq!(row[0], "watch", "{row:?}");
    assert!(row[1].starts_with("credits of ") && row[1].contains("% of its charges of "), "{row:?}");
}
