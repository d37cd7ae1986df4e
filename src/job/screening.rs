//! `[screening]`: the expert rules that screen each line for fraud (the SIM
//! box, the usage spike, the new-line burst, the revenue rules), the model
//! library's (the usage profile, the supervised fraud model, confirmed
//! cases), each with its thresholds and weight, and the fraud scores at
//! which a line is watched or suspect (docs/models.md, "Screening").

use serde::Deserialize;

use super::{Invalid, JobError};

/// The fraud team's review list: the name of its export file, beside the
/// campaigns' (`snapshot_date=T/fraud_review.csv`), which no campaign may take.
pub const FRAUD_REVIEW: &str = "fraud_review";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScreeningFile {
    days: Option<u32>,
    hold_suspects: Option<bool>,
    watch_score: Option<f64>,
    suspect_score: Option<f64>,
    #[serde(default)]
    simbox: SimBoxFile,
    #[serde(default)]
    usage_spike: UsageSpikeFile,
    #[serde(default)]
    new_line_burst: NewLineBurstFile,
    #[serde(default)]
    bill_jump: BillJumpFile,
    #[serde(default)]
    credit_heavy: CreditHeavyFile,
    #[serde(default)]
    recharge_mismatch: RechargeMismatchFile,
    #[serde(default)]
    usage_profile: UsageProfileFile,
    #[serde(default)]
    fraud_model: FraudModelFile,
    #[serde(default)]
    confirmed_case: ConfirmedCaseFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FraudModelFile {
    weight: Option<f64>,
    threshold: Option<f64>,
    horizon_days: Option<u32>,
    window_days: Option<u32>,
    l2: Option<f64>,
    min_cases: Option<u32>,
    min_auc: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmedCaseFile {
    weight: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageProfileFile {
    weight: Option<f64>,
    min_distance: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimBoxFile {
    weight: Option<f64>,
    min_calls_per_day: Option<f64>,
    min_numbers_per_day: Option<f64>,
    max_incoming_share: Option<f64>,
    max_other_events_per_day: Option<f64>,
    min_night_share: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageSpikeFile {
    weight: Option<f64>,
    min_z: Option<f64>,
    recent_days: Option<u32>,
    history_days: Option<u32>,
    min_history_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLineBurstFile {
    weight: Option<f64>,
    max_tenure_days: Option<u32>,
    peer_quantile: Option<f64>,
    min_ratio: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BillJumpFile {
    weight: Option<f64>,
    min_ratio: Option<f64>,
    history_months: Option<u32>,
    min_months: Option<u32>,
    min_amount: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditHeavyFile {
    weight: Option<f64>,
    min_share: Option<f64>,
    min_amount: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RechargeMismatchFile {
    weight: Option<f64>,
    min_ratio: Option<f64>,
    max_usage_ratio: Option<f64>,
    peer_quantile: Option<f64>,
}

/// Validated `[screening]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningSettings {
    /// The days up to T the SIM-box rule looks at.
    pub days: u32,
    /// Suspect lines are kept out of the value tiers (`under_review`) and of every campaign.
    pub hold_suspects: bool,
    /// A fraud score at or above this is `watch`, at or above `suspect_score` `suspect`.
    pub watch_score: f64,
    pub suspect_score: f64,
    pub simbox: SimBoxRule,
    pub usage_spike: UsageSpikeRule,
    pub new_line_burst: NewLineBurstRule,
    pub bill_jump: BillJumpRule,
    pub credit_heavy: CreditHeavyRule,
    pub recharge_mismatch: RechargeMismatchRule,
    pub usage_profile: UsageProfileRule,
    pub fraud_model: FraudModelRule,
    pub confirmed_case: ConfirmedCaseRule,
}

/// The model library's supervised model, fitted where the optional
/// `fraud_cases` source has confirmed cases: a logistic regression on each
/// line's usage of the `window_days` up to a date, labelled by a case
/// confirmed in the `horizon_days` after it, back-tested one horizon
/// earlier, and applied where the back-test's AUC reaches `min_auc`. It
/// fires on a line whose probability reaches `threshold`.
#[derive(Debug, Clone, PartialEq)]
pub struct FraudModelRule {
    pub weight: f64,
    pub threshold: f64,
    pub horizon_days: u32,
    pub window_days: u32,
    pub l2: f64,
    /// Fewer confirmed cases than this in the training horizon: not fitted.
    pub min_cases: u32,
    /// The back-test's AUC the model must reach to be applied.
    pub min_auc: f64,
}

/// A line in service with a fraud case confirmed on or before T.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmedCaseRule {
    pub weight: f64,
}

/// The model library's anomaly score: a robust Mahalanobis distance of the
/// line's usage and money profile from its plan type's, at least `min_distance`.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageProfileRule {
    pub weight: f64,
    pub min_distance: f64,
}

/// A SIM box: bulk outgoing calls to many numbers, nothing incoming, no sms
/// or data, calls at night as by day. Every threshold must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct SimBoxRule {
    pub weight: f64,
    pub min_calls_per_day: f64,
    pub min_numbers_per_day: f64,
    pub max_incoming_share: f64,
    pub max_other_events_per_day: f64,
    pub min_night_share: f64,
}

/// A day far above the line's own history and its peers' (robust z-scores).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageSpikeRule {
    pub weight: f64,
    pub min_z: f64,
    pub recent_days: u32,
    pub history_days: u32,
    pub min_history_days: u32,
}

/// A new line used far more than nearly every established line of its plan
/// type: `min_ratio` times their `peer_quantile`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLineBurstRule {
    pub weight: f64,
    pub max_tenure_days: u32,
    pub peer_quantile: f64,
    pub min_ratio: f64,
}

/// Month L's bill far above the line's own usual bill (the median of the
/// `history_months` before L, at least `min_months` of them).
#[derive(Debug, Clone, PartialEq)]
pub struct BillJumpRule {
    pub weight: f64,
    pub min_ratio: f64,
    pub history_months: u32,
    pub min_months: u32,
    /// Above the usual by at least this much money: small bills double by chance.
    pub min_amount: f64,
}

/// Month L's credits at least `min_share` of its charges.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditHeavyRule {
    pub weight: f64,
    pub min_share: f64,
    pub min_amount: f64,
}

/// A prepaid line's top-ups of the last 30 days far above its usual and
/// above the prepaid lines' `peer_quantile`, its usage a day not (at most
/// `max_usage_ratio` times its usual).
#[derive(Debug, Clone, PartialEq)]
pub struct RechargeMismatchRule {
    pub weight: f64,
    pub min_ratio: f64,
    pub max_usage_ratio: f64,
    pub peer_quantile: f64,
}

impl Default for ScreeningSettings {
    fn default() -> Self {
        validate(ScreeningFile::default(), &|key, message| JobError::Invalid {
            path: Default::default(),
            key: key.into(),
            message,
        })
        .expect("the defaults are valid")
    }
}

pub(super) fn validate(file: ScreeningFile, invalid: Invalid) -> Result<ScreeningSettings, JobError> {
    let watch_score = share(file.watch_score, 0.4, "screening.watch_score", invalid)?;
    let suspect_score = share(file.suspect_score, 0.8, "screening.suspect_score", invalid)?;
    if !(0.0 < watch_score && watch_score < suspect_score) {
        return Err(invalid(
            "screening.suspect_score",
            format!("{suspect_score} must be above watch_score ({watch_score}), which must be above 0"),
        ));
    }
    Ok(ScreeningSettings {
        days: days(file.days, 7, "screening.days", invalid)?,
        hold_suspects: file.hold_suspects.unwrap_or(true),
        watch_score,
        suspect_score,
        simbox: simbox(file.simbox, invalid)?,
        usage_spike: usage_spike(file.usage_spike, invalid)?,
        new_line_burst: new_line_burst(file.new_line_burst, invalid)?,
        bill_jump: bill_jump(file.bill_jump, invalid)?,
        credit_heavy: credit_heavy(file.credit_heavy, invalid)?,
        recharge_mismatch: recharge_mismatch(file.recharge_mismatch, invalid)?,
        usage_profile: UsageProfileRule {
            weight: share(file.usage_profile.weight, 0.5, "screening.usage_profile.weight", invalid)?,
            min_distance: positive(
                file.usage_profile.min_distance,
                15.0,
                "screening.usage_profile.min_distance",
                invalid,
            )?,
        },
        fraud_model: fraud_model(file.fraud_model, invalid)?,
        confirmed_case: ConfirmedCaseRule {
            weight: share(file.confirmed_case.weight, 0.9, "screening.confirmed_case.weight", invalid)?,
        },
    })
}

fn fraud_model(file: FraudModelFile, invalid: Invalid) -> Result<FraudModelRule, JobError> {
    let key = |name: &str| format!("screening.fraud_model.{name}");
    let rule = FraudModelRule {
        weight: share(file.weight, 0.7, &key("weight"), invalid)?,
        threshold: share(file.threshold, 0.5, &key("threshold"), invalid)?,
        horizon_days: days(file.horizon_days, 14, &key("horizon_days"), invalid)?,
        window_days: days(file.window_days, 7, &key("window_days"), invalid)?,
        l2: positive(file.l2, 1.0, &key("l2"), invalid)?,
        min_cases: file.min_cases.unwrap_or(5).max(1),
        min_auc: share(file.min_auc, 0.75, &key("min_auc"), invalid)?,
    };
    if rule.threshold <= 0.0 || rule.threshold >= 1.0 {
        return Err(invalid(
            &key("threshold"),
            format!("{} is not a probability strictly between 0 and 1", rule.threshold),
        ));
    }
    Ok(rule)
}

fn simbox(file: SimBoxFile, invalid: Invalid) -> Result<SimBoxRule, JobError> {
    let key = |name: &str| format!("screening.simbox.{name}");
    Ok(SimBoxRule {
        weight: share(file.weight, 0.9, &key("weight"), invalid)?,
        min_calls_per_day: positive(file.min_calls_per_day, 100.0, &key("min_calls_per_day"), invalid)?,
        min_numbers_per_day: positive(file.min_numbers_per_day, 40.0, &key("min_numbers_per_day"), invalid)?,
        max_incoming_share: share(file.max_incoming_share, 0.05, &key("max_incoming_share"), invalid)?,
        max_other_events_per_day: positive(
            file.max_other_events_per_day,
            1.0,
            &key("max_other_events_per_day"),
            invalid,
        )?,
        min_night_share: share(file.min_night_share, 0.1, &key("min_night_share"), invalid)?,
    })
}

fn usage_spike(file: UsageSpikeFile, invalid: Invalid) -> Result<UsageSpikeRule, JobError> {
    let key = |name: &str| format!("screening.usage_spike.{name}");
    let rule = UsageSpikeRule {
        weight: share(file.weight, 0.6, &key("weight"), invalid)?,
        min_z: positive(file.min_z, 8.0, &key("min_z"), invalid)?,
        recent_days: days(file.recent_days, 3, &key("recent_days"), invalid)?,
        history_days: days(file.history_days, 28, &key("history_days"), invalid)?,
        min_history_days: days(file.min_history_days, 4, &key("min_history_days"), invalid)?,
    };
    if rule.min_history_days > rule.history_days {
        return Err(invalid(
            &key("min_history_days"),
            format!("{} is more than history_days ({})", rule.min_history_days, rule.history_days),
        ));
    }
    Ok(rule)
}

fn new_line_burst(file: NewLineBurstFile, invalid: Invalid) -> Result<NewLineBurstRule, JobError> {
    let key = |name: &str| format!("screening.new_line_burst.{name}");
    Ok(NewLineBurstRule {
        weight: share(file.weight, 0.7, &key("weight"), invalid)?,
        max_tenure_days: days(file.max_tenure_days, 30, &key("max_tenure_days"), invalid)?,
        peer_quantile: share(file.peer_quantile, 0.99, &key("peer_quantile"), invalid)?,
        min_ratio: positive(file.min_ratio, 1.5, &key("min_ratio"), invalid)?,
    })
}

fn bill_jump(file: BillJumpFile, invalid: Invalid) -> Result<BillJumpRule, JobError> {
    let key = |name: &str| format!("screening.bill_jump.{name}");
    let rule = BillJumpRule {
        weight: share(file.weight, 0.6, &key("weight"), invalid)?,
        min_ratio: positive(file.min_ratio, 5.0, &key("min_ratio"), invalid)?,
        history_months: months(file.history_months, 6, &key("history_months"), invalid)?,
        min_months: months(file.min_months, 3, &key("min_months"), invalid)?,
        min_amount: positive(file.min_amount, 20.0, &key("min_amount"), invalid)?,
    };
    if rule.min_months > rule.history_months {
        return Err(invalid(
            &key("min_months"),
            format!("{} is more than history_months ({})", rule.min_months, rule.history_months),
        ));
    }
    Ok(rule)
}

fn credit_heavy(file: CreditHeavyFile, invalid: Invalid) -> Result<CreditHeavyRule, JobError> {
    let key = |name: &str| format!("screening.credit_heavy.{name}");
    Ok(CreditHeavyRule {
        weight: share(file.weight, 0.7, &key("weight"), invalid)?,
        min_share: positive(file.min_share, 0.8, &key("min_share"), invalid)?,
        min_amount: positive(file.min_amount, 10.0, &key("min_amount"), invalid)?,
    })
}

fn recharge_mismatch(file: RechargeMismatchFile, invalid: Invalid) -> Result<RechargeMismatchRule, JobError> {
    let key = |name: &str| format!("screening.recharge_mismatch.{name}");
    Ok(RechargeMismatchRule {
        weight: share(file.weight, 0.6, &key("weight"), invalid)?,
        min_ratio: positive(file.min_ratio, 5.0, &key("min_ratio"), invalid)?,
        max_usage_ratio: positive(file.max_usage_ratio, 1.5, &key("max_usage_ratio"), invalid)?,
        peer_quantile: share(file.peer_quantile, 0.95, &key("peer_quantile"), invalid)?,
    })
}

fn share(value: Option<f64>, default: f64, key: &str, invalid: Invalid) -> Result<f64, JobError> {
    super::share(key, value.unwrap_or(default), invalid)
}

fn positive(value: Option<f64>, default: f64, key: &str, invalid: Invalid) -> Result<f64, JobError> {
    match value.unwrap_or(default) {
        v if v.is_finite() && v > 0.0 => Ok(v),
        v => Err(invalid(key, format!("{v} is not a number above 0"))),
    }
}

fn days(value: Option<u32>, default: u32, key: &str, invalid: Invalid) -> Result<u32, JobError> {
    match value.unwrap_or(default) {
        0 => Err(invalid(key, "must be at least 1 day".into())),
        v => Ok(v),
    }
}

fn months(value: Option<u32>, default: u32, key: &str, invalid: Invalid) -> Result<u32, JobError> {
    match value.unwrap_or(default) {
        0 => Err(invalid(key, "must be at least 1 month".into())),
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ScreeningSettings, JobError> {
        let file: ScreeningFile = toml::from_str(text).unwrap();
        validate(file, &|key, message| JobError::Invalid { path: "job.toml".into(), key: key.into(), message })
    }

    #[test]
    fn defaults_hold_and_each_key_is_checked_by_name() {
        let settings = parse("").unwrap();
        assert_eq!(settings, ScreeningSettings::default());
        assert_eq!((settings.simbox.weight, settings.usage_spike.recent_days), (0.9, 3));
        let tuned = parse("[simbox]\nmin_numbers_per_day = 25\n[usage_spike]\nmin_z = 5").unwrap();
        assert_eq!((tuned.simbox.min_numbers_per_day, tuned.usage_spike.min_z), (25.0, 5.0));
        assert_eq!((settings.fraud_model.horizon_days, settings.fraud_model.threshold), (14, 0.5));
        for (text, key) in [
            ("watch_score = 0.9", "screening.suspect_score"),
            ("[simbox]\nweight = 1.5", "screening.simbox.weight"),
            ("[usage_spike]\nmin_history_days = 40", "screening.usage_spike.min_history_days"),
            ("[new_line_burst]\nmin_ratio = 0", "screening.new_line_burst.min_ratio"),
            ("days = 0", "screening.days"),
            ("[fraud_model]\nthreshold = 1", "screening.fraud_model.threshold"),
            ("[fraud_model]\nhorizon_days = 0", "screening.fraud_model.horizon_days"),
            ("[confirmed_case]\nweight = 2", "screening.confirmed_case.weight"),
        ] {
            match parse(text) {
                Err(JobError::Invalid { key: k, .. }) => assert_eq!(k, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
