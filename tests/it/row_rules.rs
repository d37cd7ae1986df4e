//! One test per row rule of the contract: a single broken row lands in
//! rejects with that rule's name, its file and line, and the good rows
//! still make it through.

use crate::support::*;

/// Spoils `source` with one extra line and returns the rejects as (file, row, rule).
fn rejects_after_appending(rel: &str, line: &str) -> Vec<(String, i64, String)> {
    let landing = Landing::new();
    landing.append(rel, line);
    rejects_of(&landing)
}

fn rejects_of(landing: &Landing) -> Vec<(String, i64, String)> {
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), "[rejects]\nmax_rate = 1.0\n");
    let warehouse = dir.path().join("warehouse");
    let out = run_job(&job, Some(landing.path()), &warehouse);
    assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = query_csv(&warehouse, "SELECT file, row_number, rule FROM rejects ORDER BY file, row_number");
    let (_, rows) = parse_csv(&text);
    // every good subscriber is still there
    let subs =
        query_csv(&warehouse, "SELECT count(*) AS n FROM customer_value WHERE subscriber_id IN ('A1','A2','A3')");
    assert_eq!(subs.lines().nth(1), Some("3"), "good rows were lost");
    rows.into_iter().map(|r| (r[0].clone(), r[1].parse().unwrap(), r[2].clone())).collect()
}

fn assert_rejected(rel: &str, line: &str, rule: &str) {
    let rejects = rejects_after_appending(rel, line);
    let expected_line = std::fs::read_to_string(Landing::new().path().join(rel)).unwrap().lines().count() as i64 + 1;
    assert_eq!(rejects.len(), 1, "expected exactly one reject, got {rejects:?}");
    let (file, row, got) = &rejects[0];
    assert!(file.ends_with(rel), "reject names file {file}, expected {rel}");
    assert_eq!(*row, expected_line, "reject names the wrong line");
    assert_eq!(got, rule);
}

const SUBS: &str = "subscribers/dt=2026-11-22/part-0.csv";
const BILL: &str = "billing/dt=2026-11-05/part-0.csv";
const CDR_FILE: &str = "cdr/dt=2026-11-22/part-0.csv";

macro_rules! rule_test {
    ($name:ident, $file:expr, $line:expr, $rule:expr) => {
        #[test]
        fn $name() {
            assert_rejected($file, $line, $rule);
        }
    };
}

// subscribers
rule_test!(subscribers_field_count_mismatch, SUBS, "B1,+33,2025-01-01,,,prepaid", "field_count_mismatch");
rule_test!(subscribers_subscriber_id_missing, SUBS, ",+33,2025-01-01,,,prepaid,P,s,r,c,1990", "subscriber_id_missing");
rule_test!(subscribers_activation_date_missing, SUBS, "B1,+33,,,,prepaid,P,s,r,c,1990", "activation_date_missing");
rule_test!(
    subscribers_activation_date_invalid,
    SUBS,
    "B1,+33,2025-02-30,,,prepaid,P,s,r,c,1990",
    "activation_date_invalid"
);
rule_test!(
    subscribers_activation_after_snapshot,
    SUBS,
    "B1,+33,2026-11-23,,,prepaid,P,s,r,c,1990",
    "activation_after_snapshot"
);
rule_test!(
    subscribers_deactivation_date_invalid,
    SUBS,
    "B1,+33,2025-01-01,soon,,prepaid,P,s,r,c,1990",
    "deactivation_date_invalid"
);
rule_test!(
    subscribers_deactivation_before_activation,
    SUBS,
    "B1,+33,2025-01-01,2024-12-31,,prepaid,P,s,r,c,1990",
    "deactivation_before_activation"
);
rule_test!(subscribers_plan_type_missing, SUBS, "B1,+33,2025-01-01,,,,P,s,r,c,1990", "plan_type_missing");
rule_test!(subscribers_plan_type_invalid, SUBS, "B1,+33,2025-01-01,,,hybrid,P,s,r,c,1990", "plan_type_invalid");

#[test]
fn subscribers_subscriber_id_duplicate_keeps_the_latest_row() {
    let landing = Landing::new();
    landing.write(
        "subscribers/dt=2026-11-23/part-0.csv",
        "subscriber_id,activation_date,plan_type,region\nA2,2025-05-01,prepaid,west\n",
    );
    let rejects = rejects_of(&landing);
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert!(rejects[0].0.ends_with(SUBS), "the earlier file's row is the one rejected: {rejects:?}");
    assert_eq!((rejects[0].1, rejects[0].2.as_str()), (3, "subscriber_id_duplicate"));
}

#[test]
fn subscribers_duplicates_in_one_file_keep_the_last_passing_row() {
    let landing = Landing::new();
    // lines 5 and 6: A2 again, then A2 once more with a broken plan type
    landing.append(SUBS, "A2,+332,2025-05-01,,,prepaid,P2,youth,south,dealer,2001");
    landing.append(SUBS, "A2,+332,2025-05-01,,,hybrid,P2,youth,south,dealer,2001");
    let rejects = rejects_of(&landing);
    let found: Vec<(i64, &str)> = rejects.iter().map(|(_, row, rule)| (*row, rule.as_str())).collect();
    // the broken row keeps its own rule and does not count as the latest: line 5 wins
    assert_eq!(found, vec![(3, "subscriber_id_duplicate"), (6, "plan_type_invalid")], "{rejects:?}");
}

// billing
rule_test!(billing_subscriber_id_missing, BILL, ",2026-10,I9,recurring,1.00,EUR", "subscriber_id_missing");
rule_test!(billing_bill_month_missing, BILL, "A1,,I9,recurring,1.00,EUR", "bill_month_missing");
rule_test!(billing_bill_month_invalid, BILL, "A1,2026-13,I9,recurring,1.00,EUR", "bill_month_invalid");
rule_test!(billing_net_amount_missing, BILL, "A1,2026-10,I9,recurring,,EUR", "net_amount_missing");
rule_test!(billing_net_amount_invalid, BILL, "A1,2026-10,I9,recurring,1e3,EUR", "net_amount_invalid");
rule_test!(billing_net_amount_too_precise, BILL, "A1,2026-10,I9,recurring,1.00001,EUR", "net_amount_invalid");
rule_test!(billing_currency_mismatch, BILL, "A1,2026-10,I9,recurring,1.00,GBP", "currency_mismatch");
rule_test!(billing_unknown_subscriber, BILL, "ZZ,2026-10,I9,recurring,1.00,EUR", "unknown_subscriber");

// cdr
rule_test!(cdr_subscriber_id_missing, CDR_FILE, ",2026-11-20T10:00:00Z,voice,out,1,,,,false", "subscriber_id_missing");
rule_test!(cdr_event_time_missing, CDR_FILE, "A1,,voice,out,1,,,,false", "event_time_missing");
rule_test!(cdr_event_time_invalid, CDR_FILE, "A1,2026-11-20T10:61:00Z,voice,out,1,,,,false", "event_time_invalid");
rule_test!(cdr_event_type_missing, CDR_FILE, "A1,2026-11-20T10:00:00Z,,out,1,,,,false", "event_type_missing");
rule_test!(cdr_event_type_invalid, CDR_FILE, "A1,2026-11-20T10:00:00Z,fax,out,1,,,,false", "event_type_invalid");
rule_test!(cdr_duration_s_invalid, CDR_FILE, "A1,2026-11-20T10:00:00Z,voice,out,-1,,,,false", "duration_s_invalid");
rule_test!(
    cdr_volume_bytes_invalid,
    CDR_FILE,
    "A1,2026-11-20T10:00:00Z,data,out,1,12.5,,,false",
    "volume_bytes_invalid"
);
rule_test!(cdr_unknown_subscriber, CDR_FILE, "ZZ,2026-11-20T10:00:00Z,voice,out,1,,,,false", "unknown_subscriber");

// optional sources
const RECHARGES: &str = "recharges/part-0.csv";
const TICKETS: &str = "tickets/part-0.csv";
const OPTOUTS: &str = "optouts/part-0.csv";
const FIT: &str = "strategic_fit/part-0.csv";
const CASES: &str = "fraud_cases/part-0.csv";
const CASES_HEADER: &str = "subscriber_id,confirmed_date,fraud_type";

fn assert_optional_rejected(rel: &str, header: &str, line: &str, rule: &str) {
    let landing = Landing::new();
    landing.write(rel, &format!("{header}\n{line}\n"));
    let rejects = rejects_of(&landing);
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert!(rejects[0].0.ends_with(rel));
    assert_eq!((rejects[0].1, rejects[0].2.as_str()), (2, rule));
}

const RECHARGE_HEADER: &str = "subscriber_id,recharge_time,amount,channel";
const TICKET_HEADER: &str = "subscriber_id,opened_at,category,resolved_at";

macro_rules! optional_rule_test {
    ($name:ident, $file:expr, $header:expr, $line:expr, $rule:expr) => {
        #[test]
        fn $name() {
            assert_optional_rejected($file, $header, $line, $rule);
        }
    };
}

optional_rule_test!(
    recharges_recharge_time_invalid,
    RECHARGES,
    RECHARGE_HEADER,
    "A2,noon,5.00,app",
    "recharge_time_invalid"
);
optional_rule_test!(
    recharges_amount_missing,
    RECHARGES,
    RECHARGE_HEADER,
    "A2,2026-11-01T10:00:00Z,,app",
    "amount_missing"
);
optional_rule_test!(
    recharges_amount_invalid,
    RECHARGES,
    RECHARGE_HEADER,
    "A2,2026-11-01T10:00:00Z,0,app",
    "amount_invalid"
);
optional_rule_test!(
    recharges_unknown_subscriber,
    RECHARGES,
    RECHARGE_HEADER,
    "ZZ,2026-11-01T10:00:00Z,5,app",
    "unknown_subscriber"
);
optional_rule_test!(tickets_opened_at_missing, TICKETS, TICKET_HEADER, "A1,,complaint,", "opened_at_missing");
optional_rule_test!(tickets_opened_at_invalid, TICKETS, TICKET_HEADER, "A1,2026/11/01,complaint,", "opened_at_invalid");
optional_rule_test!(tickets_category_missing, TICKETS, TICKET_HEADER, "A1,2026-11-01T10:00:00Z,,", "category_missing");
optional_rule_test!(
    tickets_category_invalid,
    TICKETS,
    TICKET_HEADER,
    "A1,2026-11-01T10:00:00Z,praise,",
    "category_invalid"
);
optional_rule_test!(
    optouts_subscriber_id_missing,
    OPTOUTS,
    "subscriber_id,channel,since",
    ",sms,2026-01-01",
    "subscriber_id_missing"
);
optional_rule_test!(
    optouts_unknown_subscriber,
    OPTOUTS,
    "subscriber_id,channel,since",
    "ZZ,sms,2026-01-01",
    "unknown_subscriber"
);
optional_rule_test!(
    strategic_fit_key_missing,
    FIT,
    "subscriber_id,segment,score",
    ",,0.5",
    "subscriber_id_or_segment_missing"
);
optional_rule_test!(strategic_fit_score_missing, FIT, "subscriber_id,segment,score", "A1,,", "score_missing");
optional_rule_test!(strategic_fit_score_invalid, FIT, "subscriber_id,segment,score", ",consumer,1.01", "score_invalid");
optional_rule_test!(
    fraud_cases_subscriber_id_missing,
    CASES,
    CASES_HEADER,
    ",2026-11-01,simbox",
    "subscriber_id_missing"
);
optional_rule_test!(fraud_cases_date_missing, CASES, CASES_HEADER, "A1,,simbox", "confirmed_date_missing");
optional_rule_test!(fraud_cases_date_invalid, CASES, CASES_HEADER, "A1,2026-13-01,simbox", "confirmed_date_invalid");
optional_rule_test!(fraud_cases_after_snapshot, CASES, CASES_HEADER, "A1,2026-11-23,", "confirmed_after_snapshot");
optional_rule_test!(fraud_cases_unknown_subscriber, CASES, CASES_HEADER, "ZZ,2026-11-01,simbox", "unknown_subscriber");

#[test]
fn invalid_utf8_is_a_row_rule() {
    let landing = Landing::new();
    let mut bytes = std::fs::read(landing.path().join(CDR_FILE)).unwrap();
    bytes.extend_from_slice(b"A1,2026-11-20T10:00:00Z,voice,out,1,,,\xff\xfe,false\n");
    landing.write_bytes(CDR_FILE, &bytes);
    let rejects = rejects_of(&landing);
    assert_eq!(rejects.iter().map(|r| r.2.as_str()).collect::<Vec<_>>(), vec!["invalid_utf8"]);
}

#[test]
fn optional_fields_breaking_their_rule_become_null_and_keep_the_row() {
    let landing = Landing::new();
    landing.append(SUBS, "B1,+33,2025-01-01,2026-01-01,moved,prepaid,P,s,r,c,1850");
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), "");
    let warehouse = dir.path().join("warehouse");
    assert!(run_job(&job, Some(landing.path()), &warehouse).status.success());
    let n = query_csv(&warehouse, "SELECT count(*) AS n FROM rejects");
    assert_eq!(n.lines().nth(1), Some("0"));
    let b1 = query_csv(&warehouse, "SELECT is_active, tenure_days FROM customer_value WHERE subscriber_id = 'B1'");
    assert_eq!(b1.lines().nth(1), Some("false,365"));
    // the warnings are counted in the manifest
    let manifest = manifest_of(&warehouse);
    let warnings = &manifest["sources"]["subscribers"]["warnings_by_rule"];
    assert_eq!(warnings["birth_year_invalid"], 1);
    assert_eq!(warnings["deactivation_reason_invalid"], 1);
}

#[test]
fn a_disabled_optional_source_is_not_read() {
    let landing = Landing::new();
    landing.write(TICKETS, &format!("{TICKET_HEADER}\nA1,not a time,complaint,\n"));
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), "[sources.tickets]\nenabled = false\n");
    let warehouse = dir.path().join("warehouse");
    assert!(run_job(&job, Some(landing.path()), &warehouse).status.success());
    let n = query_csv(&warehouse, "SELECT count(*) AS n FROM rejects");
    assert_eq!(n.lines().nth(1), Some("0"));
}
