//! The sources' file layouts and the rows of the snapshot-day sources
//! (subscribers, billing, recharges, tickets, optouts, strategic_fit), each
//! written from the lines' traits and its own (shard, source) stream.
//!
//! The layouts are in `layout`; the rows of each source in `accounts`
//! (subscribers, optouts, strategic_fit), `payments` (billing, recharges)
//! and `tickets`; what they share (spoiled rows, ids, times of day) here.

mod accounts;
mod layout;
mod payments;
mod tickets;

use super::population::{self as pop, World, tag};
use super::rng::Rng;
use super::sink::Stamp;
pub use accounts::{write_optouts, write_strategic_fit, write_subscribers};
pub use layout::{RESPONSES, SOURCES, Source, index, table};
pub use payments::{write_billing, write_recharges};
pub use tickets::write_tickets;

/// Which rows are spoiled, and how: a stream of its own, so the clean rows
/// are the same whatever the rate.
pub struct Dirty {
    rate: f64,
    rng: Rng,
    pub rows: u64,
}

impl Dirty {
    pub fn new(world: &World, rate: f64, source: Source, shard: u64, day: i32) -> Dirty {
        let key = [tag::DIRTY, index(source) as u64, shard, day as u64];
        Dirty { rate, rng: Rng::stream(world.seed, &key), rows: 0 }
    }

    /// `Some(kind)` in 0..kinds when this row is to be spoiled.
    #[inline]
    pub fn pick(&mut self, kinds: usize) -> Option<usize> {
        if self.rate > 0.0 && self.rng.chance(self.rate) {
            self.rows += 1;
            Some(self.rng.below(kinds))
        } else {
            None
        }
    }

    /// A number in 0..n for a spoiled value, from the same stream.
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.below(n)
    }
}

/// An id no subscriber has (`Z` and eight digits): the unknown_subscriber rule.
pub fn unknown_id(id: u32) -> [u8; 9] {
    let mut out = pop::subscriber_id(id);
    out[0] = b'Z';
    out
}

/// Text of ASCII bytes this module formatted itself.
#[inline]
pub fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

/// `+336` and eight digits.
pub fn phone(number: u32) -> [u8; 12] {
    let mut out = *b"+33600000000";
    pop::eight_digits(&mut out[4..], number);
    out
}

/// Hours of the day weighted by usage: an hour appears as often as its weight.
pub const HOUR_TABLE: [u8; 122] = {
    const WEIGHTS: [u8; 24] = [1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 8, 8, 7, 7, 7, 8, 9, 9, 8, 6, 4, 2];
    let mut table = [0u8; 122];
    let (mut h, mut i) = (0, 0);
    while h < 24 {
        let mut w = 0;
        while w < WEIGHTS[h] {
            table[i] = h as u8;
            i += 1;
            w += 1;
        }
        h += 1;
    }
    table
};

/// A second of the day drawn from the usage-weighted hours.
#[inline]
pub fn time_of_day(r: &mut Rng) -> u32 {
    u32::from(HOUR_TABLE[r.below(HOUR_TABLE.len())]) * 3600 + r.below(3600) as u32
}

pub fn stamp(world: &World, day: i32, sec: u32) -> Stamp {
    Stamp { day, sec, offset: world.offset(day) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_follow_their_weights() {
        assert_eq!(HOUR_TABLE.iter().filter(|&&h| h == 19).count(), 9);
        assert_eq!(HOUR_TABLE[121], 23);
        assert_eq!(ascii(&phone(10_000_042)), "+33610000042");
        assert_eq!(ascii(&unknown_id(7)), "Z00000007");
    }
}
