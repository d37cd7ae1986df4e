//! The churn and prepaid models are fitted every `[churn] refit_every_days`
//! nights and stored; the nights between apply the stored fit, never one
//! dated after their own night; `--refit` and a changed job file fit again.

use std::path::Path;

use crate::support::*;

fn stored_fits(warehouse: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(warehouse.join("_models/demo"))
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// The churn and prepaid rows of model_metrics at snapshot `t`, without days_since_fit.
fn fit_metrics(warehouse: &Path, t: &str) -> Vec<String> {
    let csv = query_csv(
        warehouse,
        &format!(
            "SELECT model, scope, metric, decile, value, rows FROM model_metrics WHERE snapshot_date = DATE '{t}' \
             AND model IN ('churn', 'prepaid_bgnbd') AND metric <> 'days_since_fit' ORDER BY 1, 2, 3, 4"
        ),
    );
    csv.lines().skip(1).map(str::to_string).collect()
}

fn days_since_fit(warehouse: &Path, t: &str) -> String {
    let csv = query_csv(
        warehouse,
        &format!(
            "SELECT DISTINCT value FROM model_metrics WHERE snapshot_date = DATE '{t}' AND metric = 'days_since_fit'"
        ),
    );
    csv.lines().skip(1).collect::<Vec<_>>().join(";")
}

#[test]
fn the_nights_after_a_fit_apply_it_until_it_is_refit_every_days_old() {
    let w = tempfile::tempdir().unwrap();
    let w = w.path();
    let first = run_ok(&demo_job(), "2026-11-22", w);
    assert!(first.contains("churn and prepaid models: fitted by this run, applied by the runs of the next 6 days"));
    assert_eq!(stored_fits(w), ["fitted_at=2026-11-22.json"]);

    // the next night applies it: the same fit, figures and all, one day old
    let next = run_ok(&demo_job(), "2026-11-23", w);
    assert!(next.contains("churn and prepaid models: the stored fit of 2026-11-22 (1 day old;"), "{next}");
    assert_eq!(stored_fits(w), ["fitted_at=2026-11-22.json"]);
    assert_eq!(fit_metrics(w, "2026-11-23"), fit_metrics(w, "2026-11-22"));
    assert!(fit_metrics(w, "2026-11-22").iter().any(|r| r.starts_with("churn,backtest,auc,")));
    assert_eq!(days_since_fit(w, "2026-11-22"), "0.0");
    assert_eq!(days_since_fit(w, "2026-11-23"), "1.0");
    let artifact = models_artifact_at(w, "demo", "2026-11-23");
    assert_eq!(artifact["fit"]["fitted_at"], "2026-11-22");
    assert_eq!(artifact["fit"]["fitted_by_this_run"], false);
    // the artifact still carries the model the scores were computed with
    assert!(artifact["churn"]["model"].is_object());

    // seven days on, the models are fitted again
    let week = run_ok(&demo_job(), "2026-11-29", w);
    assert!(week.contains("churn and prepaid models: fitted by this run"), "{week}");
    assert_eq!(stored_fits(w), ["fitted_at=2026-11-22.json", "fitted_at=2026-11-29.json"]);

    // a night before the first fit (a backfill) never applies a fit dated after it
    let before = run_ok(&demo_job(), "2026-11-21", w);
    assert!(before.contains("churn and prepaid models: fitted by this run"), "{before}");
    assert_eq!(days_since_fit(w, "2026-11-21"), "0.0");
}

#[test]
fn refit_and_a_changed_job_file_fit_again() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("warehouse");
    let job = demo_job_with(dir.path(), "");
    run_ok(&job, "2026-11-22", &w);

    let out = cvm()
        .args(["run", job.to_str().unwrap(), "--as-of", "2026-11-23", "--refit", "--warehouse"])
        .arg(&w)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("churn and prepaid models: fitted by this run (--refit)"), "{stdout}");
    assert_eq!(stored_fits(&w), ["fitted_at=2026-11-22.json", "fitted_at=2026-11-23.json"]);

    // the same job file again: the newest fit in reach is applied
    let again = run_ok(&job, "2026-11-24", &w);
    assert!(again.contains("the stored fit of 2026-11-23 (1 day old;"), "{again}");

    // another job file (here one more setting) fits again, whatever is stored
    let changed = demo_job_with(dir.path(), "[churn]\nrefit_every_days = 3\n");
    let refit = run_ok(&changed, "2026-11-25", &w);
    assert!(refit.contains("fitted by this run, applied by the runs of the next 2 days"), "{refit}");
}
