//! The SQL functions cvm adds to DataFusion: lenient date and timestamp
//! parsing that returns null instead of failing the query, so the staging
//! SQL can route unparseable values to rejects, and a stable hash for
//! deterministic samples.
//!
//! - `cvm_to_date(text, format)` -> DATE (a DATE is checked as it is)
//! - `cvm_to_timestamp(text, format, time_zone)` -> TIMESTAMP(us, UTC) (a
//!   TIMESTAMP is converted: one without a zone is a wall time in `time_zone`)
//! - the value checks of [`checks`]: `cvm_whole`, `cvm_money`, `cvm_month`,
//!   `cvm_raw_record`
//! - `cvm_utc_date(instant)` -> DATE: the UTC day of a staged timestamp, what
//!   `CAST(instant AS DATE)` gives, by integer division (see [`utc_date`])
//! - `cvm_hash_unit(text, seed)` -> DOUBLE in [0, 1), the same for the same
//!   text and seed on every machine and version (FNV-1a, then a 64-bit mix)
//! - `cvm_number_bit(number)` -> BIGINT with one of 64 bits set, and
//!   `cvm_sketch_count(bits)` -> BIGINT: distinct numbers called, counted
//!   from a `BIT_OR` of their bits without the numbers (see [`number_sketch`])
//! - `cvm_bgnbd_expected(t, x, t_x, age, r, alpha, a, b)` -> DOUBLE: BG/NBD's
//!   expected transactions in the next `t` time units (a hypergeometric
//!   series, which plain SQL cannot express); see `models::bgnbd`
//! - `cvm_known_subscriber(subscriber_id)` -> BOOLEAN: whether the id is one
//!   of the run's staged subscribers (the subscriber rule); see
//!   [`known_subscriber`]
//! - `cvm_churn_score(model, features...)` -> STRUCT(churn_risk, churn_drivers):
//!   a fitted churn model (its JSON, bound by the run) applied to a line's
//!   features; see [`churn_score`]
//! - `cvm_distinct_count(value)` -> BIGINT, an aggregate: `COUNT(DISTINCT value)`
//!   for a DATE or INT column, faster where most values are distinct per
//!   group; see [`distinct_count`]
//!
//! `format` is a chrono format or `iso`. For `iso`, dates are `YYYY-MM-DD` and
//! timestamps are ISO 8601 / RFC 3339 with `T` or a space, optional
//! fractional seconds and an optional offset (`Z`, `+02:00`, `+0200`).
//! A timestamp without an offset is read in `time_zone` (an IANA name); a
//! local time that does not exist there (a DST gap) is null, an ambiguous one
//! takes the earlier instant.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarFunctionArgs, ScalarUDF};

mod bgnbd_expected;
mod checks;
mod churn_score;
mod dates;
mod distinct_count;
mod hash_unit;
pub mod known_subscriber;
mod number_sketch;
mod utc_date;

use dates::{EPOCH, iso_month_start};
pub use dates::{PLAUSIBLE_YEARS, parse_date, parse_timestamp};
pub use hash_unit::hash_unit;
pub use number_sketch::{number_bit, sketch_count};

/// Registers cvm's functions on a session (or any function registry).
pub fn register(registry: &mut dyn FunctionRegistry) -> Result<()> {
    registry.register_udf(Arc::new(ScalarUDF::from(dates::ToDate::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(dates::ToTimestamp::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(hash_unit::HashUnit::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(bgnbd_expected::BgNbdExpected::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(churn_score::ChurnScore::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(checks::Whole::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(checks::Money::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(checks::Month::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(checks::RawRecord::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(utc_date::UtcDate::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(number_sketch::NumberBit::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(number_sketch::SketchCount::new())))?;
    registry.register_udf(Arc::new(ScalarUDF::from(known_subscriber::KnownSubscriber::unbound())))?;
    registry.register_udaf(Arc::new(AggregateUDF::from(distinct_count::DistinctCount::new())))?;
    Ok(())
}

/// The argument at `i` as one string per row.
pub(super) fn strings(args: &ScalarFunctionArgs, i: usize) -> Result<ArrayRef> {
    let array = args.args[i].to_array(args.number_rows)?;
    match array.data_type() {
        DataType::Utf8 => Ok(array),
        DataType::Null | DataType::LargeUtf8 | DataType::Utf8View => {
            Ok(datafusion::arrow::compute::cast(&array, &DataType::Utf8)?)
        }
        other => exec_err!("expected text, got {other}"),
    }
}
