//! The CSV side of a file: each cell as the contract's text (ISO dates,
//! timestamps with their UTC offset, amounts with two decimals), formatted
//! into a byte buffer without allocating.

use super::Cell;
use crate::generate::calendar;

#[inline]
pub(super) fn push_csv(buf: &mut Vec<u8>, cell: &Cell, day: &mut i32, date: &mut [u8; 10]) {
    match *cell {
        Cell::Null => {}
        Cell::Text(v) | Cell::Bad(v) => {
            debug_assert!(!v.contains([',', '"', '\n', '\r']), "{v}");
            buf.extend_from_slice(v.as_bytes());
        }
        Cell::Int(v) => push_int(buf, v),
        Cell::Money(cents) => {
            if cents < 0 {
                buf.push(b'-');
            }
            let a = cents.unsigned_abs();
            push_uint(buf, a / 100);
            buf.push(b'.');
            buf.extend_from_slice(&calendar::two_digits((a % 100) as u32));
        }
        Cell::Date(d) => {
            if *day != d {
                *day = d;
                *date = calendar::date_text(d);
            }
            buf.extend_from_slice(date);
        }
        Cell::Time(t) => {
            if *day != t.day {
                *day = t.day;
                *date = calendar::date_text(t.day);
            }
            buf.extend_from_slice(date);
            buf.push(b'T');
            buf.extend_from_slice(&calendar::time_text(t.sec));
            buf.extend_from_slice(&calendar::offset_text(t.offset));
        }
        Cell::Float(v) => {
            use std::io::Write;
            let _ = write!(buf, "{v:.2}");
        }
    }
}

#[inline]
pub fn push_int(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    push_uint(buf, v.unsigned_abs());
}

/// Decimal digits of `v`, without allocating.
#[inline]
pub fn push_uint(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::sink::Stamp;

    #[test]
    fn csv_cells_are_the_contract_text() {
        let mut buf = Vec::new();
        let (mut day, mut date) = (i32::MIN, [0; 10]);
        let t = Stamp { day: calendar::from_date("2026-11-22".parse().unwrap()), sec: 3600 * 9 + 5, offset: 60 };
        for cell in [Cell::Time(t), Cell::Money(-1205), Cell::Money(7), Cell::Int(-42), Cell::Int(0), Cell::Date(t.day)]
        {
            push_csv(&mut buf, &cell, &mut day, &mut date);
            buf.push(b'|');
        }
        assert_eq!(String::from_utf8(buf).unwrap(), "2026-11-22T09:00:05+01:00|-12.05|0.07|-42|0|2026-11-22|");
    }
}
