//! One day of usage events for one shard of lines: the generator's hot loop.
//!
//! A line in service on the day makes a Poisson number of events with mean
//! `level x engagement(day) x weekday factor x scale`, drawn from the
//! (shard, day) stream; the events' times follow the usage-weighted hours,
//! their types the segment's mix. Nothing here depends on other days, so
//! one day can be written alone (`--only-cdr-day`) exactly as a full
//! generation writes it.

use super::GenerateError;
use super::calendar;
use super::population::{Line, World, tag};
use super::rng::Rng;
use super::sink::{Cell, FileWriter};
use super::sources::{Dirty, ascii, phone, time_of_day, unknown_id};

/// Usage by weekday (Monday first) per segment, a week averaging 1:
/// business lines call in the week, consumers and youth more at weekends.
pub const WEEKDAY: [[f64; 7]; 3] = [
    [0.96, 0.96, 0.96, 0.96, 0.96, 1.10, 1.10],
    [0.94, 0.94, 0.94, 0.94, 0.94, 1.15, 1.15],
    [1.15, 1.15, 1.15, 1.15, 1.15, 0.625, 0.625],
];
/// Event mix per segment in percent: voice, sms, data, mms.
const EVENT_MIX: [[usize; 4]; 3] = [[40, 15, 40, 5], [20, 25, 50, 5], [60, 10, 28, 2]];
/// Percent of voice calls made (not received).
const VOICE_OUT: f64 = 0.55;
/// Mean seconds of a data session.
const DATA_SESSION_S: f64 = 600.0;

/// The stream of one shard's events on one day.
pub fn stream(world: &World, shard: u64, day: i32) -> Rng {
    Rng::stream(world.seed, &[tag::CDR, shard, day as u64])
}

/// The events a line is expected to make over the window at scale 1.
pub fn expected_events(world: &World, line: &Line) -> f64 {
    let (first, last) = (line.act.max(world.w0), line.alive_to(world.t));
    let weekday = &WEEKDAY[line.segment as usize];
    let mut sum = 0.0;
    for d in first..last {
        let m = if line.episodes.is_empty() { 1.0 } else { line.engagement(d) };
        sum += m * weekday[calendar::weekday(d)];
    }
    line.level * sum
}

/// Writes `lines`' events on `day` (a local day in the window).
pub fn write_day(
    world: &World,
    lines: &[Line],
    day: i32,
    scale: f64,
    r: &mut Rng,
    dirty: &mut Dirty,
    out: &mut FileWriter,
) -> Result<(), GenerateError> {
    let weekday = calendar::weekday(day);
    let offset = world.offset(day);
    for line in lines {
        if day < line.act || day >= line.alive_to(world.t) {
            continue;
        }
        let s = line.segment as usize;
        let m = if line.episodes.is_empty() { 1.0 } else { line.engagement(day) };
        let n = r.poisson(line.level * m * WEEKDAY[s][weekday] * scale);
        if n == 0 {
            continue;
        }
        let sid = super::population::subscriber_id(line.id);
        let bad_sid = unknown_id(line.id);
        let [voice, sms, data, _] = EVENT_MIX[s];
        let n_contacts = usize::from(line.n_contacts);
        let made = if line.episodes.is_empty() { 1.0 } else { line.outgoing_factor(day) };
        for _ in 0..n {
            let sec = time_of_day(r);
            let kind = r.below(100);
            let contact;
            let mut cells = [
                Cell::Text(ascii(&sid)),
                Cell::Time(super::sink::Stamp { day, sec, offset }),
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
            ];
            if kind < voice {
                contact = phone(line.contacts[r.below(n_contacts)]);
                cells[2] = Cell::Text("voice");
                cells[3] = Cell::Text(if r.chance(VOICE_OUT * made) { "out" } else { "in" });
                cells[4] = Cell::Int(r.exponential(line.voice_mean) as i64 + 1);
                cells[6] = Cell::Text(ascii(&contact));
            } else if kind < voice + sms + data && kind >= voice + sms {
                cells[2] = Cell::Text("data");
                cells[3] = Cell::Text("out");
                cells[4] = Cell::Int(r.exponential(DATA_SESSION_S) as i64 + 1);
                cells[5] = Cell::Int(r.exponential(line.data_mean) as i64);
            } else {
                contact = phone(line.contacts[r.below(n_contacts)]);
                cells[2] = Cell::Text(if kind < voice + sms { "sms" } else { "mms" });
                cells[3] = Cell::Text(if r.chance(0.5 * made) { "out" } else { "in" });
                cells[6] = Cell::Text(ascii(&contact));
            }
            match dirty.pick(5) {
                Some(0) => cells[0] = Cell::Bad(ascii(&bad_sid)),
                Some(1) => cells[0] = Cell::Null,
                Some(2) => cells[1] = Cell::Bad("2026-02-30T10:00:00+01:00"),
                Some(3) => cells[2] = Cell::Bad("fax"),
                Some(_) => cells[4] = Cell::Int(-1 - dirty.below(100) as i64),
                None => {}
            }
            out.row(&cells)?;
        }
    }
    Ok(())
}
