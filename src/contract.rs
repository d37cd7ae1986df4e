//! The data contract's inputs: which sources exist, which columns each has,
//! which are required and which carry personal data (see docs/contract.md).
//!
//! The row rules themselves live in the staging SQL (`sql/staging/`); this
//! module only says what ingest must find in an extract's header.

/// One of the contract's input sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum SourceKind {
    Subscribers,
    Billing,
    Cdr,
    Recharges,
    Tickets,
    Optouts,
    StrategicFit,
    Responses,
    FraudCases,
}

/// A column of a source as the contract names it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    /// The extract must have this column (the file fails without it).
    pub required: bool,
    /// Personal data: never copied into rejects or analyst tables in clear.
    pub personal: bool,
    /// What the column holds: which typed Parquet columns are read in their
    /// own type rather than as text (see [`Value::accepts`]).
    pub value: Value,
}

/// The kind of value a contract column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Text,
    /// A whole number (seconds, bytes, a year, months).
    Whole,
    /// An amount of money: Decimal(18, 4) once staged.
    Money,
    /// An instant: Timestamp(us, UTC) once staged.
    Time,
    /// A calendar date (a bill month is a date too: its first day).
    Date,
    Flag,
    /// A real number (a score).
    Real,
}

impl Value {
    /// Whether a typed (Parquet) column of `data_type` can be checked in its
    /// own type: the staging SQL's functions take it as it is, and the rows
    /// are never turned into text and parsed again. Any other type is read
    /// as text (arrow's cast) and judged like a CSV value.
    pub fn accepts(self, data_type: &datafusion::arrow::datatypes::DataType) -> bool {
        use datafusion::arrow::datatypes::DataType as T;
        match self {
            Value::Text => matches!(data_type, T::Utf8),
            Value::Whole => data_type.is_integer(),
            Value::Money => data_type.is_integer() || matches!(data_type, T::Decimal128(_, _)),
            Value::Time => matches!(data_type, T::Timestamp(_, _)),
            Value::Date => matches!(data_type, T::Date32),
            Value::Flag => matches!(data_type, T::Boolean),
            Value::Real => data_type.is_floating() || data_type.is_integer(),
        }
    }
}

const fn req(name: &'static str, value: Value) -> Column {
    Column { name, required: true, personal: false, value }
}
const fn opt(name: &'static str, value: Value) -> Column {
    Column { name, required: false, personal: false, value }
}
/// Personal data read into staging: msisdn for campaign exports that may
/// need it, other_party for its sketch bit (see stg_cdr.sql).
const fn personal(name: &'static str) -> Column {
    Column { name, required: false, personal: true, value: Value::Text }
}

const SUBSCRIBERS: &[Column] = &[
    req("subscriber_id", Value::Text),
    personal("msisdn"),
    req("activation_date", Value::Date),
    opt("deactivation_date", Value::Date),
    opt("deactivation_reason", Value::Text),
    req("plan_type", Value::Text),
    opt("plan_id", Value::Text),
    opt("segment", Value::Text),
    opt("region", Value::Text),
    opt("channel", Value::Text),
    opt("birth_year", Value::Whole),
    opt("commitment_months", Value::Whole),
];
const BILLING: &[Column] = &[
    req("subscriber_id", Value::Text),
    req("bill_month", Value::Date),
    opt("invoice_id", Value::Text),
    opt("charge_type", Value::Text),
    req("net_amount", Value::Money),
    opt("currency", Value::Text),
];
const CDR: &[Column] = &[
    req("subscriber_id", Value::Text),
    req("event_time", Value::Time),
    req("event_type", Value::Text),
    opt("direction", Value::Text),
    opt("duration_s", Value::Whole),
    opt("volume_bytes", Value::Whole),
    opt("charged_amount", Value::Money),
    personal("other_party"),
    opt("roaming", Value::Flag),
];
const RECHARGES: &[Column] = &[
    req("subscriber_id", Value::Text),
    req("recharge_time", Value::Time),
    req("amount", Value::Money),
    opt("channel", Value::Text),
];
const TICKETS: &[Column] = &[
    req("subscriber_id", Value::Text),
    req("opened_at", Value::Time),
    req("category", Value::Text),
    opt("resolved_at", Value::Time),
];
const OPTOUTS: &[Column] = &[req("subscriber_id", Value::Text), opt("channel", Value::Text), opt("since", Value::Date)];
const STRATEGIC_FIT: &[Column] =
    &[opt("subscriber_id", Value::Text), opt("segment", Value::Text), req("score", Value::Real)];
const RESPONSES: &[Column] = &[
    req("subscriber_id", Value::Text),
    req("campaign", Value::Text),
    req("contacted_at", Value::Time),
    req("outcome", Value::Text),
    opt("channel", Value::Text),
];
const FRAUD_CASES: &[Column] =
    &[req("subscriber_id", Value::Text), req("confirmed_date", Value::Date), opt("fraud_type", Value::Text)];

impl SourceKind {
    /// In ingest order: subscribers first, since every other source is checked against it.
    pub const ALL: [SourceKind; 9] = [
        SourceKind::Subscribers,
        SourceKind::Billing,
        SourceKind::Cdr,
        SourceKind::Recharges,
        SourceKind::Tickets,
        SourceKind::Optouts,
        SourceKind::StrategicFit,
        SourceKind::Responses,
        SourceKind::FraudCases,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Subscribers => "subscribers",
            SourceKind::Billing => "billing",
            SourceKind::Cdr => "cdr",
            SourceKind::Recharges => "recharges",
            SourceKind::Tickets => "tickets",
            SourceKind::Optouts => "optouts",
            SourceKind::StrategicFit => "strategic_fit",
            SourceKind::Responses => "responses",
            SourceKind::FraudCases => "fraud_cases",
        }
    }

    pub fn from_name(name: &str) -> Option<SourceKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|k| k.name()).collect()
    }

    /// A required source must have at least one file; an optional one may be absent.
    pub fn required(self) -> bool {
        matches!(self, SourceKind::Subscribers | SourceKind::Billing | SourceKind::Cdr)
    }

    /// Name of the table of raw (text) rows the staging SQL reads.
    pub fn raw_table(self) -> String {
        format!("raw_{}", self.name())
    }

    /// Name of the staging table (and of its SQL file's stem).
    pub fn staging_table(self) -> String {
        format!("stg_{}", self.name())
    }
}

/// The contract's columns of a source, in the contract's order.
pub fn columns(kind: SourceKind) -> &'static [Column] {
    match kind {
        SourceKind::Subscribers => SUBSCRIBERS,
        SourceKind::Billing => BILLING,
        SourceKind::Cdr => CDR,
        SourceKind::Recharges => RECHARGES,
        SourceKind::Tickets => TICKETS,
        SourceKind::Optouts => OPTOUTS,
        SourceKind::StrategicFit => STRATEGIC_FIT,
        SourceKind::Responses => RESPONSES,
        SourceKind::FraudCases => FRAUD_CASES,
    }
}

/// The columns the raw reader delivers to staging, in the contract's order:
/// all of them (personal ones stop in the staging SQL: msisdn goes only to
/// the restricted contacts, other_party only as its sketch bit).
pub fn staged_columns(kind: SourceKind) -> impl Iterator<Item = &'static Column> {
    columns(kind).iter()
}

/// Whether any source's contract column of this name holds personal data.
pub fn is_personal(name: &str) -> bool {
    SourceKind::ALL.iter().any(|k| columns(*k).iter().any(|c| c.personal && c.name == name))
}
