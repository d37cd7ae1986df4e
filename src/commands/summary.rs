//! The terminal summary `cvm run` prints when a snapshot is published: what
//! was written and where, how much was rejected, how good the churn model
//! was, who the campaigns reach, where the report is.

use std::fmt::Write;

use crate::job::Job;
use crate::run::RunSummary;

pub fn render(job: &Job, summary: &RunSummary) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "snapshot {} of job {} published (run {})\n", summary.snapshot_date, job.name, summary.run_id);
    for warning in &summary.warnings {
        let _ = writeln!(out, "WARNING  {warning}");
    }
    if !summary.warnings.is_empty() {
        out.push('\n');
    }
    for (table, report) in &summary.tables {
        let url = job.warehouse.join(table).map(|u| u.to_string()).unwrap_or_default();
        let _ = writeln!(out, "{table:<16} {:>10} rows  {url}", report.rows);
    }

    let read: u64 = summary.sources.values().map(|s| s.rows_read).sum();
    let rejected: u64 = summary.sources.values().map(|s| s.rows_rejected).sum();
    let by_source: Vec<String> = summary
        .sources
        .iter()
        .filter(|(_, s)| s.rows_rejected > 0)
        .map(|(name, s)| format!("{name} {}", s.rows_rejected))
        .collect();
    let _ = write!(out, "\nrejects          {rejected} of {read} rows");
    if !by_source.is_empty() {
        let _ = write!(out, " ({})", by_source.join(", "));
    }
    out.push('\n');
    match summary.backtest_auc {
        Some(auc) => {
            let _ = writeln!(out, "churn back-test  AUC {auc:.3}");
        }
        None => out.push_str("churn back-test  not measured (see the model report)\n"),
    }
    if !summary.campaigns.is_empty() {
        let sizes: Vec<String> = summary
            .campaigns
            .iter()
            .map(|c| {
                let size = match c.cap {
                    Some(cap) => format!("{} {} of cap {cap} ({})", c.campaign, c.rows, c.channel),
                    None => format!("{} {} ({})", c.campaign, c.rows, c.channel),
                };
                if c.control > 0 { format!("{size} + {} control", c.control) } else { size }
            })
            .collect();
        let _ = writeln!(out, "campaigns        {}", sizes.join(", "));
    }
    if let Some(first) = summary.exports.first() {
        let folder = first.file.rsplit_once('/').map(|(f, _)| f).unwrap_or(&first.file);
        let _ = writeln!(out, "exports          {} files with checksum sidecars in {folder}/", summary.exports.len());
    }
    if let Some(url) = &summary.report_url {
        let _ = writeln!(out, "report           {url}");
    }
    let _ = writeln!(out, "manifest         {}", summary.manifest_url);
    if let Some(url) = &summary.model_artifact_url {
        let _ = writeln!(out, "models           {url}");
    }
    if !summary.model_report.is_empty() {
        let _ = write!(out, "\n{}", summary.model_report);
    }
    out
}
