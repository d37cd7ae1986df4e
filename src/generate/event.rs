//! One usage event of a line before it is written: its type by the line's
//! segment mix, its time by the usage-weighted hours, the other party one of
//! its contacts. The CDR writer (cdr.rs) and the planted patterns
//! (plant.rs) both make events.

use super::population::Line;
use super::rng::Rng;
use super::sources::time_of_day;

/// Event mix per segment in percent: voice, sms, data, mms.
const EVENT_MIX: [[usize; 4]; 3] = [[40, 15, 40, 5], [20, 25, 50, 5], [60, 10, 28, 2]];
/// Percent of voice calls made (not received).
const VOICE_OUT: f64 = 0.55;
/// Mean seconds of a data session.
const DATA_SESSION_S: f64 = 600.0;

/// One usage event before it is written.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// Seconds into the local day.
    pub sec: u32,
    /// voice, sms, data or mms.
    pub kind: &'static str,
    /// Made, not received.
    pub out: bool,
    pub duration_s: Option<i64>,
    pub volume: Option<i64>,
    /// The other party's number (an msisdn's last eight digits).
    pub other: Option<u32>,
}

impl Event {
    /// One of `line`'s own events: its type by the segment's mix, its time
    /// by the usage-weighted hours, the other party one of its contacts;
    /// `made` is the factor on the chance that a call or message is made.
    #[inline]
    pub fn draw(r: &mut Rng, line: &Line, made: f64) -> Event {
        let [voice, sms, data, _] = EVENT_MIX[line.segment as usize];
        let n_contacts = usize::from(line.n_contacts);
        let sec = time_of_day(r);
        let kind = r.below(100);
        if kind < voice {
            let other = line.contacts[r.below(n_contacts)];
            let out = r.chance(VOICE_OUT * made);
            let duration_s = r.exponential(line.voice_mean) as i64 + 1;
            Event { sec, kind: "voice", out, duration_s: Some(duration_s), volume: None, other: Some(other) }
        } else if kind < voice + sms + data && kind >= voice + sms {
            let duration_s = r.exponential(DATA_SESSION_S) as i64 + 1;
            let volume = r.exponential(line.data_mean) as i64;
            Event { sec, kind: "data", out: true, duration_s: Some(duration_s), volume: Some(volume), other: None }
        } else {
            let other = line.contacts[r.below(n_contacts)];
            let kind = if kind < voice + sms { "sms" } else { "mms" };
            let out = r.chance(0.5 * made);
            Event { sec, kind, out, duration_s: None, volume: None, other: Some(other) }
        }
    }
}
