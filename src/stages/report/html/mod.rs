//! The report page: headline figures, then one panel per picture, then the
//! run's facts. Self-contained: inline CSS and SVG only.

use std::fmt::Write;

mod models;
mod operations;
mod screening;
mod value;

use super::ReportData;
use super::svg::{escape, thousands};
use models::{calibration, churn_risk, retention};
use operations::{campaigns, rejects, the_run};
use screening::screening;
use value::{arpu_trend, pareto, profit_curve, value_tiers};

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

pub(super) fn pct(v: f64) -> String {
    if v.is_finite() { format!("{:.1}%", v * 100.0) } else { "–".into() }
}

/// An amount with its sign, two decimals; a dash when there is none.
pub(super) fn signed(v: f64) -> String {
    if v.is_finite() { format!("{v:+.2}") } else { "–".into() }
}

pub(super) fn total(data: &ReportData, name: &str) -> f64 {
    data.total.iter().find(|(n, _)| n == name).map(|(_, c)| c.num()).unwrap_or(f64::NAN)
}

pub(super) fn tile(out: &mut String, key: &str, value: &str, note: &str) {
    let _ = write!(
        out,
        r#"<div class="tile"><div class="k">{}</div><div class="v">{}</div><div class="n">{}</div></div>"#,
        escape(key),
        escape(value),
        escape(note)
    );
}

pub(super) fn section(out: &mut String, title: &str, note: &str, body: &str, wide: bool) {
    let class = if wide { r#" class="wide""# } else { "" };
    let _ = write!(
        out,
        r#"<section{class}><h2>{}</h2><p class="note">{}</p>{body}</section>"#,
        escape(title),
        escape(note)
    );
}

pub(super) fn empty(what: &str) -> String {
    format!(r#"<p class="note">No {} in this snapshot.</p>"#, escape(what))
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
    screening(&mut out, data);
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
