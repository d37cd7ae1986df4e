//! `[[campaigns]]` and `[control]`: who each campaign contacts, in priority
//! order, how its list is ranked and capped, and how its control group is
//! drawn.

use std::path::Path;

use serde::Deserialize;

use super::JobError;

use super::Invalid;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CampaignFile {
    name: String,
    channel: String,
    cap: Option<u64>,
    /// A SQL file: a built-in name from sql/campaigns/, or a path ending in
    /// `.sql`, relative to the job file.
    sql: Option<String>,
    rule: Option<String>,
    rank_by: Option<String>,
    value_at_stake: Option<String>,
    reason: Option<String>,
    /// Share held out as the campaign's control group; `[control] share` when left out.
    control_share: Option<f64>,
    /// Days before the campaign may list a subscriber it listed again (0: every night).
    cooldown_days: Option<u32>,
    /// "score" (the selection's own score) or "uplift" (the churn a contact avoids, once fitted).
    ranking: Option<String>,
    /// Days after a wave its lines' churn is counted in, for the uplift model.
    uplift_horizon_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ControlFile {
    seed: Option<u64>,
    share: Option<f64>,
}

/// One campaign: who qualifies, how they are ranked, how many are contacted, through which channel.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// Lower-case letters, digits and `_`: also the `campaign=` partition value.
    pub name: String,
    /// Lower case; opt-outs for this channel (or for every channel) exclude a subscriber.
    pub channel: String,
    /// At most this many subscribers contacted per run; `None` = everyone who qualifies.
    pub cap: Option<u64>,
    pub selection: Selection,
    /// Share of the qualifying subscribers held out as the control group, in [0, 1).
    pub control_share: f64,
    /// A subscriber the campaign listed (contact or control) is not listed again for this many days.
    pub cooldown_days: u32,
    /// What orders the list (and so decides who the cap keeps).
    pub ranking: Ranking,
    /// The uplift model counts a listed line's churn within this many days of its wave.
    pub uplift_horizon_days: u32,
}

/// What orders a campaign's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    /// The selection's own score (e.g. churn risk x value for retention).
    Score,
    /// The churn a contact is expected to avoid (the campaign's uplift model,
    /// fitted on its earlier waves); the score until a model is fitted.
    Uplift,
}

/// The uplift model's horizon unless the campaign sets one.
pub const DEFAULT_UPLIFT_HORIZON_DAYS: u32 = 60;

/// Validated `[control]` settings: how control groups are drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlSettings {
    /// With the campaign's name, seeds each subscriber's draw: the same seed draws the same groups.
    pub seed: u64,
    /// The control share of a campaign that sets none.
    pub share: f64,
}

/// The longest cool-down a campaign may set.
const MAX_COOLDOWN_DAYS: u32 = 3650;

/// The default control share: a tenth of every list held out.
const DEFAULT_CONTROL_SHARE: f64 = 0.1;

fn control_share(key: &str, value: f64, invalid: Invalid) -> Result<f64, JobError> {
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(key, format!("{value} is not a share in [0, 1) (0 holds no one out)")))
    }
}

pub(super) fn validate_control(file: ControlFile, invalid: Invalid) -> Result<ControlSettings, JobError> {
    Ok(ControlSettings {
        seed: file.seed.unwrap_or(1),
        share: control_share("control.share", file.share.unwrap_or(DEFAULT_CONTROL_SHARE), invalid)?,
    })
}

/// What selects and ranks a campaign's subscribers: one SELECT over
/// customer_value giving subscriber_id, score, value_at_stake and reason.
#[derive(Debug, Clone)]
pub enum Selection {
    /// A SQL file: one of sql/campaigns/ (`origin` is its repository path) or the job's own.
    File { origin: String, text: String },
    /// SQL expressions over customer_value's columns.
    Rule { rule: String, rank_by: String, value_at_stake: String, reason: String },
}

impl Selection {
    /// Where the selection comes from, for messages.
    pub fn origin(&self, campaign: &str) -> String {
        match self {
            Selection::File { origin, .. } => origin.clone(),
            Selection::Rule { .. } => format!("the job's rule for campaign {campaign}"),
        }
    }
}

/// The four campaigns a job gets when it declares none, in priority order.
const DEFAULT_CAMPAIGNS: &[(&str, &str)] = &[
    ("retention_priority", "call"),
    ("upsell_potential", "sms"),
    ("winback_dormant", "sms"),
    ("loyalty_care", "email"),
];

pub(super) fn validate_campaigns(
    files: Option<Vec<CampaignFile>>,
    control: &ControlSettings,
    job_dir: &Path,
    invalid: Invalid,
) -> Result<Vec<Campaign>, JobError> {
    let Some(files) = files else {
        return Ok(default_campaigns(control));
    };
    let mut campaigns: Vec<Campaign> = Vec::new();
    for (i, f) in files.into_iter().enumerate() {
        let campaign = validate_campaign(i, f, &campaigns, control, job_dir, invalid)?;
        campaigns.push(campaign);
    }
    Ok(campaigns)
}

/// The shipped campaigns, each with its built-in SQL file.
fn default_campaigns(control: &ControlSettings) -> Vec<Campaign> {
    DEFAULT_CAMPAIGNS
        .iter()
        .map(|(name, channel)| Campaign {
            name: name.to_string(),
            channel: channel.to_string(),
            cap: None,
            selection: builtin(name).expect("every default campaign has its SQL file"),
            control_share: control.share,
            cooldown_days: 0,
            ranking: Ranking::Score,
            uplift_horizon_days: DEFAULT_UPLIFT_HORIZON_DAYS,
        })
        .collect()
}

/// The job's `i`th campaign; `earlier` are the ones declared before it.
fn validate_campaign(
    i: usize,
    f: CampaignFile,
    earlier: &[Campaign],
    control: &ControlSettings,
    job_dir: &Path,
    invalid: Invalid,
) -> Result<Campaign, JobError> {
    let key = |k: &str| format!("campaigns[{i}].{k}");
    if f.name.is_empty() || !f.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(invalid(&key("name"), format!("'{}' must use only a-z, 0-9 and _", f.name)));
    }
    if earlier.iter().any(|c| c.name == f.name) {
        return Err(invalid(&key("name"), format!("campaign '{}' is declared twice", f.name)));
    }
    if f.name == super::FRAUD_REVIEW {
        let why = "is the fraud team's review list (its export sits beside the campaigns'): choose another name";
        return Err(invalid(&key("name"), format!("'{}' {why}", f.name)));
    }
    let channel = f.channel.trim().to_ascii_lowercase();
    if channel.is_empty() || !channel.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(invalid(&key("channel"), format!("'{}' is not a channel name (sms, email, call, ...)", f.channel)));
    }
    if f.cap == Some(0) {
        return Err(invalid(&key("cap"), "must be at least 1 (leave it out for no cap)".into()));
    }
    let cooldown_days = f.cooldown_days.unwrap_or(0);
    if cooldown_days > MAX_COOLDOWN_DAYS {
        return Err(invalid(
            &key("cooldown_days"),
            format!("{cooldown_days} is more than {MAX_COOLDOWN_DAYS} days (ten years)"),
        ));
    }
    let ranking = match f.ranking.as_deref() {
        None | Some("score") => Ranking::Score,
        Some("uplift") => Ranking::Uplift,
        Some(other) => return Err(invalid(&key("ranking"), format!("'{other}' is not one of score, uplift"))),
    };
    let uplift_horizon_days = f.uplift_horizon_days.unwrap_or(DEFAULT_UPLIFT_HORIZON_DAYS);
    if !(1..=180).contains(&uplift_horizon_days) {
        return Err(invalid(&key("uplift_horizon_days"), format!("{uplift_horizon_days} is not 1..=180 days")));
    }
    let control_share = match f.control_share {
        Some(share) => control_share(&key("control_share"), share, invalid)?,
        None => control.share,
    };
    let selection = match (f.sql, f.rule) {
        (Some(_), Some(_)) => {
            return Err(invalid(&key("rule"), "give either `sql` or `rule`, not both".into()));
        }
        (None, None) => return Err(invalid(&key("rule"), "a campaign needs `rule` or `sql`".into())),
        (Some(sql), None) => {
            if f.rank_by.is_some() || f.value_at_stake.is_some() || f.reason.is_some() {
                return Err(invalid(
                    &key("sql"),
                    "a SQL file computes score, value_at_stake and reason itself; drop rank_by, value_at_stake and reason".into(),
                ));
            }
            sql_selection(&key("sql"), sql, job_dir, invalid)?
        }
        (None, Some(rule)) => rule_selection(&key, rule, f.rank_by, f.value_at_stake, f.reason, invalid)?,
    };
    Ok(Campaign {
        name: f.name,
        channel,
        cap: f.cap,
        selection,
        control_share,
        cooldown_days,
        ranking,
        uplift_horizon_days,
    })
}

/// `sql = "..."`: a path ending in `.sql` (relative to the job file), or a built-in campaign's name.
fn sql_selection(key: &str, sql: String, job_dir: &Path, invalid: Invalid) -> Result<Selection, JobError> {
    if sql.ends_with(".sql") {
        let path = job_dir.join(&sql);
        let text =
            std::fs::read_to_string(&path).map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))?;
        Ok(Selection::File { origin: path.display().to_string(), text })
    } else {
        builtin(&sql).ok_or_else(|| {
            let names: Vec<&str> =
                crate::engine::sqlfiles::layer(crate::engine::sqlfiles::Layer::Campaigns).map(|f| f.name).collect();
            invalid(
                key,
                format!("'{sql}' is neither a built-in campaign ({}) nor a path ending in .sql", names.join(", ")),
            )
        })
    }
}

/// `rule = "..."` with the expressions that rank it and give its reason (and its value at stake).
fn rule_selection(
    key: &dyn Fn(&str) -> String,
    rule: String,
    rank_by: Option<String>,
    value_at_stake: Option<String>,
    reason: Option<String>,
    invalid: Invalid,
) -> Result<Selection, JobError> {
    let rank_by = rank_by.ok_or_else(|| invalid(&key("rank_by"), "a rule needs rank_by".into()))?;
    let reason = reason.ok_or_else(|| {
        invalid(&key("reason"), "a rule needs reason, a SQL text expression such as \"'long tenure'\"".into())
    })?;
    Ok(Selection::Rule {
        rule,
        rank_by,
        value_at_stake: value_at_stake.unwrap_or_else(|| "current_value".into()),
        reason,
    })
}

fn builtin(name: &str) -> Option<Selection> {
    let file = crate::engine::sqlfiles::find(name).filter(|f| f.layer == crate::engine::sqlfiles::Layer::Campaigns)?;
    Some(Selection::File { origin: file.path(), text: file.text.to_string() })
}
