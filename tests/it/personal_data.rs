//! Personal data never reaches an analyst table, a log line or a manifest:
//! values planted in every source, on rows that pass and on every reject
//! path (a value rule, a shifted row, invalid UTF-8, invalid JSON, a typed
//! Parquet column), are searched for in every published column and every
//! file and line the run leaves behind.

use crate::support::*;

/// Every planted value contains this; nothing the run writes may.
const PLANT: &str = "PLANTED";

fn csv(header: &str, rows: &[String]) -> String {
    let mut text = format!("{header}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

/// A landing whose every source carries an `imsi` column outside the
/// contract, and personal values in msisdn and other_party, on good and
/// rejected rows alike.
fn planted_landing() -> Landing {
    let landing = Landing::new();
    let imsi = |source: &str, i: usize| format!("{PLANT}-IMSI-{source}-{i}");
    landing.write(
        "subscribers/dt=2026-11-22/part-0.csv",
        &csv(
            "subscriber_id,msisdn,activation_date,deactivation_date,deactivation_reason,plan_type,plan_id,segment,region,channel,birth_year,imsi",
            &[
                format!("A1,{PLANT}-MSISDN-1,2024-01-10,,,postpaid,P1,consumer,north,store,1980,{}", imsi("s", 1)),
                format!("A2,{PLANT}-MSISDN-2,2025-05-01,,,prepaid,P2,youth,south,dealer,2001,{}", imsi("s", 2)),
                format!("A3,{PLANT}-MSISDN-3,2023-03-03,2026-10-01,voluntary,postpaid,P1,business,east,store,1970,{}", imsi("s", 3)),
                // a value rule: plan_type
                format!("A4,{PLANT}-MSISDN-4,2024-01-10,,,hybrid,P1,consumer,north,store,1980,{}", imsi("s", 4)),
                // shifted: an unquoted comma in the name of the plan moves msisdn's neighbours
                format!("A5,{PLANT}-MSISDN-5,2024-01-10,,,postpaid,P1,x,consumer,north,store,1980,{}", imsi("s", 5)),
            ],
        ),
    );
    landing.write(
        "billing/dt=2026-11-05/part-0.csv",
        &csv(
            "subscriber_id,bill_month,invoice_id,charge_type,net_amount,currency,imsi",
            &[
                format!("A1,2026-10,I1,recurring,30.00,EUR,{}", imsi("b", 1)),
                format!("A2,2026-10,I2,recurring,10.00,EUR,{}", imsi("b", 2)),
                format!("A1,2026-10,I3,recurring,abc,EUR,{}", imsi("b", 3)),
                format!("ZZ,2026-10,I4,recurring,10.00,EUR,{}", imsi("b", 4)),
            ],
        ),
    );
    let mut cdr = csv(
        "subscriber_id,event_time,event_type,direction,duration_s,volume_bytes,charged_amount,other_party,roaming,imsi",
        &[
            format!("A1,2026-11-20T10:00:00Z,voice,out,120,,,{PLANT}-OTHER-1,false,{}", imsi("c", 1)),
            format!("A2,2026-11-21T10:00:00Z,sms,out,,,,{PLANT}-OTHER-2,false,{}", imsi("c", 2)),
            // a value rule: event_type
            format!("A1,2026-11-21T11:00:00Z,video,out,60,,,{PLANT}-OTHER-3,false,{}", imsi("c", 3)),
            // an unknown subscriber
            format!("ZZ,2026-11-21T11:00:00Z,voice,out,60,,,{PLANT}-OTHER-4,false,{}", imsi("c", 4)),
            // shifted by an unquoted decimal comma: other_party lands under roaming
            format!("A1,2026-11-21T12:00:00Z,voice,out,60,,0,25,{PLANT}-OTHER-5,false,{}", imsi("c", 5)),
        ],
    )
    .into_bytes();
    // invalid UTF-8 in a row that carries other_party
    cdr.extend_from_slice(format!("A1,2026-11-21T13:00:00Z,voice,out,60,,,{PLANT}-OTHER-6\u{0},false,").as_bytes());
    cdr.extend_from_slice(b"\xff\xfe\n");
    landing.write_bytes("cdr/dt=2026-11-22/part-0.csv", &cdr);
    landing.write(
        "recharges/dt=2026-11-20/part-0.ndjson",
        &[
            format!(r#"{{"subscriber_id":"A2","recharge_time":"2026-11-20T10:00:00Z","amount":"5.00","channel":"app","imsi":"{}"}}"#, imsi("r", 1)),
            format!(r#"{{"subscriber_id":"A2","recharge_time":"2026-11-20T11:00:00Z","amount":"-5.00","channel":"app","imsi":"{}"}}"#, imsi("r", 2)),
            // not JSON: its text may hold anything
            format!(r#"{{"subscriber_id":"A2","msisdn":"{PLANT}-MSISDN-9","imsi":"{}""#, imsi("r", 3)),
        ]
        .join("\n"),
    );
    landing
}

#[test]
fn planted_personal_values_reach_no_table_log_or_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), "[rejects]\nmax_rate = 0.9\n[sources.recharges]\nformat = \"ndjson\"\n");
    let warehouse = dir.path().join("warehouse");
    let landing = planted_landing();
    let scratch = dir.path().join("scratch");
    let out = cvm()
        .env("CVM_KEEP_SCRATCH", &scratch)
        .arg("run")
        .arg(&job)
        .args(["--as-of", AS_OF, "--verbose"])
        .arg("--warehouse")
        .arg(&warehouse)
        .arg("--input-root")
        .arg(landing.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    // every reject path was taken
    let rules = query_csv(&warehouse, "SELECT DISTINCT source || ':' || rule AS r FROM rejects ORDER BY r");
    for rule in [
        "subscribers:plan_type_invalid",
        "subscribers:field_count_mismatch",
        "billing:net_amount_invalid",
        "billing:unknown_subscriber",
        "cdr:event_type_invalid",
        "cdr:unknown_subscriber",
        "cdr:field_count_mismatch",
        "cdr:invalid_utf8",
        "recharges:amount_invalid",
        "recharges:invalid_json",
    ] {
        assert!(rules.contains(rule), "no {rule} reject: {rules}");
    }

    let mut seen = vec![("stdout".to_string(), String::from_utf8_lossy(&out.stdout).into_owned())];
    seen.push(("stderr".to_string(), stderr.into_owned()));
    for (table, rows) in published_rows(&warehouse) {
        seen.push((format!("table {table}"), rows.join("\n")));
    }
    for (path, bytes) in snapshot_files(&warehouse) {
        seen.push((path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
    }
    for (place, text) in &seen {
        assert!(!text.contains(PLANT), "personal data in {place}: {}", excerpt(text));
    }

    // the job drops msisdn ([exports] msisdn's default), so the staged subscribers do not
    // carry it either: it is never read
    let staged = std::fs::File::open(scratch.join("stg_subscribers.parquet")).unwrap();
    let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(staged, 1024).unwrap();
    let mut lines = 0;
    for batch in reader {
        let batch = batch.unwrap();
        let msisdn = batch.column_by_name("msisdn").expect("stg_subscribers has its msisdn column");
        assert_eq!(msisdn.null_count(), batch.num_rows(), "msisdn staged although the job drops it");
        lines += batch.num_rows();
    }
    assert!(lines > 0);
}

fn excerpt(text: &str) -> &str {
    let at = text.find(PLANT).unwrap_or(0);
    let start = text[..at].char_indices().rev().nth(120).map_or(0, |(i, _)| i);
    let end = text[at..].char_indices().nth(120).map_or(text.len(), |(i, _)| at + i);
    &text[start..end]
}
