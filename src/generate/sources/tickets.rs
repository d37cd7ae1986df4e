//! The tickets source: customer-service contacts over the window, more of
//! them in dips and declines, and the fault tickets of network episodes.

use super::{Dirty, ascii, stamp, time_of_day, unknown_id};
use crate::generate::GenerateError;
use crate::generate::population::{self as pop, Line, World};
use crate::generate::rng::Rng;
use crate::generate::sink::{Cell, FileWriter};

const TICKET_CATEGORIES: [&str; 4] = ["complaint", "fault", "inquiry", "other"];
/// Category weights in percent: base contacts, and contacts during a dip or decline.
const TICKET_BASE: [usize; 4] = [25, 25, 40, 10];
const TICKET_DIP: [usize; 4] = [65, 20, 10, 5];

fn category(r: &mut Rng, weights: &[usize; 4]) -> &'static str {
    let mut x = r.below(100);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return TICKET_CATEGORIES[i];
        }
        x -= w;
    }
    TICKET_CATEGORIES[3]
}

/// The first days of a fault episode, in which its tickets are opened, and
/// their mean time to resolution (exponential: 20% still open after 7 days).
const FAULT_TICKET_DAYS: i32 = 3;
const FAULT_RESOLUTION_S: f64 = 4.35 * 86_400.0;

/// Customer-service contacts over the window: a base rate per line, extra
/// ones (mostly complaints) where engagement is low, and 1..=3 `fault`
/// tickets in the first days of each fault episode, slow to resolve.
pub fn write_tickets(
    world: &World,
    lines: &[Line],
    r: &mut Rng,
    dirty: &mut Dirty,
    out: &mut FileWriter,
) -> Result<(), GenerateError> {
    let mut mw: Vec<f64> = Vec::new();
    for line in lines {
        let first = line.act.max(world.w0);
        let nd = line.alive_to(world.t) - first;
        if nd <= 0 {
            continue;
        }
        let sid = pop::subscriber_id(line.id);
        let bad_sid = unknown_id(line.id);
        let mut ticket = |opened: i32, sec: u32, cat: &str, resolved: Cell| {
            let mut cells = [Cell::Text(ascii(&sid)), Cell::Time(stamp(world, opened, sec)), Cell::Text(cat), resolved];
            match dirty.pick(5) {
                Some(0) => cells[0] = Cell::Bad(ascii(&bad_sid)),
                Some(1) => cells[0] = Cell::Null,
                Some(2) => cells[1] = Cell::Bad("2026-13-01T00:00:00Z"),
                Some(3) => cells[2] = Cell::Bad("praise"),
                Some(_) => cells[2] = Cell::Null,
                None => {}
            }
            out.row(&cells)
        };
        // resolved `after` seconds past `sec` on day `o`, if by the end of T
        let resolved = |o: i32, sec: u32, after: f64| {
            let rs = i64::from(sec) + after as i64;
            let ro = o + (rs / 86_400) as i32;
            if ro <= world.t { Cell::Time(stamp(world, ro, (rs % 86_400) as u32)) } else { Cell::Null }
        };
        mw.clear();
        let mut low_sum = 0.0;
        if !line.episodes.is_empty() {
            mw.extend((first..first + nd).map(|d| line.engagement(d)));
            low_sum = mw.iter().map(|v| 1.0 - v).sum::<f64>();
        }
        let n_base = r.poisson(line.ticket_rate * f64::from(nd));
        let n_dip = if low_sum > 0.0 { r.poisson(0.012 * low_sum) } else { 0 };
        for n in 0..n_base + n_dip {
            let mut x = r.below(nd as usize);
            if n >= n_base {
                while r.uniform() >= 1.0 - mw[x] {
                    x = r.below(nd as usize);
                }
            }
            let o = first + x as i32;
            let sec = time_of_day(r);
            let cat = category(r, if n < n_base { &TICKET_BASE } else { &TICKET_DIP });
            // 3% stay open; the rest are resolved ~30 hours later on average
            let done =
                if r.uniform() > 0.03 { resolved(o, sec, r.exponential(30.0 * 3600.0) + 600.0) } else { Cell::Null };
            ticket(o, sec, cat, done)?;
        }
        for &start in line.faults.iter().filter(|&&s| s <= world.t && s + FAULT_TICKET_DAYS > first) {
            for _ in 0..1 + r.below(3) {
                let o = start + r.below(FAULT_TICKET_DAYS as usize) as i32;
                let sec = time_of_day(r);
                let done = resolved(o, sec, r.exponential(FAULT_RESOLUTION_S) + 3600.0);
                if o >= first && o < first + nd && o <= world.t {
                    ticket(o, sec, "fault", done)?;
                }
            }
        }
    }
    Ok(())
}
