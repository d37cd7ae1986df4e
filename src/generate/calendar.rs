//! Days as plain numbers (days since 1970-01-01) for the generator's inner
//! loops: civil dates, months counted the way cvm counts them, the
//! Central European UTC offset of a day, and fast text for dates and times.

use chrono::{Datelike, NaiveDate};

/// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number.
pub fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i32::from(m <= 2), m, d)
}

pub fn from_date(date: NaiveDate) -> i32 {
    days_from_civil(date.year(), date.month(), date.day())
}

pub fn to_date(day: i32) -> NaiveDate {
    let (y, m, d) = civil_from_days(day);
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Monday = 0 .. Sunday = 6.
pub fn weekday(day: i32) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// The first day on which a line activated on `act` has `n` whole months in
/// service, counted age-style as cvm counts tenure months; when the target
/// month has no day(act), the count is reached on the 1st of the month after.
pub fn month_start(act: i32, n: i64) -> i32 {
    let (y, m, d) = civil_from_days(act);
    let m0 = i64::from(m) - 1 + n;
    let (ty, tm) = (y + m0.div_euclid(12) as i32, (m0.rem_euclid(12) + 1) as u32);
    if d <= days_in_month(ty, tm) {
        return days_from_civil(ty, tm, d);
    }
    let m1 = m0 + 1;
    days_from_civil(y + m1.div_euclid(12) as i32, (m1.rem_euclid(12) + 1) as u32, 1)
}

/// The whole months in service on day `d` of a line activated on `act`
/// (age-style, as [`month_start`] counts them): the largest n with
/// `month_start(act, n) <= d`.
pub fn tenure_months(act: i32, d: i32) -> i64 {
    let (ya, ma, da) = civil_from_days(act);
    let (y, m, dd) = civil_from_days(d);
    i64::from(y - ya) * 12 + i64::from(m) - i64::from(ma) - i64::from(dd < da)
}

/// The first monthly anniversary of `act` (a [`month_start`] after the
/// activation itself) on or after day `x`.
pub fn anniversary_on_or_after(act: i32, x: i32) -> i32 {
    let k = tenure_months(act, x).max(0);
    let at = month_start(act, k);
    if at >= x && k >= 1 { at } else { month_start(act, k + 1) }
}

fn last_sunday(y: i32, m: u32) -> i32 {
    let last = days_from_civil(y, m, days_in_month(y, m));
    last - (weekday(last) as i32 + 1) % 7
}

/// The Europe/Paris UTC offset of a day in minutes (CEST from the last Sunday
/// of March to the last Sunday of October, taken for the whole day).
pub fn utc_offset_minutes(day: i32) -> i32 {
    let (y, _, _) = civil_from_days(day);
    if last_sunday(y, 3) <= day && day < last_sunday(y, 10) { 120 } else { 60 }
}

/// `YYYY-MM-DD` of a day.
pub fn date_text(day: i32) -> [u8; 10] {
    let (y, m, d) = civil_from_days(day);
    let y = y.clamp(0, 9999) as u32;
    let mut out = *b"0000-00-00";
    out[0] = b'0' + (y / 1000) as u8;
    out[1] = b'0' + (y / 100 % 10) as u8;
    out[2] = b'0' + (y / 10 % 10) as u8;
    out[3] = b'0' + (y % 10) as u8;
    out[5..7].copy_from_slice(&two_digits(m));
    out[8..10].copy_from_slice(&two_digits(d));
    out
}

#[inline]
pub fn two_digits(v: u32) -> [u8; 2] {
    [b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]
}

/// `HH:MM:SS` of a second of the day.
#[inline]
pub fn time_text(sec: u32) -> [u8; 8] {
    let [h0, h1] = two_digits(sec / 3600);
    let [m0, m1] = two_digits(sec / 60 % 60);
    let [s0, s1] = two_digits(sec % 60);
    [h0, h1, b':', m0, m1, b':', s0, s1]
}

/// `+HH:MM` of an offset in minutes.
pub fn offset_text(minutes: i32) -> [u8; 6] {
    let sign = if minutes < 0 { b'-' } else { b'+' };
    let a = minutes.unsigned_abs();
    let [h0, h1] = two_digits(a / 60);
    let [m0, m1] = two_digits(a % 60);
    [sign, h0, h1, b':', m0, m1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_match_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for day in (-800_000..800_000).step_by(997).chain(19_000..21_000) {
            let date = epoch + chrono::Duration::days(i64::from(day));
            assert_eq!(from_date(date), day);
            assert_eq!(to_date(day), date);
            assert_eq!(weekday(day), date.weekday().num_days_from_monday() as usize);
            if (0..2_900_000).contains(&(day + 719_468)) {
                assert_eq!(std::str::from_utf8(&date_text(day)).unwrap(), date.to_string());
            }
        }
    }

    #[test]
    fn months_are_counted_age_style() {
        let d = |s: &str| from_date(s.parse().unwrap());
        assert_eq!(month_start(d("2026-01-31"), 1), d("2026-03-01"));
        assert_eq!(month_start(d("2026-01-15"), 0), d("2026-01-15"));
        assert_eq!(month_start(d("2026-01-15"), 13), d("2027-02-15"));
        assert_eq!(month_start(d("2024-02-29"), 12), d("2025-03-01"));
        assert_eq!(month_start(d("2025-11-30"), 3), d("2026-03-01"));
    }

    #[test]
    fn tenure_months_and_anniversaries_agree_with_month_start() {
        let d = |s: &str| from_date(s.parse().unwrap());
        for act in (d("2023-01-01")..d("2025-01-01")).step_by(3).chain([d("2024-01-31"), d("2024-02-29")]) {
            for n in 0..30 {
                let (a, b) = (month_start(act, n), month_start(act, n + 1));
                assert_eq!(tenure_months(act, a), n, "{} {n}", to_date(act));
                assert_eq!(tenure_months(act, b - 1), n, "{} {n}", to_date(act));
                assert!(b - a <= 31);
                if n >= 1 {
                    assert_eq!(anniversary_on_or_after(act, a), a);
                    assert_eq!(anniversary_on_or_after(act, a - 1), a);
                }
                assert_eq!(anniversary_on_or_after(act, a + 1), b);
            }
        }
        assert_eq!(anniversary_on_or_after(d("2026-01-31"), d("2026-01-31")), d("2026-03-01"));
        assert_eq!(anniversary_on_or_after(d("2026-01-31"), d("2026-03-02")), d("2026-03-31"));
    }

    #[test]
    fn summer_time_runs_from_the_last_sunday_of_march_to_that_of_october() {
        let d = |s: &str| from_date(s.parse().unwrap());
        assert_eq!(utc_offset_minutes(d("2026-03-28")), 60);
        assert_eq!(utc_offset_minutes(d("2026-03-29")), 120);
        assert_eq!(utc_offset_minutes(d("2026-10-24")), 120);
        assert_eq!(utc_offset_minutes(d("2026-10-25")), 60);
        assert_eq!(&time_text(3600 * 23 + 61), b"23:01:01");
        assert_eq!(&offset_text(120), b"+02:00");
    }
}
