//! The value panels: tiers, the Pareto picture, the profit curve, ARPU by month.

use super::{empty, pct, section, total};
use crate::stages::report::ReportData;
use crate::stages::report::svg::{self, Series, Unit};

/// Lines and 12-month revenue by value tier.
pub(super) fn value_tiers(out: &mut String, data: &ReportData) {
    let body = if data.tiers.is_empty() {
        empty("tiers")
    } else {
        let lines: f64 = data.tiers.iter().map(|r| r[1].num()).sum();
        let revenue: f64 = data.tiers.iter().map(|r| r[2].num()).sum();
        let names: Vec<String> = data.tiers.iter().map(|r| r[0].text()).collect();
        svg::bars(
            "value tiers",
            &names,
            &[
                Series::new("share of lines", data.tiers.iter().map(|r| r[1].num() / lines).collect()),
                Series::new(
                    "share of 12-month revenue",
                    data.tiers.iter().map(|r| r[2].num() / revenue.max(1e-9)).collect(),
                ),
            ],
            Unit::Percent,
        )
    };
    section(
        out,
        "Value tiers",
        "Active lines by tier, and the revenue they brought in the last 12 months.",
        &body,
        false,
    );
}

/// The Pareto (Lorenz) curve of 12-month revenue.
pub(super) fn pareto(out: &mut String, data: &ReportData) {
    let body = if data.lorenz.iter().all(|v| v.is_nan()) {
        empty("revenue")
    } else {
        let x: Vec<f64> = (0..=100).map(|p| p as f64 / 100.0).collect();
        let labels: Vec<(f64, String)> = (0..=5).map(|i| (i as f64 * 0.2, format!("{}%", i * 20))).collect();
        svg::lines(
            "Pareto curve",
            &x,
            &labels,
            &[Series::new("cumulative share of revenue", data.lorenz.clone())],
            Unit::Percent,
            true,
        )
    };
    let note = format!(
        "Share of 12-month revenue (up) brought by the top share of lines (across), ranked by revenue. \
         The top 20% bring {}; the dotted line is an even spread.",
        pct(total(data, "top_revenue_share_12m"))
    );
    section(out, "Pareto: who brings the revenue", &note, &body, false);
}

/// The profit curve by decile: the 20/80/30 picture.
pub(super) fn profit_curve(out: &mut String, data: &ReportData) {
    let body = if data.deciles.is_empty() {
        empty("profit deciles")
    } else {
        let x: Vec<f64> = (0..=data.deciles.len()).map(|i| i as f64).collect();
        let mut curve = vec![0.0];
        curve.extend(data.deciles.iter().map(|r| r[2].num()));
        let labels: Vec<(f64, String)> =
            (0..=data.deciles.len()).step_by(2).map(|i| (i as f64, format!("{}%", i * 10))).collect();
        svg::lines(
            "profit curve",
            &x,
            &labels,
            &[Series::new("cumulative share of profit", curve)],
            Unit::Percent,
            false,
        )
    };
    let note = format!(
        "Lines ranked by 12-month profit (revenue x margin - cost to serve), most profitable first. \
         Above 100% the rest destroy profit: the bottom 30% take away {} of what the others make.",
        pct(total(data, "bottom_profit_drag"))
    );
    section(out, "Profit curve (20/80/30)", &note, &body, false);
}

/// Network ARPU by month, overall and per plan type.
pub(super) fn arpu_trend(out: &mut String, data: &ReportData) {
    let body = if data.months.is_empty() {
        empty("months")
    } else {
        let x: Vec<f64> = (0..data.months.len()).map(|i| i as f64).collect();
        let labels: Vec<(f64, String)> =
            data.months.iter().enumerate().step_by(2).map(|(i, r)| (i as f64, r[0].text()[..7].to_string())).collect();
        let mut series = vec![Series::new("all lines", data.months.iter().map(|r| r[1].num()).collect())];
        let mut plans: Vec<String> = data.months_by_plan.iter().map(|r| r[1].text()).collect();
        plans.dedup();
        for plan in plans {
            let values = data
                .months
                .iter()
                .map(|m| {
                    data.months_by_plan
                        .iter()
                        .find(|r| r[1].text() == plan && r[0] == m[0])
                        .map(|r| r[2].num())
                        .unwrap_or(f64::NAN)
                })
                .collect();
            series.push(Series::new(plan, values));
        }
        svg::lines("network ARPU", &x, &labels, &series, Unit::Number, false)
    };
    section(
        out,
        "Network ARPU, last 12 months",
        "Revenue / mean of opening and closing base, per month.",
        &body,
        false,
    );
}
