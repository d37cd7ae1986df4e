//! Lenient date and timestamp parsing: `cvm_to_date` and `cvm_to_timestamp`,
//! which return null for a value they cannot read (staging routes it to
//! rejects), and the parsers behind them that ingest and the generator use.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::{checks, strings};

pub(super) const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");

/// Years an extract's dates may fall in. A date outside (year 0, 9999, a
/// two-digit year read as the first century) is a broken value, not history.
pub const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// Parses a date; `None` when it is not a real date in that format, or not
/// within [`PLAUSIBLE_YEARS`].
pub fn parse_date(text: &str, format: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if format == "iso"
        && let Some((year, month, day)) = iso_date_digits(text.as_bytes())
    {
        return plausible_date(year, month, day);
    }
    let format = if format == "iso" { "%Y-%m-%d" } else { format };
    NaiveDate::parse_from_str(text, format).ok().filter(|d| PLAUSIBLE_YEARS.contains(&d.year()))
}

/// The numbers of a `YYYY-MM-DD` in ASCII digits, which chrono's `%Y-%m-%d`
/// reads as exactly these, so the caller need not ask it; `None` for any
/// other shape, left to chrono (it also takes a one-digit month or day, or a
/// sign).
fn iso_date_digits(b: &[u8]) -> Option<(i32, u32, u32)> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    Some((ascii_number(&b[0..4])? as i32, ascii_number(&b[5..7])?, ascii_number(&b[8..10])?))
}

/// The number a run of ASCII digits spells (a few digits: no overflow);
/// `None` if any byte is not a digit.
fn ascii_number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
}

/// The first day of a `YYYY-MM` month in ASCII digits: `Some(None)` when
/// that month is not real or plausible, `None` when the text has another shape.
pub(super) fn iso_month_start(b: &[u8]) -> Option<Option<NaiveDate>> {
    if b.len() != 7 || b[4] != b'-' {
        return None;
    }
    let (year, month) = (ascii_number(&b[0..4])?, ascii_number(&b[5..7])?);
    Some(plausible_date(year as i32, month, 1))
}

/// A real date within [`PLAUSIBLE_YEARS`], or `None`.
fn plausible_date(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day).filter(|d| PLAUSIBLE_YEARS.contains(&d.year()))
}

const ISO_WITH_OFFSET: &[&str] =
    &["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"];
const ISO_NAIVE: &[&str] = &["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];

/// Parses a timestamp to microseconds since the epoch, UTC.
pub fn parse_timestamp(text: &str, format: &str, zone: &chrono_tz::Tz) -> Option<i64> {
    let text = text.trim();
    if format == "iso"
        && let Some(micros) = fast_iso_timestamp(text, zone)
    {
        return Some(micros);
    }
    let instant = if format == "iso" {
        chrono_iso_timestamp(text, zone)?
    } else if let Ok(dt) = DateTime::parse_from_str(text, format) {
        dt.to_utc()
    } else {
        let naive = NaiveDateTime::parse_from_str(text, format).ok()?;
        zone.from_local_datetime(&naive).earliest()?.to_utc()
    };
    PLAUSIBLE_YEARS.contains(&instant.year()).then(|| instant.timestamp_micros())
}

/// An ISO timestamp read by chrono, trying each accepted shape: the last
/// word on every text the fast path leaves to it.
fn chrono_iso_timestamp(text: &str, zone: &chrono_tz::Tz) -> Option<DateTime<chrono::Utc>> {
    let with_z = text.strip_suffix(['Z', 'z']).map(|t| format!("{t}+00:00"));
    let offset_text = with_z.as_deref().unwrap_or(text);
    let with_offset = ISO_WITH_OFFSET.iter().find_map(|f| DateTime::parse_from_str(offset_text, f).ok());
    with_offset.map(|dt| dt.to_utc()).or_else(|| {
        let naive = ISO_NAIVE.iter().find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())?;
        zone.from_local_datetime(&naive).earliest().map(|dt| dt.to_utc())
    })
}

/// The common shapes of an ISO timestamp (`YYYY-MM-DD[T ]HH:MM:SS[.f]` with
/// `Z`, `±HH:MM`, `±HHMM` or no offset) read without chrono's format
/// machinery: a CDR extract has tens of millions of them. `None` means
/// "not this shape or not plainly valid": the caller then parses it the slow
/// way, which has the last word, so both ways agree on every text.
fn fast_iso_timestamp(text: &str, zone: &chrono_tz::Tz) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| ascii_number(&b[range]);
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hour > 23 || minute > 59 || second > 59 || !(1901..=2198).contains(&year) {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0u32;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        for i in 0..6 {
            micros = micros * 10 + fraction.get(i).filter(|_| i < digits).map_or(0, |d| u32::from(d - b'0'));
        }
        rest = &fraction[digits..];
    }
    let offset_seconds: Option<i64> = match rest {
        [] => None,
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            Some(if *sign == b'-' { -seconds } else { seconds })
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let local = date.and_hms_micro_opt(hour, minute, second, micros)?;
    let instant = match offset_seconds {
        Some(offset) => local.and_utc().timestamp_micros() - offset * 1_000_000,
        None if *zone == chrono_tz::UTC => local.and_utc().timestamp_micros(),
        None => zone.from_local_datetime(&local).earliest()?.timestamp_micros(),
    };
    Some(instant)
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ToDate {
    signature: Signature,
}

impl ToDate {
    pub(super) fn new() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for ToDate {
    fn name(&self) -> &str {
        "cvm_to_date"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let values = args.args[0].to_array(args.number_rows)?;
        if values.data_type() == &DataType::Date32 {
            // a typed date: only the plausible years are checked
            let dates = values.as_primitive::<datafusion::arrow::datatypes::Date32Type>();
            let out: Date32Array = dates
                .iter()
                .map(|v| {
                    v.filter(|d| PLAUSIBLE_YEARS.contains(&(EPOCH + chrono::Duration::days(i64::from(*d))).year()))
                })
                .collect();
            return Ok(ColumnarValue::Array(Arc::new(out)));
        }
        let text = checks::as_text(&values)?;
        let format = strings(&args, 1)?;
        let (text, format) = (text.as_string::<i32>(), format.as_string::<i32>());
        let out: Date32Array = (0..args.number_rows)
            .map(|i| {
                if text.is_null(i) || format.is_null(i) {
                    return None;
                }
                let date = parse_date(text.value(i), format.value(i))?;
                Some((date - EPOCH).num_days() as i32)
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ToTimestamp {
    signature: Signature,
}

impl ToTimestamp {
    pub(super) fn new() -> Self {
        Self { signature: Signature::any(3, Volatility::Immutable) }
    }
}

/// A typed timestamp column as microseconds since the epoch, UTC: one
/// without a zone holds wall times, read in `zone` as text without an offset is.
fn typed_timestamps(values: &ArrayRef, zone: &chrono_tz::Tz) -> Result<TimestampMicrosecondArray> {
    let DataType::Timestamp(_, value_zone) = values.data_type() else {
        return exec_err!("cvm_to_timestamp: not a timestamp: {}", values.data_type());
    };
    let micros =
        datafusion::arrow::compute::cast(values, &DataType::Timestamp(TimeUnit::Microsecond, value_zone.clone()))?;
    let micros = micros.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
    let wall_time = value_zone.is_none() && *zone != chrono_tz::UTC;
    // PLAUSIBLE_YEARS as instants: 1900-01-01T00:00Z up to 2200-01-01T00:00Z
    let plausible = -2_208_988_800_000_000i64..7_258_118_400_000_000i64;
    let out: TimestampMicrosecondArray = micros
        .iter()
        .map(|v| {
            let v = v?;
            let instant = if wall_time {
                let local = DateTime::from_timestamp_micros(v)?.naive_utc();
                zone.from_local_datetime(&local).earliest()?.timestamp_micros()
            } else {
                v
            };
            plausible.contains(&instant).then_some(instant)
        })
        .collect();
    Ok(out.with_timezone("UTC"))
}

impl ScalarUDFImpl for ToTimestamp {
    fn name(&self) -> &str {
        "cvm_to_timestamp"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let values = args.args[0].to_array(args.number_rows)?;
        if matches!(values.data_type(), DataType::Timestamp(_, _)) {
            let zone = checks::literal_text(&args, 2, self.name())?.unwrap_or_default();
            let Ok(tz) = zone.parse::<chrono_tz::Tz>() else {
                return exec_err!("cvm_to_timestamp: unknown time zone '{zone}'");
            };
            return Ok(ColumnarValue::Array(Arc::new(typed_timestamps(&values, &tz)?)));
        }
        let text = checks::as_text(&values)?;
        let format = strings(&args, 1)?;
        let zone = strings(&args, 2)?;
        let (text, format, zone) = (text.as_string::<i32>(), format.as_string::<i32>(), zone.as_string::<i32>());
        let mut cached: Option<(String, chrono_tz::Tz)> = None;
        let mut out = Vec::with_capacity(args.number_rows);
        for i in 0..args.number_rows {
            if text.is_null(i) || format.is_null(i) || zone.is_null(i) {
                out.push(None);
                continue;
            }
            let name = zone.value(i);
            let tz = match &cached {
                Some((n, tz)) if n == name => *tz,
                _ => {
                    let Ok(tz) = name.parse::<chrono_tz::Tz>() else {
                        return exec_err!("cvm_to_timestamp: unknown time zone '{name}'");
                    };
                    cached = Some((name.to_string(), tz));
                    tz
                }
            };
            out.push(parse_timestamp(text.value(i), format.value(i), &tz));
        }
        let array = TimestampMicrosecondArray::from(out).with_timezone("UTC");
        Ok(ColumnarValue::Array(Arc::new(array)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Option<String> {
        let micros = parse_timestamp(text, "iso", &chrono_tz::UTC)?;
        Some(DateTime::from_timestamp_micros(micros)?.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    }

    #[test]
    fn iso_timestamps_honour_offsets() {
        assert_eq!(utc("2026-11-23T01:30:00+02:00").unwrap(), "2026-11-22T23:30:00.000000Z");
        assert_eq!(utc("2026-11-22T23:30:00-05:00").unwrap(), "2026-11-23T04:30:00.000000Z");
        assert_eq!(utc("2026-10-24T00:30:00Z").unwrap(), "2026-10-24T00:30:00.000000Z");
        assert_eq!(utc("2026-10-24 00:30:00.25+0100").unwrap(), "2026-10-23T23:30:00.250000Z");
        assert_eq!(utc("2026-11-20 10:00:00").unwrap(), "2026-11-20T10:00:00.000000Z");
    }

    #[test]
    fn broken_timestamps_are_none() {
        assert_eq!(utc("2026-11-21 25:00:00"), None);
        assert_eq!(utc("yesterday"), None);
        assert_eq!(utc("2026-02-30T10:00:00Z"), None);
    }

    #[test]
    fn naive_timestamps_use_the_zone() {
        let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        let micros = parse_timestamp("2026-07-01 12:00:00", "iso", &paris).unwrap();
        assert_eq!(DateTime::from_timestamp_micros(micros).unwrap().to_rfc3339(), "2026-07-01T10:00:00+00:00");
        // 02:30 does not exist in Paris on the spring-forward night
        assert_eq!(parse_timestamp("2026-03-29 02:30:00", "iso", &paris), None);
    }

    #[test]
    fn the_fast_iso_path_agrees_with_chrono() {
        let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        let texts = [
            "2026-11-23T01:30:00+02:00",
            "2026-11-23 01:30:00.123456789-0530",
            "2026-11-23T01:30:00.5Z",
            "2026-11-23T01:30:00z",
            "2026-11-20 10:00:00",
            "2026-03-29 02:30:00",
            "2026-10-25 02:30:00",
            "2026-02-29 10:00:00",
            "2028-02-29T23:59:59.999999+00:00",
            "1901-01-01 00:00:00+14:00",
            "2026-11-23T24:00:00Z",
            "2026-11-23T01:30:60Z",
            "2026-11-23T01:30:00+2:00",
            "2026-11-23T01:30:00 +02:00",
            "2026-11-23T01:30:00.Z",
        ];
        for zone in [chrono_tz::UTC, paris] {
            for text in texts {
                let fast = fast_iso_timestamp(text, &zone);
                let chrono_only = chrono_iso_timestamp(text, &zone)
                    .filter(|i| PLAUSIBLE_YEARS.contains(&i.year()))
                    .map(|i| i.timestamp_micros());
                if let Some(fast) = fast {
                    assert_eq!(Some(fast), chrono_only, "{text} in {zone}");
                }
                assert_eq!(parse_timestamp(text, "iso", &zone), chrono_only, "{text} in {zone}");
            }
        }
        assert!(fast_iso_timestamp("2026-11-23T01:30:00+02:00", &chrono_tz::UTC).is_some(), "the common shape is fast");
    }

    #[test]
    fn the_fast_iso_date_path_agrees_with_chrono() {
        let texts = [
            "2026-11-22",
            " 2026-11-22 ",
            "2028-02-29",
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-11-31",
            "1899-12-31",
            "1900-01-01",
            "2199-12-31",
            "2200-01-01",
            "0000-01-01",
            "2026-1-05",
            "2026-11-5",
            "+2026-11-22",
            "2026/11/22",
            "2026-11-2x",
            "20261122",
        ];
        for text in texts {
            let chrono_only =
                NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok().filter(|d| PLAUSIBLE_YEARS.contains(&d.year()));
            assert_eq!(parse_date(text, "iso"), chrono_only, "{text}");
        }
        assert!(iso_date_digits(b"2026-11-22").is_some(), "the common shape is fast");
    }

    #[test]
    fn the_plausible_instants_are_the_plausible_years() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().timestamp_micros();
        assert_eq!(at("1900-01-01T00:00:00Z"), -2_208_988_800_000_000);
        assert_eq!(at("2200-01-01T00:00:00Z"), 7_258_118_400_000_000);
        assert_eq!((PLAUSIBLE_YEARS.start(), PLAUSIBLE_YEARS.end()), (&1900, &2199));
    }

    #[test]
    fn custom_formats() {
        let d = parse_date("22/11/2026", "%d/%m/%Y").unwrap();
        assert_eq!(d.to_string(), "2026-11-22");
        assert_eq!(parse_date("2026-13-01", "iso"), None);
        let micros = parse_timestamp("22/11/2026 10:00", "%d/%m/%Y %H:%M", &chrono_tz::UTC).unwrap();
        assert_eq!(DateTime::from_timestamp_micros(micros).unwrap().to_rfc3339(), "2026-11-22T10:00:00+00:00");
    }
}
