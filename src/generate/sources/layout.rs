//! The sources' file layouts: each source's folder name and typed
//! columns, and the sources every generation writes.

use crate::generate::sink::{Kind, Table};

/// The sources written: the contract's.
pub use crate::contract::SourceKind as Source;

/// The sources every generation writes: all the contract's but responses,
/// which only a simulation of campaigns has.
pub const SOURCES: [Source; 7] = [
    Source::Subscribers,
    Source::Billing,
    Source::Cdr,
    Source::Recharges,
    Source::Tickets,
    Source::Optouts,
    Source::StrategicFit,
];

use Kind::{Date, Float, Int, Money, Text, Time};

static SUBSCRIBERS: Table = Table {
    name: "subscribers",
    columns: &[
        ("subscriber_id", Text),
        ("msisdn", Text),
        ("activation_date", Date),
        ("deactivation_date", Date),
        ("deactivation_reason", Text),
        ("plan_type", Text),
        ("plan_id", Text),
        ("segment", Text),
        ("region", Text),
        ("channel", Text),
        ("birth_year", Int),
        ("commitment_months", Int),
    ],
};
static BILLING: Table = Table {
    name: "billing",
    columns: &[
        ("subscriber_id", Text),
        ("bill_month", Text),
        ("invoice_id", Text),
        ("charge_type", Text),
        ("net_amount", Money),
    ],
};
static CDR: Table = Table {
    name: "cdr",
    columns: &[
        ("subscriber_id", Text),
        ("event_time", Time),
        ("event_type", Text),
        ("direction", Text),
        ("duration_s", Int),
        ("volume_bytes", Int),
        ("other_party", Text),
    ],
};
static RECHARGES: Table = Table {
    name: "recharges",
    columns: &[("subscriber_id", Text), ("recharge_time", Time), ("amount", Money), ("channel", Text)],
};
static TICKETS: Table = Table {
    name: "tickets",
    columns: &[("subscriber_id", Text), ("opened_at", Time), ("category", Text), ("resolved_at", Time)],
};
static OPTOUTS: Table =
    Table { name: "optouts", columns: &[("subscriber_id", Text), ("channel", Text), ("since", Date)] };
/// Written with `--campaigns-from` only (src/generate/treatment.rs), so not
/// in [`SOURCES`].
pub static RESPONSES: Table = Table {
    name: "responses",
    columns: &[
        ("subscriber_id", Text),
        ("campaign", Text),
        ("contacted_at", Time),
        ("outcome", Text),
        ("channel", Text),
    ],
};
/// Written with `--plant ...,cases=P` only, beside the fraud truth
/// (src/generate/truth.rs), so not in [`SOURCES`].
pub static FRAUD_CASES: Table =
    Table { name: "fraud_cases", columns: &[("subscriber_id", Text), ("confirmed_date", Date), ("fraud_type", Text)] };
static STRATEGIC_FIT: Table =
    Table { name: "strategic_fit", columns: &[("subscriber_id", Text), ("segment", Text), ("score", Float)] };

/// The file layout of a source.
pub fn table(source: Source) -> &'static Table {
    match source {
        Source::Subscribers => &SUBSCRIBERS,
        Source::Billing => &BILLING,
        Source::Cdr => &CDR,
        Source::Recharges => &RECHARGES,
        Source::Tickets => &TICKETS,
        Source::Optouts => &OPTOUTS,
        Source::StrategicFit => &STRATEGIC_FIT,
        Source::Responses => &RESPONSES,
        Source::FraudCases => &FRAUD_CASES,
    }
}

/// A source's position in [`SOURCES`]: part of its random streams' keys.
pub fn index(source: Source) -> usize {
    source as usize
}
