//! One day of usage events for one shard of lines: the generator's hot loop.
//!
//! A line in service on the day makes a Poisson number of events with mean
//! `level x engagement(day) x weekday factor x scale`, drawn from the
//! (shard, day) stream; the events' times follow the usage-weighted hours,
//! their types the segment's mix. A line with a planted pattern
//! (`--plant`, src/generate/plant.rs) adds its planted events after its own
//! (a SIM box drops its own). Nothing here depends on other days, so one
//! day can be written alone (`--only-cdr-day`) exactly as a full generation
//! writes it.

use super::GenerateError;
use super::calendar;
use super::event::Event;
use super::plant;
use super::population::{Line, World, tag};
use super::rng::Rng;
use super::sink::{Cell, FileWriter};
use super::sources::{Dirty, ascii, phone, unknown_id};

/// Usage by weekday (Monday first) per segment, a week averaging 1:
/// business lines call in the week, consumers and youth more at weekends.
pub const WEEKDAY: [[f64; 7]; 3] = [
    [0.96, 0.96, 0.96, 0.96, 0.96, 1.10, 1.10],
    [0.94, 0.94, 0.94, 0.94, 0.94, 1.15, 1.15],
    [1.15, 1.15, 1.15, 1.15, 1.15, 0.625, 0.625],
];
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

/// Writes `lines`' events on `day` (a local day in the window): each
/// line's own (unless it is a SIM box), then its planted ones.
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
        let m = if line.episodes.is_empty() { 1.0 } else { line.engagement(day) };
        let mean = line.level * m * WEEKDAY[line.segment as usize][weekday] * scale;
        let n = r.poisson(mean);
        if n == 0 && line.plant.is_none() {
            continue;
        }
        let row = RowOf { sid: super::population::subscriber_id(line.id), bad_sid: unknown_id(line.id), day, offset };
        let made = if line.episodes.is_empty() { 1.0 } else { line.outgoing_factor(day) };
        let keep = plant::keeps_own_events(line.plant);
        for _ in 0..n {
            let event = Event::draw(r, line, made);
            if keep {
                row.write(&event, dirty, out)?;
            }
        }
        if let Some(pattern) = line.plant {
            for event in plant::events(world, line, pattern, day, mean, made) {
                row.write(&event, dirty, out)?;
            }
        }
    }
    Ok(())
}

/// What a line's rows of one day share.
struct RowOf {
    sid: [u8; 9],
    bad_sid: [u8; 9],
    day: i32,
    offset: i32,
}

impl RowOf {
    /// Writes `event` as one row, spoiled if `dirty` picks it.
    #[inline]
    fn write(&self, event: &Event, dirty: &mut Dirty, out: &mut FileWriter) -> Result<(), GenerateError> {
        let contact = event.other.map(phone);
        let mut cells = [
            Cell::Text(ascii(&self.sid)),
            Cell::Time(super::sink::Stamp { day: self.day, sec: event.sec, offset: self.offset }),
            Cell::Text(event.kind),
            Cell::Text(if event.out { "out" } else { "in" }),
            event.duration_s.map_or(Cell::Null, Cell::Int),
            event.volume.map_or(Cell::Null, Cell::Int),
            contact.as_ref().map_or(Cell::Null, |c| Cell::Text(ascii(c))),
        ];
        match dirty.pick(5) {
            Some(0) => cells[0] = Cell::Bad(ascii(&self.bad_sid)),
            Some(1) => cells[0] = Cell::Null,
            Some(2) => cells[1] = Cell::Bad("2026-02-30T10:00:00+01:00"),
            Some(3) => cells[2] = Cell::Bad("fax"),
            Some(_) => cells[4] = Cell::Int(-1 - dirty.below(100) as i64),
            None => {}
        }
        out.row(&cells)
    }
}
