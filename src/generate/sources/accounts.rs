//! The sources written from the lines' traits alone, without a random
//! stream of their own: subscribers, optouts and strategic_fit.

use super::{ascii, phone};
use crate::generate::GenerateError;
use crate::generate::population::{self as pop, Line, World};
use crate::generate::sink::{Cell, FileWriter};

pub fn write_subscribers(world: &World, lines: &[Line], out: &mut FileWriter) -> Result<(), GenerateError> {
    for line in lines {
        let sid = pop::subscriber_id(line.id);
        let msisdn = phone(10_000_000 + line.id);
        let ended = line.ended(world.t);
        let (end, reason) = match line.end {
            Some(e) if ended => (Cell::Date(e), Cell::Text(pop::REASONS[line.reason as usize])),
            _ => (Cell::Null, Cell::Null),
        };
        out.row(&[
            Cell::Text(ascii(&sid)),
            Cell::Text(ascii(&msisdn)),
            Cell::Date(line.act),
            end,
            reason,
            Cell::Text(pop::PLANS[line.plan as usize]),
            Cell::Text(line.plan_id()),
            Cell::Text(pop::SEGMENTS[line.segment as usize]),
            Cell::Text(pop::REGIONS[line.region as usize].0),
            Cell::Text(pop::SALES_CHANNELS[line.sales_channel as usize].0),
            Cell::Int(i64::from(line.birth_year)),
            if line.plan == pop::POSTPAID { Cell::Int(i64::from(line.commitment)) } else { Cell::Null },
        ])?;
    }
    Ok(())
}

pub fn write_optouts(world: &World, lines: &[Line], out: &mut FileWriter) -> Result<(), GenerateError> {
    for line in lines {
        if let Some((since, channel)) = line.optout.filter(|&(since, _)| since <= world.t) {
            let sid = pop::subscriber_id(line.id);
            let channel = pop::OPTOUT_CHANNELS[channel as usize];
            let channel = if channel.is_empty() { Cell::Null } else { Cell::Text(channel) };
            out.row(&[Cell::Text(ascii(&sid)), channel, Cell::Date(since)])?;
        }
    }
    Ok(())
}

/// One strategic-fit score per segment.
pub fn write_strategic_fit(out: &mut FileWriter) -> Result<(), GenerateError> {
    for (segment, score) in [("business", 0.80), ("consumer", 0.50), ("youth", 0.65)] {
        out.row(&[Cell::Null, Cell::Text(segment), Cell::Float(score)])?;
    }
    Ok(())
}
