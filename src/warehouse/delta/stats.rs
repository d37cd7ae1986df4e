//! File statistics for an add action, from the Parquet footer the engine
//! wrote: row count, and per column the minimum, maximum and null count
//! that readers (Spark, Trino, delta-rs, DuckDB) use to skip files.
//!
//! Bounds must hold for every value in the file, so a bound that cannot be
//! written exactly is widened or left out: a decimal becomes the nearest
//! double below (minimum) or above (maximum) it; a NaN, a boolean or a
//! binary value has no bound.

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::ScalarValue;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::file::metadata::ParquetMetaData;
use serde_json::{Map, Number, Value};

/// The `stats` JSON of a file's add action.
pub fn stats_json(metadata: &ParquetMetaData, schema: &Schema) -> String {
    let row_groups = metadata.row_groups();
    let mut mins = Map::new();
    let mut maxes = Map::new();
    let mut nulls = Map::new();
    for field in schema.fields() {
        let Ok(converter) = StatisticsConverter::try_new(field.name(), schema, metadata.file_metadata().schema_descr())
        else {
            continue;
        };
        if let Ok(counts) = converter.row_group_null_counts(row_groups.iter()) {
            // a row group without a count leaves the file's count unknown
            if datafusion::arrow::array::Array::null_count(&counts) == 0 {
                nulls.insert(field.name().clone(), Value::from(counts.values().iter().sum::<u64>()));
            }
        }
        let bound = |values: datafusion::common::Result<_>, lowest: bool| -> Option<Value> {
            let array = values.ok()?;
            let mut best: Option<ScalarValue> = None;
            for i in 0..row_groups.len() {
                // one row group without a bound leaves the file without one
                let value = ScalarValue::try_from_array(&array, i).ok().filter(|v| !v.is_null())?;
                let better = best.as_ref().is_none_or(|b| {
                    let order = value.partial_cmp(b);
                    if lowest {
                        order == Some(std::cmp::Ordering::Less)
                    } else {
                        order == Some(std::cmp::Ordering::Greater)
                    }
                });
                if better {
                    best = Some(value);
                }
            }
            json_bound(&best?, lowest)
        };
        if !row_groups.is_empty() {
            let min = bound(converter.row_group_mins(row_groups.iter()).map_err(Into::into), true);
            let max = bound(converter.row_group_maxes(row_groups.iter()).map_err(Into::into), false);
            if let (Some(min), Some(max)) = (min, max) {
                mins.insert(field.name().clone(), min);
                maxes.insert(field.name().clone(), max);
            }
        }
    }
    let stats = serde_json::json!({
        "numRecords": metadata.file_metadata().num_rows(),
        "minValues": mins,
        "maxValues": maxes,
        "nullCount": nulls,
    });
    stats.to_string()
}

/// A bound as the protocol writes it (dates as `YYYY-MM-DD`, numbers as
/// JSON numbers), widened where the exact value cannot be written.
fn json_bound(value: &ScalarValue, lowest: bool) -> Option<Value> {
    let widen = |x: f64| if lowest { x.next_down() } else { x.next_up() };
    match value {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            Some(Value::from(s.clone()))
        }
        ScalarValue::Int8(Some(v)) => Some(Value::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(Value::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(Value::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(Value::from(*v)),
        ScalarValue::Float32(Some(v)) => Number::from_f64(f64::from(*v)).map(Value::Number),
        ScalarValue::Float64(Some(v)) => Number::from_f64(*v).map(Value::Number),
        ScalarValue::Date32(Some(days)) => {
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(*days + 719_163)?;
            Some(Value::from(date.format("%Y-%m-%d").to_string()))
        }
        ScalarValue::Decimal128(Some(v), _, scale) => {
            let exact = *v as f64 / 10f64.powi(i32::from(*scale));
            Number::from_f64(widen(exact)).map(Value::Number)
        }
        _ => None,
    }
    .filter(|_| !matches!(value.data_type(), DataType::Boolean))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use datafusion::arrow::array::{Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::Field;
    use object_store::memory::InMemory;
    use object_store::path::Path;
    use object_store::{ObjectStore, ObjectStoreExt};

    #[tokio::test]
    async fn stats_bound_every_value_of_the_file() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("n", DataType::Int64, true),
            Field::new("money", DataType::Decimal128(18, 4), true),
            Field::new("day", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["b", "a", "c"])),
                Arc::new(Int64Array::from(vec![Some(5), None, Some(-2)])),
                Arc::new(
                    Decimal128Array::from(vec![Some(12_3401), Some(-1), None]).with_precision_and_scale(18, 4).unwrap(),
                ),
                Arc::new(Date32Array::from(vec![Some(20_414), Some(20_415), Some(20_414)])),
            ],
        )
        .unwrap();
        let bytes = crate::warehouse::tables::parquet_bytes(schema.clone(), &[batch]).unwrap();
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let path = Path::from("t/f.parquet");
        store.put(&path, bytes.clone().into()).await.unwrap();
        let footer = crate::warehouse::tables::read_footer(&store, &path, bytes.len() as u64).await.unwrap();
        let stats: Value =
            serde_json::from_str(&stats_json(&footer, &crate::warehouse::tables::footer_schema(&footer).unwrap()))
                .unwrap();
        assert_eq!(stats["numRecords"], 3);
        assert_eq!((stats["minValues"]["id"].as_str(), stats["maxValues"]["id"].as_str()), (Some("a"), Some("c")));
        assert_eq!((stats["minValues"]["n"].as_i64(), stats["maxValues"]["n"].as_i64()), (Some(-2), Some(5)));
        assert_eq!(stats["nullCount"]["n"], 1);
        assert_eq!(stats["minValues"]["day"], "2025-11-22");
        assert_eq!(stats["maxValues"]["day"], "2025-11-23");
        let (lo, hi) = (stats["minValues"]["money"].as_f64().unwrap(), stats["maxValues"]["money"].as_f64().unwrap());
        assert!(lo <= -0.0001 && lo > -0.00011, "{lo}");
        assert!((12.3401..12.34011).contains(&hi), "{hi}");
    }
}
