//! The model panels: churn risk, its calibration, retention curves.

use super::{empty, section};
use crate::stages::report::ReportData;
use crate::stages::report::svg::{self, Series, Unit};

/// Active lines by churn risk.
pub(super) fn churn_risk(out: &mut String, data: &ReportData) {
    let body = if data.risk_histogram.is_empty() {
        empty("churn scores")
    } else {
        let mut counts = vec![0.0; 20];
        for r in &data.risk_histogram {
            let bin = r[0].num() as usize;
            if bin < 20 {
                counts[bin] = r[1].num();
            }
        }
        let names: Vec<String> =
            (0..20).map(|i| if i % 4 == 0 { format!("{}%", i * 5) } else { String::new() }).collect();
        svg::bars("churn risk", &names, &[Series::new("lines", counts)], Unit::Number)
    };
    section(out, "Churn risk", "Active lines by churn risk over the horizon, in steps of 5%.", &body, false);
}

/// The churn model's back-test: predicted against observed churn.
pub(super) fn calibration(out: &mut String, data: &ReportData) {
    let body = if data.calibration.is_empty() {
        empty("back-test")
    } else {
        let names: Vec<String> = data.calibration.iter().map(|r| format!("{}", r[0].num() as i64)).collect();
        svg::bars(
            "calibration",
            &names,
            &[
                Series::new("predicted", data.calibration.iter().map(|r| r[1].num()).collect()),
                Series::new("observed", data.calibration.iter().map(|r| r[2].num()).collect()),
            ],
            Unit::Percent,
        )
    };
    let metrics: Vec<String> = data.backtest.iter().map(|(m, v)| format!("{m} {v:.3}")).collect();
    let note = format!("Back-test by risk decile (1 = riskiest): predicted vs observed churn. {}", metrics.join(", "));
    section(out, "Churn model calibration", &note, &body, false);
}

/// Retention per cohort group, observed against fitted.
pub(super) fn retention(out: &mut String, data: &ReportData) {
    let body = if data.retention.is_empty() {
        empty("retention fits")
    } else {
        let months = data.retention[0].fitted.len();
        let x: Vec<f64> = (0..months).map(|i| i as f64).collect();
        let labels: Vec<(f64, String)> = (0..months).step_by(12).map(|i| (i as f64, format!("{i} m"))).collect();
        let mut series = Vec::new();
        for (i, c) in data.retention.iter().take(4).enumerate() {
            series.push(Series::new(format!("{} ({})", c.group, c.method), c.observed.clone()).colour(i));
            series.push(Series::new("", c.fitted.clone()).colour(i).dashed());
        }
        svg::lines("retention", &x, &labels, &series, Unit::Percent, false)
    };
    section(
        out,
        "Retention by cohort group",
        "Share of postpaid lines still in service by months of tenure: observed (Kaplan-Meier, solid) and the fitted curve used for lifetime value (dashed).",
        &body,
        false,
    );
}
