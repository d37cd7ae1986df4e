//! The money sources: the monthly bills of every line, and the prepaid
//! lines' top-ups, each from its (shard, source) stream; a planted revenue
//! anomaly's rows (src/generate/revenue.rs) after the line's own, never
//! spoiled.

use super::{Dirty, ascii, stamp, time_of_day, unknown_id};
use crate::generate::GenerateError;
use crate::generate::population::{self as pop, Line, World};
use crate::generate::revenue::{self, TopUp};
use crate::generate::rng::Rng;
use crate::generate::sink::{Cell, FileWriter};

/// One bill per month in service over the billing window, prorated in
/// partial months, lowered by dips and declines (prepaid strongly); a
/// planted month's extra line in the same invoice.
pub fn write_billing(
    world: &World,
    lines: &[Line],
    r: &mut Rng,
    dirty: &mut Dirty,
    out: &mut FileWriter,
) -> Result<(), GenerateError> {
    let mut invoice = *b"INV00000000YYYYMM";
    let mut billed: Vec<i64> = Vec::with_capacity(world.months.len());
    for line in lines {
        billed.clear();
        let sid = pop::subscriber_id(line.id);
        let bad_sid = unknown_id(line.id);
        let alive_to = line.alive_to(world.t);
        let postpaid = line.plan == pop::POSTPAID;
        pop::eight_digits(&mut invoice[3..], line.id);
        for month in &world.months {
            let (s, e) = (line.act.max(month.first), alive_to.min(month.next));
            if e <= s {
                continue;
            }
            let mut amount =
                line.arpu * (0.9 + 0.2 * r.uniform()) * f64::from(e - s) / f64::from(month.next - month.first);
            if !line.episodes.is_empty() {
                let g = line.engagement((s + e).div_euclid(2));
                amount *= if postpaid { 0.55 + 0.45 * g } else { 0.15 + 0.85 * g };
            }
            invoice[11..].copy_from_slice(month.compact.as_bytes());
            let cents = ((amount.max(0.01)) * 100.0).round() as i64;
            let mut cells = [
                Cell::Text(ascii(&sid)),
                Cell::Text(&month.label),
                Cell::Text(ascii(&invoice)),
                if postpaid { Cell::Text("recurring") } else { Cell::Null },
                Cell::Money(cents),
            ];
            match dirty.pick(4) {
                Some(0) => cells[0] = Cell::Bad(ascii(&bad_sid)),
                Some(1) => cells[0] = Cell::Null,
                Some(2) => cells[1] = Cell::Bad("2026-13"),
                Some(_) => cells[4] = Cell::Bad("abc"),
                None => {}
            }
            out.row(&cells)?;
            if let Some((charge, net)) = revenue::bill_line(world, line, month.first, &billed, cents) {
                out.row(&[
                    Cell::Text(ascii(&sid)),
                    Cell::Text(&month.label),
                    Cell::Text(ascii(&invoice)),
                    Cell::Text(charge),
                    Cell::Money(net),
                ])?;
            }
            billed.push(cents);
        }
    }
    Ok(())
}

/// Prepaid top-ups from activation to the end of service: a Poisson process
/// at the line's rate, thinned in dips and declines, and none in the last
/// days before a warned exit; then a planted recharge mismatch's top-ups.
pub fn write_recharges(
    world: &World,
    lines: &[Line],
    r: &mut Rng,
    dirty: &mut Dirty,
    out: &mut FileWriter,
) -> Result<(), GenerateError> {
    let mut own: Vec<(i32, i64)> = Vec::new();
    for line in lines.iter().filter(|l| l.plan == pop::PREPAID) {
        let planted = line.plant.is_some();
        own.clear();
        let sid = pop::subscriber_id(line.id);
        let bad_sid = unknown_id(line.id);
        let stop = line.recharges_to(world.t);
        let quiet = line.recharge_gap().unwrap_or(0..0);
        let mean_gap = 1.0 / line.recharge_rate;
        let mut t = f64::from(line.act);
        let mut first = true;
        loop {
            if !first {
                t += r.exponential(mean_gap);
            }
            if t >= f64::from(stop) {
                break;
            }
            let o = t as i32;
            if !first && !line.episodes.is_empty() {
                let g = line.engagement(o);
                if g < 1.0 && r.uniform() >= g.powf(1.5) {
                    continue;
                }
            }
            first = false;
            if o < world.rc0 || quiet.contains(&o) {
                continue;
            }
            let mut k = line.denomination as usize;
            let x = r.uniform();
            if x < 0.15 && k > 0 {
                k -= 1;
            } else if x > 0.85 && k < pop::DENOMINATIONS.len() - 1 {
                k += 1;
            }
            let sec = time_of_day(r);
            let channel =
                if r.chance(0.8) { line.recharge_channel as usize } else { r.below(pop::RECHARGE_CHANNELS.len()) };
            let amount = pop::DENOMINATIONS[k] * 100;
            let mut cells = [
                Cell::Text(ascii(&sid)),
                Cell::Time(stamp(world, o, sec)),
                Cell::Money(amount),
                Cell::Text(pop::RECHARGE_CHANNELS[channel]),
            ];
            match dirty.pick(4) {
                Some(0) => cells[0] = Cell::Bad(ascii(&bad_sid)),
                Some(1) => cells[0] = Cell::Null,
                Some(2) => cells[1] = Cell::Bad("yesterday"),
                Some(_) => cells[2] = Cell::Money(-amount),
                None => {}
            }
            out.row(&cells)?;
            if planted {
                own.push((o, amount));
            }
        }
        for top_up in revenue::top_ups(world, line, &own) {
            let TopUp { day, sec, cents, channel } = top_up;
            out.row(&[
                Cell::Text(ascii(&sid)),
                Cell::Time(stamp(world, day, sec)),
                Cell::Money(cents),
                Cell::Text(channel),
            ])?;
        }
    }
    Ok(())
}
