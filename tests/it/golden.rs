//! The demo job's customer_value and rejects equal the hand-worked golden
//! files in fixtures/demo/expected, value for value.
//!
//! `CVM_UPDATE_GOLDEN=1 cargo test golden` rewrites them from cvm's output,
//! for review as a diff (the files were worked out by hand first: a change
//! to them needs a reason).

use crate::support::*;

fn compare(table: &str, actual: &str, expected_path: &std::path::Path, float_columns: &[&str]) {
    if std::env::var_os("CVM_UPDATE_GOLDEN").is_some() {
        std::fs::write(expected_path, actual).expect("rewrite golden file");
        return;
    }
    let expected = std::fs::read_to_string(expected_path).expect("golden file");
    let (eh, mut erows) = parse_csv(&expected);
    let (ah, mut arows) = parse_csv(actual);
    assert_eq!(ah, eh, "{table}: columns differ");
    erows.sort();
    arows.sort();
    assert_eq!(arows.len(), erows.len(), "{table}: row counts differ");
    for (a, e) in arows.iter().zip(&erows) {
        for (i, name) in eh.iter().enumerate() {
            let (av, ev) = (&a[i], &e[i]);
            let same = if float_columns.contains(&name.as_str()) && !av.is_empty() && !ev.is_empty() {
                let (x, y): (f64, f64) = (av.parse().unwrap(), ev.parse().unwrap());
                (x - y).abs() <= 1e-9 * y.abs().max(1.0)
            } else {
                av == ev
            };
            assert!(same, "{table}: row {} column {name}: got '{av}', expected '{ev}'", e[0]);
        }
    }
}

#[test]
fn demo_customer_value_and_rejects_match_the_golden_files() {
    let warehouse = tempfile::tempdir().unwrap();
    let out = run_job(&demo_job(), None, warehouse.path());
    assert!(out.status.success(), "demo run failed: {}", String::from_utf8_lossy(&out.stderr));

    let columns = "subscriber_id, plan_type, segment, region, is_active, tenure_days, tenure_months, \
        months_in_service_3m, months_in_service_12m, revenue_1m, revenue_3m, revenue_12m, arpu_3m, arpu_12m, \
        arpu_trend, historical_value, recency_days, active_days_30d, mou_30d, mou_90d, data_mb_30d, sms_30d, \
        complaints_90d";
    let actual = query_csv(
        warehouse.path(),
        &format!("SELECT {columns} FROM customer_value WHERE snapshot_date = DATE '{AS_OF}' ORDER BY subscriber_id"),
    );
    let expected = repo().join("fixtures/demo/expected/customer_value.csv");
    compare("customer_value", &actual, &expected, &["arpu_trend", "mou_30d", "mou_90d", "data_mb_30d"]);

    let input = url::Url::from_directory_path(repo().join("fixtures/demo/input")).unwrap();
    let actual = query_csv(
        warehouse.path(),
        &format!(
            "SELECT source, replace(file, '{input}', '') AS file, row_number AS row, rule FROM rejects \
             ORDER BY source, file, row_number"
        ),
    );
    compare("rejects", &actual, &repo().join("fixtures/demo/expected/rejects.csv"), &[]);
}

#[test]
fn rejects_keep_the_contract_columns_of_the_raw_record_without_personal_data() {
    let warehouse = tempfile::tempdir().unwrap();
    assert!(run_job(&demo_job(), None, warehouse.path()).status.success());
    let text = query_csv(
        warehouse.path(),
        "SELECT raw_record FROM rejects WHERE source = 'subscribers' AND rule = 'plan_type_invalid'",
    );
    let (_, rows) = parse_csv(&text);
    // the contract's columns as read, by name; msisdn (personal) is not among them
    let record = concat!(
        r#"{"subscriber_id":"S093","activation_date":"2025-05-01","deactivation_date":null,"#,
        r#""deactivation_reason":null,"plan_type":"hybrid","plan_id":"HYB","segment":"consumer","#,
        r#""region":"north","channel":"online","birth_year":"1990","commitment_months":null}"#
    );
    assert_eq!(rows, vec![vec![record.to_string()]]);
    // a row with too few fields keeps its shape only: shifted, its msisdn could sit in any column
    let text = query_csv(
        warehouse.path(),
        "SELECT raw_record FROM rejects WHERE source = 'subscribers' AND rule = 'field_count_mismatch'",
    );
    let (_, rows) = parse_csv(&text);
    assert_eq!(rows, vec![vec!["<6 fields, 33 bytes of values; the header has 11>".to_string()]]);
    // no msisdn of the fixtures appears in any published table, decoded
    for table in ["customer_value", "rejects", "usage_daily"] {
        let text = query_csv(warehouse.path(), &format!("SELECT * FROM {table}"));
        assert!(text.lines().count() > 1, "{table} is empty");
        assert!(!text.contains("+3361000"), "msisdn in clear in {table}");
    }
}
