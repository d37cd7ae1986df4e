//! The supervised fraud model learns from the fraud team's confirmed cases
//! (the optional `fraud_cases` source, written by `cvm generate --plant
//! ...,cases=C`): its back-test is in model_metrics, it flags the planted
//! lines the team has not confirmed yet, and the confirmed lines are suspect.

use std::collections::BTreeSet;

use crate::screening::{fired, generate_planted, planted, planted_job};
use crate::support::*;

/// 40 days of CDR: the back-test's features at T-28 look back 7 days.
const DAYS: &str = "40";

#[test]
fn learns_from_confirmed_cases_and_flags_the_lines_not_yet_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let (landing, printed) = generate_planted(dir.path(), DAYS, "simbox=0.03,burst=0.3,cases=0.8");
    let cases: usize = printed
        .lines()
        .find_map(|l| l.strip_prefix("fraud_cases ").and_then(|rest| rest.split(": ").nth(1)))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("generate names its fraud_cases: {printed}"));
    assert!(cases >= 15, "{cases} cases");
    let job = planted_job(dir.path(), &landing, "");
    let warehouse = dir.path().join("warehouse");
    let out = run_job(&job, None, &warehouse);
    assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));

    // the back-test: ranked, and found most of the cases confirmed in (T-H, T]
    let metrics = query_csv(
        &warehouse,
        "SELECT scope, metric, value FROM model_metrics WHERE model = 'fraud' ORDER BY scope, metric",
    );
    let metric = |scope: &str, name: &str| -> f64 {
        parse_csv(&metrics)
            .1
            .iter()
            .find(|r| r[0] == scope && r[1] == name)
            .unwrap_or_else(|| panic!("no fraud {scope} {name} in {metrics}"))[2]
            .parse()
            .unwrap()
    };
    eprintln!("{metrics}");
    assert!(metric("backtest", "auc") >= 0.75, "{metrics}");
    assert!(metric("backtest", "recall") >= 0.6, "{metrics}");
    assert!(metric("backtest", "positives") >= 5.0, "{metrics}");
    assert!((0.0..=1.0).contains(&metric("backtest", "precision")), "{metrics}");
    assert!(metric("training", "label_rate") > 0.0, "{metrics}");

    // tonight: every confirmed line is flagged confirmed_case, and suspect
    let by_rule = fired(&warehouse);
    let confirmed = by_rule.get("confirmed_case").cloned().unwrap_or_default();
    assert_eq!(confirmed.len(), cases, "every case is on a line in service at T");
    let levels =
        query_csv(&warehouse, "SELECT DISTINCT screening_level FROM screening WHERE flags LIKE '%confirmed_case%'");
    assert_eq!(parse_csv(&levels).1, vec![vec!["suspect".to_string()]]);

    // the model flags the planted SIM boxes and bursts not confirmed yet, and little else
    let truth = planted(&landing);
    let planted_lines: BTreeSet<String> =
        ["simbox", "burst"].iter().flat_map(|p| truth.get(*p).cloned().unwrap_or_default()).collect();
    let open: BTreeSet<&String> = planted_lines.iter().filter(|l| !confirmed.contains(*l)).collect();
    let flagged = by_rule.get("fraud_model").cloned().unwrap_or_default();
    let right = flagged.iter().filter(|l| planted_lines.contains(*l)).count();
    let (precision, recall) = (right as f64 / flagged.len().max(1) as f64, right as f64 / open.len().max(1) as f64);
    eprintln!(
        "fraud model at T: {} flagged, {right} planted; {} planted lines not confirmed: precision {precision:.2}, \
         recall {recall:.2}",
        flagged.len(),
        open.len()
    );
    assert!(precision >= 0.9 && recall >= 0.7, "precision {precision:.2}, recall {recall:.2}");
    assert!(flagged.iter().all(|l| !confirmed.contains(l)), "a confirmed line is not scored");
}
