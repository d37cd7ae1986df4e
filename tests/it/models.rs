//! The model columns, model_metrics and the model artifact on the demo
//! fixtures, and the model settings of the job file.

use std::path::Path;

use crate::support::*;

fn one_value(warehouse: &Path, sql: &str) -> String {
    query_csv(warehouse, sql).lines().nth(1).unwrap_or("").to_string()
}

#[test]
fn the_demo_fills_every_model_column_and_publishes_metrics_and_artifact() {
    let w = tempfile::tempdir().unwrap();
    let stdout = run_ok(&demo_job(), AS_OF, w.path());
    // the model report is printed at the end of the run
    assert!(stdout.contains("churn model (30-day horizon): fitted"), "{stdout}");
    assert!(stdout.contains("back-test logistic (trained at 2026-09-23, 2026-08-24, scored at 2026-10-23"), "{stdout}");
    assert!(stdout.contains("back-test boosted (trained at 2026-09-23, 2026-08-24, scored at 2026-10-23"), "{stdout}");
    assert!(stdout.contains("value score weights (AHP, CR 0.033): clv 0.637, arpu_3m 0.258, tenure_months 0.105"));

    // active lines with a billed month: every model column is filled and in range
    let bad = one_value(
        w.path(),
        "SELECT count(*) FROM customer_value WHERE is_active AND arpu_3m IS NOT NULL AND NOT ( \
           churn_risk BETWEEN 0 AND 1 AND churn_risk_band IN ('low', 'medium', 'high') AND churn_drivers IS NOT NULL \
           AND (plan_type = 'postpaid' OR (p_alive BETWEEN 0 AND 1 AND expected_recharges_3m >= 0)) \
           AND expected_lifetime_months > 0 \
           AND current_value IS NOT NULL AND potential_value >= 0 AND clv = current_value + potential_value \
           AND value_score BETWEEN 0 AND 100 \
           AND value_tier IN ('diamond', 'gold', 'silver', 'vip', 'standard') \
           AND value_quadrant IN ('strategic', 'profit', 'potential', 'ordinary') \
           AND lifecycle_stage IN ('new', 'growing', 'mature', 'declining', 'dormant') AND rfm_segment IS NOT NULL)",
    );
    assert_eq!(bad, "0");
    let active = one_value(w.path(), "SELECT count(*) FROM customer_value WHERE is_active AND arpu_3m IS NOT NULL");
    assert_eq!(active, "19");
    // ended lines: no risk, no remaining value, stage churned
    let ended = query_csv(
        w.path(),
        "SELECT DISTINCT churn_risk IS NULL AS no_risk, expected_lifetime_months, CAST(clv AS DOUBLE) AS clv, \
         value_tier IS NULL AS no_tier, lifecycle_stage, rfm_segment FROM customer_value WHERE NOT is_active",
    );
    assert_eq!(
        ended.lines().collect::<Vec<_>>(),
        ["no_risk,expected_lifetime_months,clv,no_tier,lifecycle_stage,rfm_segment", "true,0.0,0.0,true,churned,lost"]
    );

    // model_metrics: the back-test figures with a calibration table
    let metrics = query_csv(
        w.path(),
        "SELECT metric, count(*) AS n FROM model_metrics WHERE model = 'churn' AND scope = 'backtest' GROUP BY metric \
         ORDER BY metric",
    );
    assert_eq!(
        metrics.lines().skip(1).collect::<Vec<_>>(),
        [
            "auc,1",
            "base_rate,1",
            "brier,1",
            "brier_calibrated,1",
            "calibration_observed,10",
            "calibration_predicted,10",
            "top_decile_lift,1"
        ]
    );
    let auc: f64 = one_value(w.path(), "SELECT value FROM model_metrics WHERE metric = 'auc'").parse().unwrap();
    assert!((0.0..=1.0).contains(&auc));

    // the artifact: parameters with their units, next to the manifest
    let artifact = models_artifact_of(w.path());
    assert_eq!(artifact["snapshot_date"], AS_OF);
    let features = artifact["churn"]["features"].as_array().unwrap();
    assert_eq!(features.len(), cvm::stages::models::churn_feature_names().len());
    assert!(["logistic", "boosted"].contains(&artifact["churn"]["chosen"].as_str().unwrap()));
    assert_eq!(artifact["churn"]["backtests"].as_array().unwrap().len(), 2);
    // the fitted model itself, which the scoring function applies
    assert_eq!(artifact["churn"]["model"]["features"].as_array().unwrap(), features);
    assert_eq!(artifact["prepaid"]["time_unit"], "week");
    assert!(artifact["prepaid"]["r"].as_f64().unwrap() > 0.0);
    assert_eq!(artifact["retention"]["time_unit"], "month");
    assert_eq!(artifact["retention"]["groups"].as_array().unwrap().len(), 2);
}

#[test]
fn current_value_is_the_discounted_margin_over_the_retention_curve() {
    // recompute one postpaid line's values from the artifact's curve, by hand
    let w = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), AS_OF, w.path());
    let artifact = models_artifact_of(w.path());
    let group = artifact["retention"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["cohort_group"] == "postpaid|consumer")
        .unwrap()
        .clone();
    let row = query_csv(
        w.path(),
        "SELECT tenure_months, CAST(arpu_3m AS DOUBLE) AS arpu, expected_lifetime_months, \
         CAST(current_value AS DOUBLE) AS cv FROM customer_value WHERE subscriber_id = 'S001'",
    );
    let (_, rows) = parse_csv(&row);
    let (tenure, arpu, months, cv): (u32, f64, f64, f64) = (
        rows[0][0].parse().unwrap(),
        rows[0][1].parse().unwrap(),
        rows[0][2].parse().unwrap(),
        rows[0][3].parse().unwrap(),
    );
    // survival to each of the next 60 months, from the group's curve
    let survival: Vec<f64> = match group["curve"]["model"].as_str().unwrap() {
        "geometric" => {
            let q = 1.0 - group["curve"]["monthly_churn"].as_f64().unwrap();
            (1..=60).map(|k| q.powi(k)).collect()
        }
        _ => {
            let (a, b) = (group["curve"]["alpha"].as_f64().unwrap(), group["curve"]["beta"].as_f64().unwrap());
            let n = tenure as f64;
            let mut s = 1.0;
            (0..60)
                .map(|j| {
                    s *= (b + n + j as f64) / (a + b + n + j as f64);
                    s
                })
                .collect()
        }
    };
    let monthly = 1.10f64.powf(1.0 / 12.0) - 1.0;
    let expected_months: f64 = survival.iter().sum();
    let discounted: f64 = survival.iter().enumerate().map(|(k, s)| s / (1.0 + monthly).powi(k as i32 + 1)).sum();
    assert!((months - expected_months).abs() < 1e-9, "{months} vs {expected_months}");
    // the demo's defaults: margin 35%, 10% a year, 60 months
    assert!((cv - 0.35 * arpu * discounted).abs() < 1e-3, "{cv} vs {}", 0.35 * arpu * discounted);
}

#[test]
fn percentile_tiers_and_quadrants_follow_the_cut_offs() {
    let w = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), AS_OF, w.path());
    // 21 active lines ranked by value_score, clv, subscriber_id: top 1% diamond (none), 5% gold (1),
    // 15% silver (ranks 2-3), 30% vip (ranks 4-6); the quadrant's high value is the top 20% (ranks 1-4)
    let tiers = query_csv(
        w.path(),
        "SELECT value_tier, count(*) AS n FROM customer_value WHERE is_active GROUP BY value_tier ORDER BY value_tier",
    );
    assert_eq!(tiers.lines().skip(1).collect::<Vec<_>>(), ["gold,1", "silver,2", "standard,15", "vip,3"]);
    let ranked = query_csv(
        w.path(),
        "SELECT value_tier, value_quadrant IN ('strategic', 'profit') AS high_value FROM customer_value WHERE is_active \
         ORDER BY value_score DESC, clv DESC NULLS LAST, subscriber_id",
    );
    let (_, rows) = parse_csv(&ranked);
    let tiers: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(&tiers[..6], ["gold", "silver", "silver", "vip", "vip", "vip"]);
    let high: Vec<bool> = rows.iter().map(|r| r[1] == "true").collect();
    assert_eq!(high.iter().filter(|h| **h).count(), 4);
    assert!(high[..4].iter().all(|h| *h));
}

#[test]
fn arpu_tiers_use_the_job_floors() {
    let dir = tempfile::tempdir().unwrap();
    let job = demo_job_with(
        dir.path(),
        "[tiers]\nmode = \"arpu\"\narpu = { diamond = 60, gold = 40, silver = 30, vip = 20 }\n",
    );
    let w = dir.path().join("warehouse");
    run_ok(&job, AS_OF, &w);
    let wrong = one_value(
        &w,
        "SELECT count(*) FROM customer_value WHERE is_active AND value_tier <> CASE \
           WHEN arpu_3m >= 60 THEN 'diamond' WHEN arpu_3m >= 40 THEN 'gold' WHEN arpu_3m >= 30 THEN 'silver' \
           WHEN arpu_3m >= 20 THEN 'vip' ELSE 'standard' END",
    );
    assert_eq!(wrong, "0");
    assert_ne!(one_value(&w, "SELECT count(DISTINCT value_tier) FROM customer_value WHERE is_active"), "1");
}

#[test]
fn an_inconsistent_ahp_matrix_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    // clv > arpu (9), arpu > tenure (9), but tenure > clv (9): contradictory
    let job = demo_job_with(
        dir.path(),
        "[value_score]\ncriteria = [\"clv\", \"arpu_3m\", \"tenure_months\"]\n\
         pairwise = [[1, 9, \"1/9\"], [\"1/9\", 1, 9], [9, \"1/9\", 1]]\n",
    );
    let out = cvm().arg("validate").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("value_score.pairwise") && stderr.contains("consistency ratio"), "{stderr}");
}

#[test]
fn a_model_that_cannot_be_fitted_leaves_its_columns_null_and_the_run_publishes() {
    // as of 2026-11-21 with a 5-day horizon no line deactivates in the training window
    let dir = tempfile::tempdir().unwrap();
    let job = demo_job_with(dir.path(), "[churn]\nhorizon_days = 5\n");
    let w = dir.path().join("warehouse");
    let stdout = run_ok(&job, "2026-11-21", &w);
    assert!(stdout.contains("not fitted: no line deactivated within the horizon"), "{stdout}");
    assert_eq!(one_value(&w, "SELECT count(churn_risk) FROM customer_value"), "0");
    // the other models still value the base
    assert_ne!(one_value(&w, "SELECT count(clv) FROM customer_value WHERE is_active"), "0");
    assert!(models_artifact_of(&w)["churn"]["status"].as_str().unwrap().starts_with("not fitted"));
}

/// Fader & Hardie (2007)'s published survivors of 1000 customers after 0..7 periods.
const HIGH_END: [u32; 8] = [1000, 869, 743, 653, 593, 551, 517, 491];
const REGULAR: [u32; 8] = [1000, 631, 468, 382, 326, 289, 262, 241];

/// A cohort of 1000 postpaid lines activated on 2026-04-22, seven monthly
/// anniversaries before T, with `survivors[t]` still in service after t
/// months. A line lost in month t ends on its t-th anniversary
/// (`on_anniversary`: served t whole months and did not renew) or one day
/// after its (t-1)-th (started month t and left during it): either way its
/// lifetime is t months.
fn cohort_rows(segment: &str, survivors: &[u32; 8], on_anniversary: bool) -> String {
    let activation = chrono::NaiveDate::from_ymd_opt(2026, 4, 22).unwrap();
    let mut rows = String::new();
    let mut id = 0;
    for t in 1..=7usize {
        for _ in 0..survivors[t - 1] - survivors[t] {
            id += 1;
            let end = if on_anniversary {
                activation + chrono::Months::new(t as u32)
            } else {
                activation + chrono::Months::new(t as u32 - 1) + chrono::Days::new(1)
            };
            rows.push_str(&format!("{segment}{id:04},,2026-04-22,{end},voluntary,postpaid,,{segment},,,\n"));
        }
    }
    for _ in 0..survivors[7] {
        id += 1;
        rows.push_str(&format!("{segment}{id:04},,2026-04-22,,,postpaid,,{segment},,,\n"));
    }
    rows
}

#[test]
fn the_published_sbg_fits_reproduce_through_cvm_run_on_either_side_of_the_anniversary() {
    // Regular: every lost line ends exactly on an anniversary; High End: a day after one.
    let landing = Landing::new();
    let header = SUBSCRIBERS.lines().next().unwrap();
    let subscribers =
        format!("{header}\n{}{}", cohort_rows("high_end", &HIGH_END, false), cohort_rows("regular", &REGULAR, true));
    landing.write("subscribers/dt=2026-11-22/part-0.csv", &subscribers);
    landing
        .write("billing/dt=2026-11-05/part-0.csv", "subscriber_id,bill_month,net_amount\nregular0001,2026-10,30.00\n");
    landing.write(
        "cdr/dt=2026-11-22/part-0.csv",
        "subscriber_id,event_time,event_type\nregular0900,2026-11-20T10:00:00Z,sms\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let job = demo_job_with(dir.path(), "");
    let w = dir.path().join("warehouse");
    let out = run_job(&job, Some(landing.path()), &w);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains("did not converge"), "{stdout}");

    let artifact = models_artifact_of(&w);
    let groups = artifact["retention"]["groups"].as_array().unwrap();
    for (group, alpha, beta) in [("postpaid|high_end", 0.668, 3.806), ("postpaid|regular", 0.704, 1.182)] {
        let g = groups.iter().find(|g| g["cohort_group"] == group).unwrap_or_else(|| panic!("{group}: {groups:?}"));
        assert_eq!(g["method"], "own", "{g}");
        let (a, b) = (g["curve"]["alpha"].as_f64().unwrap(), g["curve"]["beta"].as_f64().unwrap());
        assert!((a / alpha - 1.0).abs() < 0.01 && (b / beta - 1.0).abs() < 0.01, "{group}: alpha {a}, beta {b}");
    }
}

#[test]
fn a_retention_fit_that_does_not_converge_is_a_warning_in_the_summary_and_the_report() {
    // churn that rises with tenure has no sBG maximum inside the parameter space
    let landing = Landing::new();
    let header = SUBSCRIBERS.lines().next().unwrap();
    let survivors = [1000, 950, 890, 820, 740, 650, 550, 440];
    landing
        .write("subscribers/dt=2026-11-22/part-0.csv", &format!("{header}\n{}", cohort_rows("flat", &survivors, true)));
    landing.write("billing/dt=2026-11-05/part-0.csv", "subscriber_id,bill_month,net_amount\nflat0001,2026-10,30.00\n");
    landing.write(
        "cdr/dt=2026-11-22/part-0.csv",
        "subscriber_id,event_time,event_type\nflat0900,2026-11-20T10:00:00Z,sms\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("warehouse");
    let out = run_job(&demo_job_with(dir.path(), ""), Some(landing.path()), &w);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));
    let first = stdout.lines().find(|l| l.starts_with("WARNING")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(first.contains("retention postpaid|flat") && first.contains("did not converge"), "{first}");
    assert!(stdout.contains("FIT DID NOT CONVERGE"), "{stdout}");
    let report = std::fs::read_dir(w.join("_manifests/demo/snapshot_date=2026-11-22"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".report.html"))
        .expect("the run writes a report");
    let html = std::fs::read_to_string(report).unwrap();
    assert!(html.contains(r#"class="warning""#) && html.contains("postpaid|flat did not converge"), "no warning");
}
