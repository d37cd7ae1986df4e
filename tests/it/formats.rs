//! Extracts in Parquet and NDJSON, with a column mapping and custom date
//! formats, give the same customer_value as the CSV landing.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Decimal128Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::support::*;

/// The billing of the standard test landing as Parquet, amounts as Decimal128(10,2).
pub fn billing_parquet() -> Vec<u8> {
    let (_, rows) = parse_csv(BILLING);
    let col =
        |i: usize| -> ArrayRef { Arc::new(StringArray::from(rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>())) };
    let amounts = Decimal128Array::from(
        rows.iter().map(|r| (r[4].parse::<f64>().unwrap() * 100.0).round() as i128).collect::<Vec<_>>(),
    )
    .with_precision_and_scale(10, 2)
    .unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("subscriber_id", DataType::Utf8, false),
        Field::new("bill_month", DataType::Utf8, false),
        Field::new("invoice_id", DataType::Utf8, true),
        Field::new("charge_type", DataType::Utf8, true),
        Field::new("net_amount", DataType::Decimal128(10, 2), false),
        Field::new("currency", DataType::Utf8, true),
    ]));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![col(0), col(1), col(2), col(3), Arc::new(amounts), col(5)]).unwrap();
    let mut buf = Vec::new();
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(&mut buf, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    buf
}

const COLUMNS: &str =
    "subscriber_id, is_active, tenure_days, revenue_3m, arpu_3m, recency_days, mou_30d, data_mb_30d, sms_30d";

fn customer_value(landing: &Landing, job_extra: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), job_extra);
    let warehouse = dir.path().join("warehouse");
    let out = run_job(&job, Some(landing.path()), &warehouse);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    query_csv(&warehouse, &format!("SELECT {COLUMNS} FROM customer_value ORDER BY subscriber_id"))
}

#[test]
fn parquet_ndjson_and_mapped_csv_read_like_the_contract_csv() {
    let reference = customer_value(&Landing::new(), "");
    assert!(reference.contains("A1,true,1047,90.0000,30.0000,1,2.0,1.0,0"), "{reference}");

    let landing = Landing::new();
    // billing as Parquet with typed amounts
    std::fs::remove_dir_all(landing.path().join("billing")).unwrap();
    landing.write_bytes("billing/dt=2026-11-05/part-0.parquet", &billing_parquet());
    // cdr as gzip-free NDJSON with numbers as JSON numbers
    std::fs::remove_dir_all(landing.path().join("cdr")).unwrap();
    landing.write(
        "cdr/dt=2026-11-22/events.json",
        r#"{"subscriber_id":"A1","event_time":"2026-11-20T10:00:00Z","event_type":"voice","direction":"out","duration_s":120,"other_party":"+339999"}
{"subscriber_id":"A1","event_time":"2026-11-21T10:00:00Z","event_type":"data","duration_s":60,"volume_bytes":1048576}
{"subscriber_id":"A2","event_time":"2026-11-22T10:00:00Z","event_type":"sms","roaming":false}
"#,
    );
    // subscribers with the operator's own column names, ';' and day-first dates
    std::fs::remove_dir_all(landing.path().join("subscribers")).unwrap();
    landing.write(
        "subscribers/export.csv",
        "SUBS_ID;ACT_DT;END_DT;PLAN\nA1;10/01/2024;;postpaid\nA2;01/05/2025;;prepaid\nA3;03/03/2023;01/10/2026;postpaid\n",
    );
    let extra = r#"
[sources.billing]
format = "parquet"

[sources.cdr]
format = "ndjson"

[sources.subscribers]
path = "subscribers/export.csv"
delimiter = ";"
date_format = "%d/%m/%Y"

[sources.subscribers.columns]
subscriber_id = "SUBS_ID"
activation_date = "ACT_DT"
deactivation_date = "END_DT"
plan_type = "PLAN"
"#;
    assert_eq!(customer_value(&landing, extra), reference);
}

#[test]
fn gzip_and_zstd_csv_read_like_plain_csv() {
    let reference = customer_value(&Landing::new(), "");
    let landing = Landing::new();
    let cdr = landing.path().join("cdr/dt=2026-11-22/part-0.csv");
    let text = std::fs::read(&cdr).unwrap();
    std::fs::remove_file(&cdr).unwrap();
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&text).unwrap();
        e.finish().unwrap()
    };
    landing.write_bytes("cdr/dt=2026-11-22/part-0.csv.gz", &gz);
    let bill = landing.path().join("billing/dt=2026-11-05/part-0.csv");
    let text = std::fs::read(&bill).unwrap();
    std::fs::remove_file(&bill).unwrap();
    landing.write_bytes("billing/dt=2026-11-05/part-0.csv.zst", &zstd::encode_all(&text[..], 3).unwrap());
    assert_eq!(customer_value(&landing, ""), reference);
}
