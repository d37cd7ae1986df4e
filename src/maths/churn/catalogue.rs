//! The churn model's features: the columns of sql/intermediate/
//! int_churn_features.sql it reads, in the order the model and the scoring
//! function take them, with the words `churn_drivers` uses for each.
//! docs/models.md explains why each one predicts churn.

/// A numeric feature and how a driver reads when the line's value is at or
/// above the training mean (`above`) or below it (`below`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numeric {
    pub name: &'static str,
    pub above: &'static str,
    pub below: &'static str,
}

/// A categorical feature: a driver reads `"<label> <level>"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Categorical {
    pub name: &'static str,
    pub label: &'static str,
}

const fn n(name: &'static str, above: &'static str, below: &'static str) -> Numeric {
    Numeric { name, above, below }
}

/// The numeric features, in the model's order.
pub const NUMERIC: &[Numeric] = &[
    n("tenure_months", "long tenure", "short tenure"),
    n("arpu_3m", "high ARPU", "low ARPU"),
    n("arpu_trend", "rising ARPU", "falling ARPU"),
    n("recency_days", "no recent usage", "recent usage"),
    n("active_days_30d", "many active days", "few active days"),
    n("log_mou_30d", "heavy voice use", "little voice use"),
    n("log_data_mb_30d", "heavy data use", "little data use"),
    n("usage_trend", "voice minutes up on the quarter", "voice minutes down on the quarter"),
    n("complaints_90d", "recent complaints", "few complaints"),
    n("is_prepaid", "prepaid plan", "postpaid plan"),
    n("has_commitment", "on a term contract", "no term contract"),
    n("month_in_term", "late in its term", "early in its term"),
    n("months_to_term_end", "term ends later", "term ends soon"),
    n("in_renewal_window", "in its renewal window", "outside its renewal window"),
    n("days_since_last_recharge", "long since the last top-up", "topped up recently"),
    n("recharge_gap_ratio", "top-up overdue for its rhythm", "tops up on rhythm"),
    n("recharges_30d", "frequent top-ups lately", "few top-ups lately"),
    n("recharges_90d", "frequent top-ups", "few top-ups"),
    n("log_recharge_amount_30d", "large top-ups lately", "small top-ups lately"),
    n("log_recharge_amount_90d", "large top-ups", "small top-ups"),
    n("recharge_trend", "top-ups rising", "top-ups falling"),
    n("events_trend", "usage rising", "usage falling"),
    n("events_7d_trend", "usage up this week", "usage down this week"),
    n("active_days_7d", "active this week", "inactive this week"),
    n("active_days_trend", "more active days", "fewer active days"),
    n("voice_trend", "voice use rising", "voice use falling"),
    n("voice_7d_trend", "voice up this week", "voice down this week"),
    n("sms_trend", "sms rising", "sms falling"),
    n("sms_7d_trend", "sms up this week", "sms down this week"),
    n("data_trend", "data use rising", "data use falling"),
    n("data_7d_trend", "data up this week", "data down this week"),
    n("outgoing_share_30d", "makes most of its calls", "mostly receives calls"),
    n("outgoing_share_trend", "making more of its own calls", "making fewer of its own calls"),
    n("log_events_30d", "heavy use", "light use"),
    n("log_sms_30d", "many sms", "few sms"),
    n("bill_trend", "bill rising", "bill falling"),
    n("months_since_first_bill", "long billing history", "short billing history"),
    n("complaints_30d", "complaints this month", "no complaints this month"),
    n("complaints_prior_60d", "earlier complaints", "no earlier complaints"),
    n("fault_tickets_90d", "network faults reported", "no faults reported"),
    n("inquiries_30d", "recent inquiries", "no recent inquiries"),
    n("tickets_90d", "many service contacts", "few service contacts"),
    n("open_tickets", "tickets still open", "no open tickets"),
    n("hours_to_resolve_90d", "slow ticket resolution", "quick ticket resolution"),
    n("age_years", "older subscriber", "younger subscriber"),
];

/// The categorical features, in the model's order (after the numeric ones).
pub const CATEGORICAL: &[Categorical] = &[
    Categorical { name: "plan_id", label: "plan" },
    Categorical { name: "segment", label: "segment" },
    Categorical { name: "region", label: "region" },
    Categorical { name: "channel", label: "sales channel" },
];

/// The ten features of cvm's first churn model: a logistic regression on
/// them is the floor the benchmark reports.
pub const FLOOR: &[&str] = &[
    "tenure_months",
    "arpu_3m",
    "arpu_trend",
    "recency_days",
    "active_days_30d",
    "log_mou_30d",
    "log_data_mb_30d",
    "usage_trend",
    "complaints_90d",
    "is_prepaid",
];

/// Every feature's name, numeric first: the columns the scoring function takes.
pub fn names() -> impl Iterator<Item = &'static str> {
    NUMERIC.iter().map(|f| f.name).chain(CATEGORICAL.iter().map(|f| f.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_the_floor_is_among_them() {
        let all: Vec<&str> = names().collect();
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
        assert!(FLOOR.iter().all(|f| all.contains(f)));
        assert!(NUMERIC.iter().all(|f| f.above != f.below));
    }
}
