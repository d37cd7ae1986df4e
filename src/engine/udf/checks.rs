//! The staging SQL's value checks as vectorised functions. Each takes a
//! column as the raw table carries it, text (CSV, NDJSON, an untyped
//! Parquet column) or the contract's own type (a typed Parquet column, see
//! [`crate::contract::Value::accepts`]), and returns the typed value or
//! null when the value breaks the rule. A typed column is never turned into
//! text and parsed again.
//!
//! - `cvm_whole(value, max_digits)` -> BIGINT: a whole number >= 0 of at
//!   most `max_digits` digits (text: digits only)
//! - `cvm_money(value)` -> DECIMAL(18, 4): text `[+-]digits[.digits]` with at
//!   most 14 digits before the point and 4 after; a decimal or an integer
//!   whose value fits the same bounds
//! - `cvm_month(value, date_format)` -> DATE, the month's first day: text
//!   `YYYY-MM`, or a date in the source's format; a date
//! - `cvm_raw_record(named_struct('name', value, ...))` -> TEXT: a rejected
//!   row's record as a JSON object of the named values (text as read, typed
//!   values as text); a personal column's name is refused, so no staging file
//!   can put one there

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, Decimal128Array, Int64Array, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::{EPOCH, PLAUSIBLE_YEARS};

/// Money once staged: DECIMAL(18, 4).
pub const MONEY_SCALE: i8 = 4;
const MONEY_PRECISION: u8 = 18;
/// Digits before the decimal point an amount may have.
const MONEY_WHOLE_DIGITS: u32 = 14;

/// A whole number >= 0 of 1 to `max_digits` ASCII digits.
pub fn parse_whole(text: &str, max_digits: usize) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > max_digits.min(18) || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

/// An amount `[+-]d{1,14}(.d{1,4})?` in ten-thousandths.
pub fn parse_money(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) if !f.is_empty() && f.len() <= MONEY_SCALE as usize => (w, f),
        Some(_) => return None,
        None => (digits, ""),
    };
    if whole.is_empty() || whole.len() > MONEY_WHOLE_DIGITS as usize {
        return None;
    }
    if !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value: i128 = 0;
    for d in whole.bytes() {
        value = value * 10 + i128::from(d - b'0');
    }
    for i in 0..MONEY_SCALE as usize {
        value = value * 10 + fraction.as_bytes().get(i).map_or(0, |d| i128::from(d - b'0'));
    }
    Some(if negative { -value } else { value })
}

/// A decimal of `scale` as ten-thousandths, when it has no finer part and
/// fits the money bounds.
fn money_from_decimal(value: i128, scale: i8) -> Option<i128> {
    let shift = i32::from(MONEY_SCALE) - i32::from(scale);
    let scaled = if shift >= 0 {
        value.checked_mul(10i128.checked_pow(shift as u32)?)?
    } else {
        let divisor = 10i128.checked_pow((-shift) as u32)?;
        if value % divisor != 0 {
            return None; // finer than a ten-thousandth, as text with 5 decimals is
        }
        value / divisor
    };
    (scaled.abs() < 10i128.pow(MONEY_WHOLE_DIGITS + MONEY_SCALE as u32)).then_some(scaled)
}

fn arg_array(args: &ScalarFunctionArgs, i: usize) -> Result<ArrayRef> {
    args.args[i].to_array(args.number_rows)
}

/// A literal argument's text (a function's setting, the same on every row).
pub(super) fn literal_text(args: &ScalarFunctionArgs, i: usize, name: &str) -> Result<Option<String>> {
    match &args.args[i] {
        ColumnarValue::Scalar(s) => match s.cast_to(&DataType::Utf8)? {
            ScalarValue::Utf8(text) => Ok(text),
            _ => exec_err!("{name}: argument {} must be text", i + 1),
        },
        ColumnarValue::Array(_) => exec_err!("{name}: argument {} must be a literal", i + 1),
    }
}

fn literal_int(args: &ScalarFunctionArgs, i: usize, name: &str) -> Result<i64> {
    match &args.args[i] {
        ColumnarValue::Scalar(s) => match s.cast_to(&DataType::Int64)? {
            ScalarValue::Int64(Some(n)) => Ok(n),
            _ => exec_err!("{name}: argument {} must be a whole number", i + 1),
        },
        ColumnarValue::Array(_) => exec_err!("{name}: argument {} must be a literal", i + 1),
    }
}

/// Text as one `Utf8` array: other string encodings cast, anything else
/// turned into text (a typed value in a raw record, a type the rule does
/// not read natively). A value that has no text form (a timestamp beyond
/// the calendar) becomes `<out of range: ...>` instead of failing the batch.
pub(super) fn as_text(array: &ArrayRef) -> Result<ArrayRef> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    if array.data_type() == &DataType::Utf8 {
        return Ok(array.clone());
    }
    if let Ok(text) = cast(array, &DataType::Utf8) {
        return Ok(text);
    }
    let options = FormatOptions::default();
    let formatter = ArrayFormatter::try_new(array.as_ref(), &options)?;
    let mut out = StringBuilder::with_capacity(array.len(), array.len() * 16);
    for i in 0..array.len() {
        if array.is_null(i) {
            out.append_null();
        } else {
            match formatter.value(i).try_to_string() {
                Ok(text) => out.append_value(text),
                Err(e) => out.append_value(format!("<out of range: {e}>")),
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Whole {
    signature: Signature,
}

impl Whole {
    pub(super) fn new() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for Whole {
    fn name(&self) -> &str {
        "cvm_whole"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let digits = literal_int(&args, 1, self.name())?.clamp(1, 18) as usize;
        let values = arg_array(&args, 0)?;
        let out: Int64Array = if values.data_type().is_integer() {
            // an unsigned value beyond Int64 casts to null: it has more than 18 digits anyway
            let limit = 10i64.pow(digits as u32);
            let whole = cast(&values, &DataType::Int64)?;
            whole.as_primitive::<Int64Type>().iter().map(|v| v.filter(|v| (0..limit).contains(v))).collect()
        } else {
            let text = as_text(&values)?;
            text.as_string::<i32>().iter().map(|v| v.and_then(|v| parse_whole(v, digits))).collect()
        };
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Money {
    signature: Signature,
}

impl Money {
    pub(super) fn new() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for Money {
    fn name(&self) -> &str {
        "cvm_money"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let values = arg_array(&args, 0)?;
        let out: Decimal128Array = match values.data_type() {
            DataType::Decimal128(_, scale) => {
                let scale = *scale;
                values
                    .as_primitive::<Decimal128Type>()
                    .iter()
                    .map(|v| v.and_then(|v| money_from_decimal(v, scale)))
                    .collect()
            }
            t if t.is_integer() => {
                let wide = cast(&values, &DataType::Decimal128(38, 0))?;
                wide.as_primitive::<Decimal128Type>().iter().map(|v| v.and_then(|v| money_from_decimal(v, 0))).collect()
            }
            _ => {
                let text = as_text(&values)?;
                text.as_string::<i32>().iter().map(|v| v.and_then(parse_money)).collect()
            }
        };
        let out = out.with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Month {
    signature: Signature,
}

impl Month {
    pub(super) fn new() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

/// The first day of a `YYYY-MM` month, or of the month of a date in `format`.
pub fn parse_month(text: &str, format: &str) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    let date = match super::iso_month_start(text.as_bytes()) {
        Some(month_start) => month_start?,
        None => super::parse_date(text, format)?,
    };
    date.with_day(1)
}

impl ScalarUDFImpl for Month {
    fn name(&self) -> &str {
        "cvm_month"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use chrono::Datelike;
        let format = literal_text(&args, 1, self.name())?;
        let values = arg_array(&args, 0)?;
        let day_number = |d: chrono::NaiveDate| (d - EPOCH).num_days() as i32;
        let out: Date32Array = if values.data_type() == &DataType::Date32 {
            values
                .as_primitive::<datafusion::arrow::datatypes::Date32Type>()
                .iter()
                .map(|v| {
                    let date = EPOCH + chrono::Duration::days(i64::from(v?));
                    let first = date.with_day(1).filter(|_| PLAUSIBLE_YEARS.contains(&date.year()))?;
                    Some(day_number(first))
                })
                .collect()
        } else {
            let Some(format) = format else { return Ok(ColumnarValue::Scalar(ScalarValue::Date32(None))) };
            let text = as_text(&values)?;
            text.as_string::<i32>().iter().map(|v| v.and_then(|v| parse_month(v, &format)).map(day_number)).collect()
        };
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct RawRecord {
    signature: Signature,
}

impl RawRecord {
    pub(super) fn new() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for RawRecord {
    fn name(&self) -> &str {
        "cvm_raw_record"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let record = arg_array(&args, 0)?;
        let Some(record) = record.as_struct_opt() else {
            return exec_err!("cvm_raw_record: takes named_struct('column', value, ...), not {}", record.data_type());
        };
        let mut names = Vec::new();
        let mut values = Vec::new();
        for (field, column) in record.fields().iter().zip(record.columns()) {
            if crate::contract::is_personal(field.name()) {
                return exec_err!(
                    "cvm_raw_record: '{}' is personal data and never goes into a raw record",
                    field.name()
                );
            }
            names.push(field.name().as_str());
            values.push(as_text(column)?);
        }
        let mut out = StringBuilder::with_capacity(args.number_rows, args.number_rows * 64);
        let mut text = String::new();
        for row in 0..args.number_rows {
            text.clear();
            text.push('{');
            for (k, (name, column)) in names.iter().zip(&values).enumerate() {
                if k > 0 {
                    text.push(',');
                }
                push_json_string(&mut text, name);
                text.push(':');
                let column = column.as_string::<i32>();
                if column.is_null(row) {
                    text.push_str("null");
                } else {
                    push_json_string(&mut text, column.value(row));
                }
            }
            text.push('}');
            out.append_value(&text);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Appends `text` as a JSON string, escaped the way serde_json escapes it.
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = std::fmt::Write::write_fmt(out, format_args!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_digits_only_within_their_length() {
        assert_eq!(parse_whole("0", 15), Some(0));
        assert_eq!(parse_whole("123456789012345", 15), Some(123456789012345));
        for bad in ["", "1234567890123456", "-1", "+1", "1.0", "1e3", " 1", "١"] {
            assert_eq!(parse_whole(bad, 15), None, "{bad:?}");
        }
    }

    #[test]
    fn money_follows_the_text_rule_exactly() {
        assert_eq!(parse_money("12.5"), Some(125_000));
        assert_eq!(parse_money("-0.0001"), Some(-1));
        assert_eq!(parse_money("+99999999999999.9999"), Some(999_999_999_999_999_999));
        for bad in ["", "-", ".5", "5.", "1.23456", "123456789012345", "1,5", "1e3", "NaN", "inf", "--1"] {
            assert_eq!(parse_money(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn typed_money_must_fit_the_same_bounds() {
        assert_eq!(money_from_decimal(1234, 2), Some(123_400));
        assert_eq!(money_from_decimal(123_450_000, 8), Some(12_345));
        assert_eq!(money_from_decimal(123_456_789, 8), None, "finer than 4 decimals");
        assert_eq!(money_from_decimal(10i128.pow(14), 0), None, "15 digits before the point");
        assert_eq!(money_from_decimal(-(10i128.pow(14) - 1), 0), Some(-(10i128.pow(18) - 10i128.pow(4))));
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        for text in ["plain", "quote \" and \\ backslash", "new\nline\ttab\r", "\u{1}\u{8}\u{c}\u{1f}", "é ü 中"] {
            let mut out = String::new();
            push_json_string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn months_are_yyyy_mm_or_a_date_in_the_format() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(parse_month("2026-11", "iso"), Some(d("2026-11-01")));
        assert_eq!(parse_month("2026-11-23", "iso"), Some(d("2026-11-01")));
        assert_eq!(parse_month("23/11/2026", "%d/%m/%Y"), Some(d("2026-11-01")));
        assert_eq!(parse_month("2026-13", "iso"), None);
        assert_eq!(parse_month("0026-11", "iso"), None);
    }
}
