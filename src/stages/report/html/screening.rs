//! The screening panel: lines per fraud screening level and the revenue on
//! them, flags per rule, and the watch and suspect lines night by night.

use std::fmt::Write;

use super::{empty, pct, section};
use crate::stages::report::ReportData;
use crate::stages::report::svg::{self, Series, Unit, escape, thousands};

/// The fraud screening of snapshot T and its trend over the published snapshots.
pub(super) fn screening(out: &mut String, data: &ReportData) {
    let body = if data.screening.is_empty() {
        empty("fraud screening")
    } else {
        let mut body = String::new();
        levels(&mut body, data);
        rules(&mut body, data);
        trend(&mut body, data);
        body
    };
    section(
        out,
        "Screening",
        "The fraud screening of the lines in service at T (docs/models.md, \"Screening\"): lines per level and the \
         revenue on them, how many lines each rule fired on (a line flagged by two rules counts in both), and the \
         watch and suspect lines of every published night up to T. Suspect lines are held out of the value tiers \
         and the campaigns; the fraud team's list is `cvm screening export` (fraud_review).",
        &body,
        true,
    );
}

/// Lines and revenue per level, and the revenue that sits on suspect lines.
fn levels(body: &mut String, data: &ReportData) {
    let lines: f64 = data.screening.iter().map(|r| r[1].num()).sum();
    let revenue: f64 = data.screening.iter().map(|r| r[3].num()).filter(|v| v.is_finite()).sum();
    let of = |level: &str, column: usize| {
        data.screening.iter().find(|r| r[0].text() == level).map(|r| r[column].num()).unwrap_or(0.0)
    };
    let _ = write!(
        body,
        "<p>Revenue on suspect lines: <strong>{}</strong> over the last 12 months ({} of the screened lines'), {} \
         over the last 3; {} suspect and {} watch lines of {}.</p>",
        thousands(of("suspect", 3)),
        pct(of("suspect", 3) / revenue),
        thousands(of("suspect", 2)),
        thousands(of("suspect", 1)),
        thousands(of("watch", 1)),
        thousands(lines),
    );
    body.push_str(
        "<table><tr><th>level</th><th class=\"r\">lines</th><th class=\"r\">share of lines</th>\
         <th class=\"r\">revenue, 3 months</th><th class=\"r\">revenue, 12 months</th>\
         <th class=\"r\">share of 12-month revenue</th></tr>",
    );
    for r in &data.screening {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td>\
             <td class=\"r\">{}</td><td class=\"r\">{}</td></tr>",
            escape(&r[0].text()),
            thousands(r[1].num()),
            pct(r[1].num() / lines),
            thousands(r[2].num()),
            thousands(r[3].num()),
            pct(r[3].num() / revenue),
        );
    }
    body.push_str("</table>");
}

/// Flags per rule: the lines each rule fired on, and of which suspect.
fn rules(body: &mut String, data: &ReportData) {
    if data.screening_rules.is_empty() {
        return;
    }
    let names: Vec<String> = data.screening_rules.iter().map(|r| r[0].text()).collect();
    body.push_str(&svg::bars(
        "flags per rule",
        &names,
        &[
            Series::new("lines flagged", data.screening_rules.iter().map(|r| r[1].num()).collect()),
            Series::new("of which suspect", data.screening_rules.iter().map(|r| r[2].num()).collect()),
        ],
        Unit::Number,
    ));
    body.push_str(
        "<table><tr><th>rule</th><th class=\"r\">lines flagged</th><th class=\"r\">of which suspect</th></tr>",
    );
    for r in &data.screening_rules {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td></tr>",
            escape(&r[0].text()),
            thousands(r[1].num()),
            thousands(r[2].num())
        );
    }
    body.push_str("</table>");
}

/// Watch and suspect lines per published snapshot.
fn trend(body: &mut String, data: &ReportData) {
    let nights = &data.screening_trend;
    if nights.len() < 2 {
        body.push_str(r#"<p class="note">One night screened so far: the trend starts with the next.</p>"#);
        return;
    }
    let x: Vec<f64> = (0..nights.len()).map(|i| i as f64).collect();
    let step = nights.len().div_ceil(6).max(1);
    let labels: Vec<(f64, String)> =
        nights.iter().enumerate().step_by(step).map(|(i, r)| (i as f64, r[0].text())).collect();
    body.push_str(&svg::lines(
        "screening trend",
        &x,
        &labels,
        &[
            Series::new("watch", nights.iter().map(|r| r[1].num()).collect()),
            Series::new("suspect", nights.iter().map(|r| r[2].num()).collect()),
        ],
        Unit::Number,
        false,
    ));
}
