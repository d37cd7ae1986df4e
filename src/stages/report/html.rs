//! The report page: headline figures, then one panel per picture, then the
//! run's facts. Self-contained: inline CSS and SVG only.

use std::fmt::Write;

use super::ReportData;
use super::svg::{self, Series, Unit, escape, thousands};

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#14213d;color:#fff;padding:20px 32px}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;color:#c9d1e3;font-size:13px}
main{padding:20px 32px;max-width:1240px;margin:0 auto}
.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin-bottom:20px}
.tile{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.tile .v{font-size:24px;font-weight:600}
.tile .k{font-size:12px;color:#5b6475;text-transform:uppercase;letter-spacing:.04em}
.tile .n{font-size:12px;color:#5b6475}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
section{background:#fff;border-radius:8px;padding:14px 18px;box-shadow:0 1px 2px rgba(0,0,0,.08);break-inside:avoid}
section h2{font-size:15px;margin:0 0 2px}
section p.note{font-size:12px;color:#5b6475;margin:0 0 8px}
table{border-collapse:collapse;width:100%;font-size:12px}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #e8eaee}
td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}
.wide{grid-column:1/-1}
.warning{background:#fdecea;border-left:4px solid #c62828;color:#7f1d1d;padding:10px 14px;margin-bottom:16px;border-radius:4px;font-size:14px}
footer{font-size:11px;color:#5b6475;padding:12px 32px 28px;max-width:1240px;margin:0 auto}
@media print{body{background:#fff}.tile,section{box-shadow:none;border:1px solid #ddd}}
";

fn pct(v: f64) -> String {
    if v.is_finite() { format!("{:.1}%", v * 100.0) } else { "–".into() }
}

/// An amount with its sign, two decimals; a dash when there is none.
fn signed(v: f64) -> String {
    if v.is_finite() { format!("{v:+.2}") } else { "–".into() }
}

fn total(data: &ReportData, name: &str) -> f64 {
    data.total.iter().find(|(n, _)| n == name).map(|(_, c)| c.num()).unwrap_or(f64::NAN)
}

fn tile(out: &mut String, key: &str, value: &str, note: &str) {
    let _ = write!(
        out,
        r#"<div class="tile"><div class="k">{}</div><div class="v">{}</div><div class="n">{}</div></div>"#,
        escape(key),
        escape(value),
        escape(note)
    );
}

fn section(out: &mut String, title: &str, note: &str, body: &str, wide: bool) {
    let class = if wide { r#" class="wide""# } else { "" };
    let _ = write!(
        out,
        r#"<section{class}><h2>{}</h2><p class="note">{}</p>{body}</section>"#,
        escape(title),
        escape(note)
    );
}

fn empty(what: &str) -> String {
    format!(r#"<p class="note">No {} in this snapshot.</p>"#, escape(what))
}

/// The campaign-effect section: per campaign, wave and horizon, churn of
/// the contacts against the control group and the uplift with its interval.
fn campaign_effect(out: &mut String, data: &ReportData) {
    let body = if data.campaign_effect.is_empty() {
        empty("earlier campaign waves to measure")
    } else {
        let mut body = String::from(
            "<table><tr><th>campaign</th><th>wave</th><th class=\"r\">days</th><th>window</th>\
             <th class=\"r\">contacts</th><th class=\"r\">control</th><th class=\"r\">churn, contacts</th>\
             <th class=\"r\">churn, control</th><th class=\"r\">uplift (95% interval)</th>\
             <th class=\"r\">value saved</th><th class=\"r\">ARPU uplift</th><th class=\"r\">reached</th>\
             <th class=\"r\">accepted</th></tr>",
        );
        for r in &data.campaign_effect {
            let window = if r[3].text() == "true" { "complete" } else { "open" };
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td class=\"r\">{}</td><td>{window}</td><td class=\"r\">{}</td>\
                 <td class=\"r\">{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td>\
                 <td class=\"r\">{} ({} to {})</td><td class=\"r\">{}</td><td class=\"r\">{}</td>\
                 <td class=\"r\">{}</td><td class=\"r\">{}</td></tr>",
                escape(&r[0].text()),
                escape(&r[1].text()),
                r[2].num(),
                thousands(r[4].num()),
                thousands(r[5].num()),
                pct(r[6].num()),
                pct(r[7].num()),
                pct(r[8].num()),
                pct(r[9].num()),
                pct(r[10].num()),
                thousands(r[11].num()),
                signed(r[12].num()),
                pct(r[13].num()),
                pct(r[14].num())
            );
        }
        body.push_str("</table>");
        body
    };
    section(
        out,
        "Campaign effect",
        "Each earlier night's list (a wave), 30, 60 and 90 days on: churn of the contacted lines against the \
         control group; uplift = control churn - contact churn (positive: the contact kept lines), value saved = \
         uplift x the contacts' value at stake; ARPU uplift = the contacts' change in monthly revenue less the \
         control group's (– until a bill month has ended after the wave); reached and accepted: shares of the \
         contacts, from the responses source. An open window shows what has been seen so far.",
        &body,
        true,
    );
}

pub fn render(data: &ReportData) -> String {
    let mut out = String::new();
    page_head(&mut out, data);
    headline(&mut out, data);
    value_tiers(&mut out, data);
    pareto(&mut out, data);
    profit_curve(&mut out, data);
    arpu_trend(&mut out, data);
    churn_risk(&mut out, data);
    calibration(&mut out, data);
    retention(&mut out, data);
    campaigns(&mut out, data);
    rejects(&mut out, data);
    the_run(&mut out, data);
    page_foot(&mut out, data);
    out
}

/// The page's head, its title bar and the run's warnings.
fn page_head(out: &mut String, data: &ReportData) {
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>cvm · {job} · {as_of}</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{CSS}</style></head><body>\
         <header><h1>Customer value report · {job} · snapshot {as_of}</h1>\
         <p>Run {run} · finished {finished} · cvm {version} · month L = {month_l}</p></header><main>",
        job = escape(&data.job),
        as_of = data.as_of,
        run = escape(&data.run_id),
        finished = escape(data.manifest.finished_at.as_deref().unwrap_or("")),
        version = escape(&data.manifest.cvm_version),
        month_l = crate::engine::window_end_month(data.as_of).format("%Y-%m"),
    );

    for warning in &data.warnings {
        let _ = write!(out, r#"<div class="warning"><strong>Warning:</strong> {}</div>"#, escape(warning));
    }
}

/// The headline figures: one tile each.
fn headline(out: &mut String, data: &ReportData) {
    out.push_str(r#"<div class="tiles">"#);
    let auc = data.backtest.iter().find(|(m, _)| m == "auc").map(|(_, v)| *v);
    // (an empty f64 sum is -0.0)
    let rejected: f64 = data.rejects.iter().map(|r| r[2].num()).sum::<f64>() + 0.0;
    tile(out, "Lines in service", &thousands(total(data, "closing_base")), "end of month L");
    tile(out, "Revenue, month L", &thousands(total(data, "revenue")), "net, billed");
    tile(out, "Network ARPU", &thousands(total(data, "network_arpu")), "revenue / mean base, month L");
    tile(out, "Churn rate", &pct(total(data, "churn_rate")), "deactivations / opening base, month L");
    tile(out, "Top 20% of lines", &pct(total(data, "top_revenue_share_12m")), "share of 12-month revenue");
    tile(out, "Bottom 30% drag", &pct(total(data, "bottom_profit_drag")), "of the other lines' profit, 12 months");
    tile(
        out,
        "Churn back-test AUC",
        &auc.map(|a| format!("{a:.3}")).unwrap_or_else(|| "–".into()),
        "model trained H before, scored on what happened",
    );
    tile(out, "Rejected rows", &thousands(rejected), "see the rejects table");
    out.push_str("</div><div class=\"grid\">");
}

/// Lines and 12-month revenue by value tier.
fn value_tiers(out: &mut String, data: &ReportData) {
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
fn pareto(out: &mut String, data: &ReportData) {
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
fn profit_curve(out: &mut String, data: &ReportData) {
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
fn arpu_trend(out: &mut String, data: &ReportData) {
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

/// Active lines by churn risk.
fn churn_risk(out: &mut String, data: &ReportData) {
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
fn calibration(out: &mut String, data: &ReportData) {
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
fn retention(out: &mut String, data: &ReportData) {
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

/// Tonight's campaign lists and their control groups, then the effect of earlier waves.
fn campaigns(out: &mut String, data: &ReportData) {
    let body = if data.campaigns.is_empty() {
        empty("campaigns")
    } else {
        let names: Vec<String> = data.campaigns.iter().map(|c| c.0.clone()).collect();
        let mut body = svg::bars(
            "campaign sizes",
            &names,
            &[Series::new("subscribers", data.campaigns.iter().map(|c| c.2 as f64).collect())],
            Unit::Number,
        );
        body.push_str(
            "<table><tr><th>campaign (priority order)</th><th>channel</th><th class=\"r\">contacts</th>\
             <th class=\"r\">control group</th></tr>",
        );
        for (name, channel, rows, control) in &data.campaigns {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td></tr>",
                escape(name),
                escape(channel),
                rows,
                control
            );
        }
        body.push_str("</table>");
        body
    };
    section(
        out,
        "Campaigns",
        "Who is contacted this run, and the control group held out beside them; opted-out subscribers are never listed.",
        &body,
        false,
    );
    campaign_effect(out, data);
}

/// Rejected rows by source and rule.
fn rejects(out: &mut String, data: &ReportData) {
    let body = if data.rejects.is_empty() {
        empty("rejected rows")
    } else {
        let mut body = String::from("<table><tr><th>source</th><th>rule</th><th class=\"r\">rows</th></tr>");
        for r in &data.rejects {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td class=\"r\">{}</td></tr>",
                escape(&r[0].text()),
                escape(&r[1].text()),
                thousands(r[2].num())
            );
        }
        body.push_str("</table>");
        body
    };
    section(
        out,
        "Rejected input rows by rule",
        "Rows that broke a rule of the contract; each is in the rejects table with its file and line.",
        &body,
        false,
    );
}

/// The run's inputs and steps, from its manifest.
fn the_run(out: &mut String, data: &ReportData) {
    let mut body = String::from(
        "<table><tr><th>source</th><th class=\"r\">files</th><th class=\"r\">rows read</th><th class=\"r\">staged</th><th class=\"r\">rejected</th></tr>",
    );
    for (name, s) in &data.manifest.sources {
        let n = |v: u64| thousands(v as f64);
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td></tr>",
            escape(name),
            s.files.len(),
            n(s.rows_read),
            n(s.rows_staged),
            n(s.rows_rejected)
        );
    }
    body.push_str("</table><table><tr><th>step</th><th class=\"r\">seconds</th><th class=\"r\">rows out</th></tr>");
    for s in &data.manifest.steps {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"r\">{:.2}</td><td class=\"r\">{}</td></tr>",
            escape(&s.name),
            s.seconds,
            thousands(s.rows_out as f64)
        );
    }
    body.push_str("</table>");
    section(out, "The run", "Inputs read and time per step, from the run manifest.", &body, true);
}

/// The page's foot: where the figures come from.
fn page_foot(out: &mut String, data: &ReportData) {
    let _ = writeln!(
        out,
        "</div></main><footer>Generated by cvm from the published tables of snapshot {} (job {}, config {}). \
         Definitions: README, data dictionary.</footer></body></html>",
        data.as_of,
        escape(&data.job),
        escape(&data.manifest.job.config_hash.chars().take(12).collect::<String>()),
    );
}
