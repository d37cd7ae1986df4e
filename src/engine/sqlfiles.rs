//! cvm's SQL files (sql/), compiled into the binary, with their header docs
//! and the order the tables they reference impose.
//!
//! Each file is one SELECT named by its stem; its opening comment states the
//! grain, inputs and one line per output column. [`SqlFile::columns`] reads
//! those column lines back: tests compare them with the real output schema,
//! and the README's data dictionary is generated from them.

use std::collections::{BTreeMap, BTreeSet};

/// The layers of sql/, in data-flow order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    Staging,
    /// usage_daily and the per-file parts it is summed from (sql/usage/):
    /// built incrementally by their own step, read by sql/intermediate.
    Usage,
    /// Each source's volume per period against its history (sql/quality/),
    /// judged before anything is computed from it.
    Quality,
    Intermediate,
    /// The fitted models applied back in the engine (run after the model step).
    Scoring,
    /// The parts kpi is assembled from (sql/kpi/): they read customer_value,
    /// so they are planned after it.
    Kpi,
    /// The fraud screening's rule families (sql/screening/): each gives the
    /// lines its rule fired on; the screening mart combines them.
    Screening,
    Marts,
    /// Inputs a model step pulls for a fit (sql/models/), planned only by that step.
    Models,
    /// Campaign selections over customer_value (sql/campaigns/), chosen by the job.
    Campaigns,
    /// The run report's figures, read from the published tables (sql/reports/).
    Reports,
    /// What `cvm campaign list/effect/export` and `cvm screening export` read from the published tables (sql/exports/).
    Exports,
}

impl Layer {
    pub fn folder(self) -> &'static str {
        match self {
            Layer::Staging => "staging",
            Layer::Usage => "usage",
            Layer::Quality => "quality",
            Layer::Intermediate => "intermediate",
            Layer::Scoring => "scoring",
            Layer::Kpi => "kpi",
            Layer::Screening => "screening",
            Layer::Marts => "marts",
            Layer::Models => "models",
            Layer::Campaigns => "campaigns",
            Layer::Reports => "reports",
            Layer::Exports => "exports",
        }
    }
}

/// One SQL file.
#[derive(Debug, Clone, Copy)]
pub struct SqlFile {
    pub layer: Layer,
    /// The file's stem: the name of the table it defines.
    pub name: &'static str,
    pub text: &'static str,
}

macro_rules! sql_file {
    ($layer:ident, $folder:literal, $name:literal) => {
        SqlFile {
            layer: Layer::$layer,
            name: $name,
            text: include_str!(concat!("../../sql/", $folder, "/", $name, ".sql")),
        }
    };
}

/// Every SQL file cvm runs.
pub const ALL: &[SqlFile] = &[
    sql_file!(Staging, "staging", "stg_subscribers"),
    sql_file!(Staging, "staging", "stg_billing"),
    sql_file!(Staging, "staging", "stg_cdr"),
    sql_file!(Staging, "staging", "stg_recharges"),
    sql_file!(Staging, "staging", "stg_tickets"),
    sql_file!(Staging, "staging", "stg_optouts"),
    sql_file!(Staging, "staging", "stg_strategic_fit"),
    sql_file!(Staging, "staging", "stg_responses"),
    sql_file!(Staging, "staging", "stg_fraud_cases"),
    sql_file!(Usage, "usage", "usage_by_file"),
    sql_file!(Usage, "usage", "usage_daily"),
    sql_file!(Quality, "quality", "quality_volumes"),
    sql_file!(Intermediate, "intermediate", "int_billing_lines"),
    sql_file!(Intermediate, "intermediate", "int_billing_monthly"),
    sql_file!(Intermediate, "intermediate", "int_revenue_windows"),
    sql_file!(Intermediate, "intermediate", "int_tenure_computed"),
    sql_file!(Intermediate, "intermediate", "int_usage_windows"),
    sql_file!(Intermediate, "intermediate", "int_complaints_counted"),
    sql_file!(Intermediate, "intermediate", "int_contract_position"),
    sql_file!(Intermediate, "intermediate", "int_recharge_behaviour"),
    sql_file!(Intermediate, "intermediate", "int_service_experience"),
    sql_file!(Intermediate, "intermediate", "int_subscriber_features"),
    sql_file!(Intermediate, "intermediate", "int_cohort_groups"),
    sql_file!(Intermediate, "intermediate", "int_churn_features"),
    sql_file!(Intermediate, "intermediate", "int_retention_observations"),
    sql_file!(Intermediate, "intermediate", "int_recharge_summary"),
    sql_file!(Scoring, "scoring", "score_churn"),
    sql_file!(Scoring, "scoring", "score_lifetime"),
    sql_file!(Scoring, "scoring", "score_value"),
    sql_file!(Scoring, "scoring", "score_segments"),
    sql_file!(Kpi, "kpi", "kpi_lines"),
    sql_file!(Kpi, "kpi", "kpi_base_by_month"),
    sql_file!(Kpi, "kpi", "kpi_monthly"),
    sql_file!(Kpi, "kpi", "kpi_line_profit"),
    sql_file!(Kpi, "kpi", "kpi_pareto"),
    sql_file!(Kpi, "kpi", "kpi_profit_deciles"),
    sql_file!(Kpi, "kpi", "kpi_screening"),
    sql_file!(Screening, "screening", "screen_simbox"),
    sql_file!(Screening, "screening", "screen_usage_spike"),
    sql_file!(Screening, "screening", "screen_new_line_burst"),
    sql_file!(Screening, "screening", "screen_revenue"),
    sql_file!(Screening, "screening", "screen_usage_profile"),
    sql_file!(Screening, "screening", "screen_fraud_model"),
    sql_file!(Screening, "screening", "screen_confirmed_case"),
    sql_file!(Marts, "marts", "customer_value"),
    sql_file!(Marts, "marts", "tier_migration"),
    sql_file!(Marts, "marts", "model_metrics"),
    sql_file!(Marts, "marts", "kpi"),
    sql_file!(Marts, "marts", "screening"),
    sql_file!(Marts, "marts", "campaigns"),
    sql_file!(Marts, "marts", "contacts_history"),
    sql_file!(Marts, "marts", "campaign_effect"),
    sql_file!(Models, "models", "profile_features"),
    sql_file!(Models, "models", "fraud_features"),
    sql_file!(Models, "models", "uplift_features"),
    sql_file!(Models, "models", "uplift_observations"),
    sql_file!(Models, "models", "uplift_candidates"),
    sql_file!(Campaigns, "campaigns", "retention_priority"),
    sql_file!(Campaigns, "campaigns", "upsell_potential"),
    sql_file!(Campaigns, "campaigns", "winback_dormant"),
    sql_file!(Campaigns, "campaigns", "loyalty_care"),
    sql_file!(Reports, "reports", "report_tiers"),
    sql_file!(Reports, "reports", "report_months"),
    sql_file!(Reports, "reports", "report_months_by_plan"),
    sql_file!(Reports, "reports", "report_total"),
    sql_file!(Reports, "reports", "report_revenue"),
    sql_file!(Reports, "reports", "report_profit_deciles"),
    sql_file!(Reports, "reports", "report_risk_histogram"),
    sql_file!(Reports, "reports", "report_calibration"),
    sql_file!(Reports, "reports", "report_backtest"),
    sql_file!(Reports, "reports", "report_retention_fits"),
    sql_file!(Reports, "reports", "report_retention_lines"),
    sql_file!(Reports, "reports", "report_rejects"),
    sql_file!(Reports, "reports", "report_campaign_effect"),
    sql_file!(Reports, "reports", "report_screening"),
    sql_file!(Reports, "reports", "report_screening_rules"),
    sql_file!(Reports, "reports", "report_screening_trend"),
    sql_file!(Exports, "exports", "export_campaign_sizes"),
    sql_file!(Exports, "exports", "export_effect"),
    sql_file!(Exports, "exports", "export_list"),
    sql_file!(Exports, "exports", "export_fraud_review"),
];

/// A column line of a header: `--   name   Type   meaning`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDoc {
    pub name: String,
    pub data_type: String,
    pub meaning: String,
}

impl SqlFile {
    /// Repository path, for messages.
    pub fn path(&self) -> String {
        format!("sql/{}/{}.sql", self.layer.folder(), self.name)
    }

    /// The opening comment block, without the `-- ` markers.
    pub fn header(&self) -> Vec<&'static str> {
        self.text
            .lines()
            .take_while(|l| l.starts_with("--"))
            .map(|l| l.trim_start_matches("--").strip_prefix(' ').unwrap_or(l.trim_start_matches("--")))
            .collect()
    }

    /// The first header line: what the table is.
    pub fn summary(&self) -> &'static str {
        self.header().first().copied().unwrap_or("")
    }

    /// The header's value for `key:` (e.g. grain), joined over continuation lines.
    pub fn header_field(&self, key: &str) -> Option<String> {
        let header = self.header();
        let prefix = format!("{key}:");
        let start = header.iter().position(|l| l.starts_with(&prefix))?;
        let mut text = header[start][prefix.len()..].trim().to_string();
        for line in &header[start + 1..] {
            if !line.starts_with("  ") || line.trim().is_empty() {
                break;
            }
            text.push(' ');
            text.push_str(line.trim());
        }
        Some(text)
    }

    /// The documented output columns, in order.
    pub fn columns(&self) -> Vec<ColumnDoc> {
        let header = self.header();
        let Some(start) = header.iter().position(|l| l.trim() == "columns:") else {
            return Vec::new();
        };
        let mut out: Vec<ColumnDoc> = Vec::new();
        for line in &header[start + 1..] {
            let parts: Vec<&str> = line.split_whitespace().collect();
            // a column line is indented two spaces; deeper indentation continues the meaning
            if line.starts_with("    ") {
                if let Some(last) = out.last_mut() {
                    last.meaning.push(' ');
                    last.meaning.push_str(line.trim());
                }
                continue;
            }
            if parts.len() < 2 {
                continue;
            }
            // name, type, then the meaning: the rest of the line after the type
            let after_name = line.trim_start()[parts[0].len()..].trim_start();
            let meaning = after_name[parts[1].len()..].trim().to_string();
            out.push(ColumnDoc { name: parts[0].to_string(), data_type: parts[1].to_string(), meaning });
        }
        out
    }
}

/// A data type as SQL headers write it: `Utf8`, `Date32`, `Decimal128(18,4)`,
/// `Timestamp(us,UTC)`.
pub fn type_name(data_type: &datafusion::arrow::datatypes::DataType) -> String {
    use datafusion::arrow::datatypes::{DataType, TimeUnit};
    match data_type {
        DataType::Decimal128(p, s) => format!("Decimal128({p},{s})"),
        DataType::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => "s",
                TimeUnit::Millisecond => "ms",
                TimeUnit::Microsecond => "us",
                TimeUnit::Nanosecond => "ns",
            };
            match tz {
                Some(tz) => format!("Timestamp({unit},{tz})"),
                None => format!("Timestamp({unit})"),
            }
        }
        other => other.to_string(),
    }
}

impl SqlFile {
    /// Checks that the documented columns are exactly the output's (names,
    /// order and types); columns starting with `_` are cvm's bookkeeping and
    /// are not documented.
    pub fn check_schema(&self, schema: &datafusion::arrow::datatypes::Schema) -> Result<(), String> {
        let actual: Vec<(String, String)> = schema
            .fields()
            .iter()
            .filter(|f| !f.name().starts_with('_'))
            .map(|f| (f.name().clone(), type_name(f.data_type())))
            .collect();
        // type_name writes no spaces, and a header's type is one word
        let documented: Vec<(String, String)> = self.columns().into_iter().map(|c| (c.name, c.data_type)).collect();
        if documented == actual {
            return Ok(());
        }
        let show =
            |cols: &[(String, String)]| cols.iter().map(|(n, t)| format!("{n} {t}")).collect::<Vec<_>>().join(", ");
        Err(format!(
            "{}: the header documents [{}] but the query returns [{}]",
            self.path(),
            show(&documented),
            show(&actual)
        ))
    }
}

/// The data dictionary of the published tables, as Markdown, generated from
/// the SQL headers (the README embeds it; a test keeps the two equal).
pub fn data_dictionary() -> String {
    let mut out = String::new();
    // usage_daily, then the marts; usage_by_file is cvm's internal _usage_by_file
    let published = layer(Layer::Usage).filter(|f| f.name == "usage_daily").chain(layer(Layer::Marts));
    for file in published {
        out.push_str(&format!("#### {}\n\n{}\n\n", file.name, file.summary()));
        if let Some(grain) = file.header_field("grain") {
            out.push_str(&format!("Grain: {grain}\n"));
        }
        if let Some(partitioning) = file.header_field("partitioning") {
            out.push_str(&format!("Partitioned by: {partitioning}\n"));
        }
        out.push_str("\n| column | type | meaning |\n|---|---|---|\n");
        for c in file.columns() {
            out.push_str(&format!("| {} | {} | {} |\n", c.name, c.data_type, c.meaning));
        }
        out.push('\n');
    }
    out.push_str(
        "#### rejects\n\nrejects: the input rows that broke a rule of the contract, with where they came from.\n\n",
    );
    out.push_str("Grain: one row per rejected input row.\nPartitioned by: snapshot_date=T\n");
    out.push_str("\n| column | type | meaning |\n|---|---|---|\n");
    for (name, data_type, meaning) in REJECTS_COLUMNS {
        out.push_str(&format!("| {name} | {data_type} | {meaning} |\n"));
    }
    out
}

/// The `rejects` table's columns (written by ingest, not by a SQL file).
pub const REJECTS_COLUMNS: &[(&str, &str, &str)] = &[
    (
        "source",
        "Utf8",
        "the input source: subscribers, billing, cdr, recharges, tickets, optouts, strategic_fit, responses, fraud_cases",
    ),
    ("file", "Utf8", "URL of the extract file"),
    ("row_number", "Int64", "line in the decompressed file (header = line 1); for Parquet the 1-based row"),
    ("rule", "Utf8", "the rule the row broke, e.g. net_amount_invalid (see docs/contract.md, Rule names)"),
    (
        "raw_record",
        "Utf8",
        "the record's contract columns as read, a JSON object; never personal data (msisdn, other_party) or a column outside the contract; a broken record's shape only",
    ),
];

pub fn find(name: &str) -> Option<&'static SqlFile> {
    ALL.iter().find(|f| f.name == name)
}

pub fn layer(layer: Layer) -> impl Iterator<Item = &'static SqlFile> {
    ALL.iter().filter(move |f| f.layer == layer)
}

/// Orders files so that each comes after the files whose tables it reads.
/// `references` gives each file's referenced table names; names that are no
/// file (sources, raw tables) impose no order.
pub fn dependency_order<'a>(
    files: &[&'a SqlFile],
    references: &BTreeMap<&str, BTreeSet<String>>,
) -> Result<Vec<&'a SqlFile>, String> {
    let names: BTreeSet<&str> = files.iter().map(|f| f.name).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < files.len() {
        let ready = files.iter().find(|f| {
            !done.contains(f.name)
                && references
                    .get(f.name)
                    .map(|refs| {
                        refs.iter().all(|r| !names.contains(r.as_str()) || done.contains(r.as_str()) || r == f.name)
                    })
                    .unwrap_or(true)
        });
        match ready {
            Some(f) => {
                done.insert(f.name);
                order.push(*f);
            }
            None => {
                let stuck: Vec<&str> = files.iter().filter(|f| !done.contains(f.name)).map(|f| f.name).collect();
                return Err(format!("SQL files reference each other in a cycle: {}", stuck.join(", ")));
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_documents_grain_and_columns() {
        for file in ALL {
            assert!(file.header_field("grain").is_some(), "{} has no grain", file.path());
            assert!(!file.columns().is_empty(), "{} documents no columns", file.path());
        }
    }

    #[test]
    fn column_docs_are_parsed() {
        let cols = find("customer_value").unwrap().columns();
        assert_eq!(cols[0].name, "subscriber_id");
        assert_eq!(cols[0].data_type, "Utf8");
        let trend = cols.iter().find(|c| c.name == "arpu_trend").unwrap();
        assert_eq!(trend.data_type, "Float64");
        assert!(trend.meaning.starts_with("ARPU of L-2"), "{}", trend.meaning);
    }

    #[test]
    fn rejects_doc_matches_the_rejects_schema() {
        let schema = crate::stages::ingest::rejects_schema();
        let actual: Vec<(String, String)> =
            schema.fields().iter().map(|f| (f.name().clone(), type_name(f.data_type()))).collect();
        let documented: Vec<(String, String)> =
            REJECTS_COLUMNS.iter().map(|(n, t, _)| (n.to_string(), t.to_string())).collect();
        assert_eq!(actual, documented);
    }

    #[test]
    fn cycles_are_reported() {
        let a = SqlFile { layer: Layer::Intermediate, name: "a", text: "" };
        let b = SqlFile { layer: Layer::Intermediate, name: "b", text: "" };
        let mut refs = BTreeMap::new();
        refs.insert("a", BTreeSet::from(["b".to_string()]));
        refs.insert("b", BTreeSet::from(["a".to_string()]));
        assert!(dependency_order(&[&a, &b], &refs).unwrap_err().contains("cycle"));
    }
}
