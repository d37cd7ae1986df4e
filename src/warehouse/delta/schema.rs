//! A table's Arrow schema as Delta's `schemaString` (Spark's StructType in
//! JSON), and the types of its partition columns, which the data files do
//! not hold (they are in the folder names and in each add action).

use datafusion::arrow::datatypes::{DataType, Schema, TimeUnit};
use serde_json::{Value, json};

/// The Delta type name of an Arrow type cvm writes.
fn delta_type(data_type: &DataType) -> Result<String, String> {
    let name = match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string",
        DataType::Int64 => "long",
        DataType::Int32 => "integer",
        DataType::Int16 => "short",
        DataType::Int8 => "byte",
        DataType::Float64 => "double",
        DataType::Float32 => "float",
        DataType::Boolean => "boolean",
        DataType::Date32 => "date",
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary",
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.eq_ignore_ascii_case("utc") => "timestamp",
        DataType::Decimal128(precision, scale) if *precision <= 38 => {
            return Ok(format!("decimal({precision},{scale})"));
        }
        other => return Err(format!("no Delta Lake type for {other}")),
    };
    Ok(name.to_string())
}

/// The schema string of a table whose files hold `file_schema` and whose
/// folders hold `partition_columns` (appended, as Spark and delta-rs do).
pub fn schema_string(file_schema: &Schema, partition_columns: &[String]) -> Result<String, String> {
    let mut fields: Vec<Value> = Vec::new();
    for field in file_schema.fields() {
        let kind = delta_type(field.data_type()).map_err(|e| format!("column {}: {e}", field.name()))?;
        fields.push(json!({"name": field.name(), "type": kind, "nullable": field.is_nullable(), "metadata": {}}));
    }
    for column in partition_columns {
        fields.push(json!({"name": column, "type": delta_type(&crate::warehouse::tables::partition_type(column))?, "nullable": true, "metadata": {}}));
    }
    Ok(json!({"type": "struct", "fields": fields}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Field;

    #[test]
    fn cvm_types_map_to_delta_types() {
        let schema = Schema::new(vec![
            Field::new("subscriber_id", DataType::Utf8View, false),
            Field::new("clv", DataType::Decimal128(18, 4), true),
            Field::new("tenure_days", DataType::Int32, true),
            Field::new("month", DataType::Date32, true),
        ]);
        let text = schema_string(&schema, &["snapshot_date".into(), "campaign".into()]).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let types: Vec<(&str, &str)> = parsed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["name"].as_str().unwrap(), f["type"].as_str().unwrap()))
            .collect();
        assert_eq!(
            types,
            vec![
                ("subscriber_id", "string"),
                ("clv", "decimal(18,4)"),
                ("tenure_days", "integer"),
                ("month", "date"),
                ("snapshot_date", "date"),
                ("campaign", "string"),
            ]
        );
        assert_eq!(parsed["fields"][0]["nullable"], false);
        let odd = Schema::new(vec![Field::new("t", DataType::Timestamp(TimeUnit::Nanosecond, None), true)]);
        assert!(schema_string(&odd, &[]).unwrap_err().contains("column t"));
    }
}
