//! The data contract's inputs: which sources exist, which columns each has,
//! which are required and which carry personal data (see CONTRACT.md).
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
}

/// A column of a source as the contract names it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    /// The extract must have this column (the file fails without it).
    pub required: bool,
    /// Personal data: never copied into rejects or analyst tables in clear.
    pub personal: bool,
    /// Read into staging. Personal columns no output needs (other_party) are
    /// not read at all, so they cannot leak.
    pub staged: bool,
}

const fn req(name: &'static str) -> Column {
    Column { name, required: true, personal: false, staged: true }
}
const fn opt(name: &'static str) -> Column {
    Column { name, required: false, personal: false, staged: true }
}
/// Personal data kept in staging (for campaign exports that may need it).
const fn personal(name: &'static str) -> Column {
    Column { name, required: false, personal: true, staged: true }
}
/// Personal data never read.
const fn personal_dropped(name: &'static str) -> Column {
    Column { name, required: false, personal: true, staged: false }
}

const SUBSCRIBERS: &[Column] = &[
    req("subscriber_id"),
    personal("msisdn"),
    req("activation_date"),
    opt("deactivation_date"),
    opt("deactivation_reason"),
    req("plan_type"),
    opt("plan_id"),
    opt("segment"),
    opt("region"),
    opt("channel"),
    opt("birth_year"),
    opt("commitment_months"),
];
const BILLING: &[Column] = &[
    req("subscriber_id"),
    req("bill_month"),
    opt("invoice_id"),
    opt("charge_type"),
    req("net_amount"),
    opt("currency"),
];
const CDR: &[Column] = &[
    req("subscriber_id"),
    req("event_time"),
    req("event_type"),
    opt("direction"),
    opt("duration_s"),
    opt("volume_bytes"),
    opt("charged_amount"),
    personal_dropped("other_party"),
    opt("roaming"),
];
const RECHARGES: &[Column] = &[req("subscriber_id"), req("recharge_time"), req("amount"), opt("channel")];
const TICKETS: &[Column] = &[req("subscriber_id"), req("opened_at"), req("category"), opt("resolved_at")];
const OPTOUTS: &[Column] = &[req("subscriber_id"), opt("channel"), opt("since")];
const STRATEGIC_FIT: &[Column] = &[opt("subscriber_id"), opt("segment"), req("score")];

impl SourceKind {
    /// In ingest order: subscribers first, since every other source is checked against it.
    pub const ALL: [SourceKind; 7] = [
        SourceKind::Subscribers,
        SourceKind::Billing,
        SourceKind::Cdr,
        SourceKind::Recharges,
        SourceKind::Tickets,
        SourceKind::Optouts,
        SourceKind::StrategicFit,
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
    }
}

/// The columns the raw reader delivers to staging, in the contract's order.
pub fn staged_columns(kind: SourceKind) -> impl Iterator<Item = &'static Column> {
    columns(kind).iter().filter(|c| c.staged)
}
