//! The operations panels: campaigns and what they changed, rejects, the run's facts.

use std::fmt::Write;

use super::{empty, pct, section, signed};
use crate::stages::report::ReportData;
use crate::stages::report::svg::{self, Series, Unit, escape, thousands};

/// Tonight's campaign lists and their control groups, then the effect of earlier waves.
pub(super) fn campaigns(out: &mut String, data: &ReportData) {
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

/// The campaign-effect section: per campaign, wave and horizon, churn of
/// the contacts against the control group and the uplift with its interval.
pub(super) fn campaign_effect(out: &mut String, data: &ReportData) {
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

/// Rejected rows by source and rule.
pub(super) fn rejects(out: &mut String, data: &ReportData) {
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
pub(super) fn the_run(out: &mut String, data: &ReportData) {
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
