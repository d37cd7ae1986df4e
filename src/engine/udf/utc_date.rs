//! `cvm_utc_date(instant)` -> DATE: the UTC calendar day of a timestamp.
//!
//! What `CAST(instant AS DATE)` gives for a staged (UTC) timestamp, by integer
//! division. Arrow's cast of a timestamp with a zone goes through chrono's
//! time-zone machinery for every value; on the CDR, tens of millions of
//! rows a night, that was a tenth of the usage step.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, PrimitiveArray};
use datafusion::arrow::datatypes::{
    ArrowTimestampType, DataType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::arrow::error::ArrowError;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct UtcDate {
    signature: Signature,
}

impl UtcDate {
    pub(super) fn new() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

/// Whether a timestamp's zone is UTC (or none: a staged wall time is UTC).
fn is_utc(zone: Option<&str>) -> bool {
    matches!(zone, None | Some("UTC" | "utc" | "Z" | "+00:00" | "+0000" | "Etc/UTC"))
}

/// The day number since the epoch of each value, `per_day` units a day.
fn days<T: ArrowTimestampType>(values: &ArrayRef, per_day: i64) -> Result<ArrayRef> {
    let values: &PrimitiveArray<T> = values.as_primitive::<T>();
    let days: Date32Array = values.try_unary(|v| {
        i32::try_from(v.div_euclid(per_day))
            .map_err(|_| ArrowError::ComputeError(format!("cvm_utc_date: {v} is beyond the dates a DATE can hold")))
    })?;
    Ok(Arc::new(days))
}

impl ScalarUDFImpl for UtcDate {
    fn name(&self) -> &str {
        "cvm_utc_date"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match &args[0] {
            DataType::Timestamp(_, zone) if is_utc(zone.as_deref()) => Ok(DataType::Date32),
            DataType::Timestamp(_, Some(zone)) => {
                plan_err!("cvm_utc_date: takes a UTC timestamp, not one in {zone}")
            }
            DataType::Null => Ok(DataType::Date32),
            other => plan_err!("cvm_utc_date: takes a timestamp, not {other}"),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let values = args.args[0].to_array(args.number_rows)?;
        let days = match values.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => days::<TimestampSecondType>(&values, 86_400)?,
            DataType::Timestamp(TimeUnit::Millisecond, _) => days::<TimestampMillisecondType>(&values, 86_400_000)?,
            DataType::Timestamp(TimeUnit::Microsecond, _) => days::<TimestampMicrosecondType>(&values, 86_400_000_000)?,
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                days::<TimestampNanosecondType>(&values, 86_400_000_000_000)?
            }
            DataType::Null => Arc::new(Date32Array::new_null(values.len())),
            other => return exec_err!("cvm_utc_date: takes a timestamp, not {other}"),
        };
        Ok(if scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&days, 0)?)
        } else {
            ColumnarValue::Array(days)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::TimestampMicrosecondArray;
    use datafusion::arrow::compute::cast;

    #[test]
    fn gives_what_a_cast_gives_on_every_side_of_midnight_and_the_epoch() {
        let day = 86_400_000_000_i64;
        let instants = vec![
            Some(0),
            Some(-1),
            Some(day - 1),
            Some(day),
            Some(-day),
            Some(-day - 1),
            Some(1_764_000_000_123_456),
            None,
            Some(-2_208_988_800_000_000), // 1900-01-01
            Some(7_258_118_399_999_999),  // 2199-12-31 23:59:59.999999
        ];
        let values: ArrayRef = Arc::new(TimestampMicrosecondArray::from(instants).with_timezone("UTC"));
        let ours = days::<TimestampMicrosecondType>(&values, day).unwrap();
        let cast = cast(&values, &DataType::Date32).unwrap();
        assert_eq!(ours.as_ref(), cast.as_ref());
    }

    #[test]
    fn refuses_a_zone_other_than_utc() {
        let f = UtcDate::new();
        let paris = DataType::Timestamp(TimeUnit::Microsecond, Some("Europe/Paris".into()));
        assert!(f.return_type(&[paris]).is_err());
        let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(f.return_type(&[utc]).unwrap(), DataType::Date32);
        assert!(f.return_type(&[DataType::Utf8]).is_err());
    }
}
