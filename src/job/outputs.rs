//! The settings of what marketing and analysts take away: `[kpi]` (costs and
//! the Pareto shares) and `[exports]` (campaign files for marketing tools,
//! and what they may carry of personal data). Who is contacted, `[[campaigns]]`,
//! is in `campaigns.rs`.

use std::path::Path;

use serde::Deserialize;

use crate::storage::StoreUrl;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KpiFile {
    cost_per_subscriber_month: Option<f64>,
    cost_per_complaint: Option<f64>,
    top_share: Option<f64>,
    bottom_share: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportsFile {
    root: Option<String>,
    on_run: Option<bool>,
    msisdn: Option<String>,
    hmac_key_env: Option<String>,
    contacts: Option<String>,
}

/// Validated `[kpi]` settings. Money is kept as the decimal text SQL casts exactly.
#[derive(Debug, Clone)]
pub struct KpiSettings {
    pub cost_per_subscriber_month: String,
    pub cost_per_complaint: String,
    /// The Pareto head: share of subscribers whose revenue (and profit) share is reported.
    pub top_share: f64,
    /// The Pareto tail: share of least profitable subscribers whose drag is reported.
    pub bottom_share: f64,
}

/// What exports may carry of msisdn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsisdnPolicy {
    /// Never any msisdn column (the default).
    Drop,
    /// An `msisdn_hmac` column: HMAC-SHA256 of msisdn with a key from the environment.
    Hmac,
    /// msisdn in clear, but only when the export command asks (`--with-msisdn`).
    Allow,
}

/// Validated `[exports]` settings.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// Where campaign files go: `<root>/snapshot_date=T/<campaign>.csv`; by
    /// default `<warehouse>/_exports/`, which analysts' table listings skip.
    pub root: StoreUrl,
    /// Export every campaign at the end of each successful run.
    pub on_run: bool,
    pub msisdn: MsisdnPolicy,
    /// The environment variable holding the HMAC key.
    pub hmac_key_env: String,
    /// The restricted contacts table (subscriber_id, msisdn) that exports read
    /// msisdn from; written only when the policy is not `drop`.
    pub contacts: StoreUrl,
}

pub(super) fn validate_kpi(
    file: KpiFile,
    invalid: &dyn Fn(&str, String) -> super::JobError,
) -> Result<KpiSettings, super::JobError> {
    let money = |key: &str, value: Option<f64>, default: &str| -> Result<String, super::JobError> {
        match value {
            None => Ok(default.to_string()),
            Some(v) if (0.0..1e12).contains(&v) => Ok(format!("{v:.4}")),
            Some(v) => Err(invalid(key, format!("{v} is not an amount of money >= 0"))),
        }
    };
    let share = |key: &str, value: Option<f64>, default: f64| -> Result<f64, super::JobError> {
        let v = value.unwrap_or(default);
        if v > 0.0 && v < 1.0 {
            Ok(v)
        } else {
            Err(invalid(key, format!("{v} is not a share strictly between 0 and 1")))
        }
    };
    Ok(KpiSettings {
        cost_per_subscriber_month: money("kpi.cost_per_subscriber_month", file.cost_per_subscriber_month, "2.0000")?,
        cost_per_complaint: money("kpi.cost_per_complaint", file.cost_per_complaint, "15.0000")?,
        top_share: share("kpi.top_share", file.top_share, 0.2)?,
        bottom_share: share("kpi.bottom_share", file.bottom_share, 0.3)?,
    })
}

pub(super) fn validate_exports(
    file: ExportsFile,
    job_dir: &Path,
    warehouse: &StoreUrl,
    invalid: &dyn Fn(&str, String) -> super::JobError,
) -> Result<ExportSettings, super::JobError> {
    let root = match &file.root {
        Some(r) => StoreUrl::parse(r, job_dir).map_err(|e| invalid("exports.root", e.to_string()))?,
        None => warehouse.join("_exports/").map_err(|e| invalid("exports.root", e.to_string()))?,
    };
    let msisdn = match file.msisdn.as_deref().unwrap_or("drop") {
        "drop" => MsisdnPolicy::Drop,
        "hmac" => MsisdnPolicy::Hmac,
        "allow" => MsisdnPolicy::Allow,
        other => return Err(invalid("exports.msisdn", format!("'{other}' is not one of drop, hmac, allow"))),
    };
    let hmac_key_env = file.hmac_key_env.unwrap_or_else(|| "CVM_HMAC_KEY".into());
    if hmac_key_env.is_empty() || !hmac_key_env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid("exports.hmac_key_env", format!("'{hmac_key_env}' is not an environment variable name")));
    }
    let contacts = match &file.contacts {
        Some(c) => StoreUrl::parse(c, job_dir).map_err(|e| invalid("exports.contacts", e.to_string()))?,
        None => warehouse.join("_restricted/contacts/").map_err(|e| invalid("exports.contacts", e.to_string()))?,
    };
    Ok(ExportSettings {
        root: root.as_folder(),
        on_run: file.on_run.unwrap_or(false),
        msisdn,
        hmac_key_env,
        contacts: contacts.as_folder(),
    })
}
