//! Campaigns with a known effect (`--campaigns-from`): the lists a cvm
//! warehouse published in `contacts_history` before T, the exits their
//! contacts cancel, the responses the contacts gave, and the truth of it all
//! (`_truth/treatment_truth.csv`), so a test can recover the planted uplift
//! from `campaign_effect`.
//!
//! A contact of wave W (the night the list was drawn) cancels the line's
//! non-involuntary exit if its end falls in (W, W + `WINDOW_DAYS`], with
//! probability `EFFECT[segment] x --treatment-scale` (capped at 1), drawn
//! from a stream of (seed, line, wave, campaign) alone. A line listed in
//! several waves is treated by the earliest contact (by wave, then
//! campaign) whose window holds its end; control rows are never treated.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, Date32Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::{cast, col, ident, lit};

use super::GenerateError;
use super::calendar;
use super::population::{self as pop, Line, World, tag};
use super::rng::Rng;
use super::sink::{Cell, FileStats, FileWriter, Format, Kind, Stamp, Table};
use super::sources::{RESPONSES, ascii};
use crate::storage::{Location, StoreUrl};

/// The chance that a contact cancels an exit falling in its window, by
/// segment (`SEGMENTS` order: consumer, youth, business), before `--treatment-scale`.
pub const EFFECT: [f64; 3] = [0.40, 0.10, 0.70];
/// A contact of wave W acts on exits ending in (W, W + WINDOW_DAYS].
pub const WINDOW_DAYS: i32 = 90;
/// Responses: the share not answered; of the others, the chance to accept
/// for a line the contact saved and for the others; the rest declined or
/// merely reached, half and half.
const NO_ANSWER: f64 = 0.35;
const ACCEPT_SAVED: f64 = 0.80;
const ACCEPT_OTHER: f64 = 0.15;
pub const OUTCOMES: [&str; 4] = ["no_answer", "reached", "accepted", "declined"];
/// Contacts are made on one of the 3 days after the wave, 09:00 to 19:00 local.
const CONTACT_DAYS: usize = 3;
const CONTACT_FROM_S: u32 = 9 * 3600;
const CONTACT_HOURS_S: usize = 10 * 3600;

pub const TRUTH_FILE: &str = "treatment_truth.csv";
static TRUTH: Table = Table {
    name: "treatment_truth",
    columns: &[
        ("campaign", Kind::Text),
        ("wave_date", Kind::Date),
        ("subscriber_id", Kind::Text),
        ("group", Kind::Text),
        ("segment", Kind::Text),
        ("would_end_90d", Kind::Int),
        ("end_date", Kind::Date),
        ("saved", Kind::Int),
    ],
};

/// One row of the published contacts_history.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listing {
    pub campaign: String,
    pub wave: i32,
    pub id: u32,
    pub contact: bool,
    pub channel: String,
}

/// The listings of `warehouse`'s published contacts_history with a
/// snapshot before `t`, sorted by campaign, wave and subscriber; the
/// second value counts the rows whose subscriber is not one of the
/// `subscribers` lines generated (left out).
pub async fn read_history(
    warehouse: &StoreUrl,
    t: NaiveDate,
    subscribers: u64,
) -> Result<(Vec<Listing>, u64), GenerateError> {
    let fail = |message: String| GenerateError::Campaigns { warehouse: warehouse.to_string(), message };
    let storage = crate::storage::StorageSettings::default();
    let ctx =
        crate::engine::session(&crate::engine::EngineOptions::default(), &storage).map_err(|e| fail(e.to_string()))?;
    let location = crate::storage::Location::open(warehouse, &storage).map_err(|e| fail(e.to_string()))?;
    let tables =
        crate::warehouse::reader::register_warehouse(&ctx, &location).await.map_err(|e| fail(e.to_string()))?;
    if !tables.iter().any(|t| t == "contacts_history") {
        return Err(fail(
            "no published contacts_history (hint: run a job with campaigns on this warehouse first)".into(),
        ));
    }
    let text = |name: &str| cast(ident(name), DataType::Utf8).alias(name);
    let batches = async {
        ctx.table("contacts_history")
            .await?
            .filter(col("snapshot_date").lt(lit(crate::engine::date_scalar(t))))?
            .select(vec![
                text("campaign"),
                cast(col("snapshot_date"), DataType::Date32).alias("snapshot_date"),
                text("subscriber_id"),
                text("group"),
                text("channel"),
            ])?
            .collect()
            .await
    }
    .await
    .map_err(|e| fail(format!("contacts_history: {e}")))?;
    let (mut out, mut unknown) = (Vec::new(), 0u64);
    for batch in &batches {
        let strings = |i: usize| batch.column(i).as_any().downcast_ref::<StringArray>().cloned();
        let (Some(campaign), Some(subscriber), Some(group), Some(channel)) =
            (strings(0), strings(2), strings(3), strings(4))
        else {
            return Err(fail("contacts_history: unexpected column types".into()));
        };
        let Some(wave) = batch.column(1).as_any().downcast_ref::<Date32Array>() else {
            return Err(fail("contacts_history: snapshot_date is not a date".into()));
        };
        for i in 0..batch.num_rows() {
            if campaign.is_null(i) || wave.is_null(i) || subscriber.is_null(i) {
                unknown += 1;
                continue;
            }
            match line_id(subscriber.value(i)).filter(|&id| u64::from(id) < subscribers) {
                Some(id) => out.push(Listing {
                    campaign: campaign.value(i).to_string(),
                    wave: wave.value(i),
                    id,
                    contact: !group.is_null(i) && group.value(i) == "contact",
                    channel: if channel.is_null(i) { String::new() } else { channel.value(i).to_string() },
                }),
                None => unknown += 1,
            }
        }
    }
    out.sort();
    Ok((out, unknown))
}

/// The line of a subscriber_id `S` and eight digits.
fn line_id(subscriber_id: &str) -> Option<u32> {
    let digits = subscriber_id.strip_prefix('S').filter(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))?;
    digits.parse().ok()
}

/// A stable 64-bit key of a campaign's name (FNV-1a), for its streams.
fn name_key(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn stream(world: &World, what: u64, l: &Listing) -> Rng {
    Rng::stream(world.seed, &[what, u64::from(l.id), l.wave as u64, name_key(&l.campaign)])
}

/// What the treatment did, for the summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct TreatmentStats {
    /// contacts_history rows before T, contact and control.
    pub contacts: u64,
    pub controls: u64,
    /// Rows left out: not a line of this population.
    pub unknown: u64,
    /// Contacts whose window held the line's exit, and those that cancelled it.
    pub exposed: u64,
    pub saved: u64,
    pub responses: u64,
}

/// The treatment worked out on the untreated lines, before any file is written.
#[derive(Debug, Default)]
pub struct Plan {
    /// Line -> the wave whose contact cancelled its exit.
    pub saved: HashMap<u32, i32>,
    listings: Vec<Listing>,
    /// Per listing (same order): its line's segment, untreated end and
    /// reason, and whether it saved the line.
    outcomes: Vec<(u8, Option<(i32, u8)>, bool)>,
    pub stats: TreatmentStats,
}

impl Plan {
    /// Works out which contacts cancel which exits, with `scale` on [`EFFECT`].
    pub fn new(world: &World, listings: Vec<Listing>, unknown: u64, scale: f64) -> Plan {
        let mut by_line: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, l) in listings.iter().enumerate() {
            by_line.entry(l.id).or_default().push(i);
        }
        let mut outcomes = vec![(0u8, None, false); listings.len()];
        let mut saved = HashMap::new();
        let mut stats = TreatmentStats { unknown, ..TreatmentStats::default() };
        for (&id, rows) in &by_line {
            let line = Line::simulate(world, id);
            let exit = line.voluntary_exit();
            for &i in rows {
                outcomes[i] = (line.segment, line.end.map(|e| (e, line.reason)), false);
            }
            // the earliest contact (wave, then campaign) whose window holds the exit
            let mut contacts: Vec<usize> = rows.iter().copied().filter(|&i| listings[i].contact).collect();
            contacts.sort_by(|&a, &b| {
                (listings[a].wave, &listings[a].campaign).cmp(&(listings[b].wave, &listings[b].campaign))
            });
            let first = contacts.into_iter().find(|&i| exit.is_some_and(|(e, _)| in_window(listings[i].wave, e)));
            if let Some(i) = first {
                stats.exposed += 1;
                let p = (EFFECT[line.segment as usize] * scale).min(1.0);
                if stream(world, tag::TREATMENT, &listings[i]).chance(p) {
                    outcomes[i].2 = true;
                    saved.insert(id, listings[i].wave);
                    stats.saved += 1;
                }
            }
        }
        stats.contacts = listings.iter().filter(|l| l.contact).count() as u64;
        stats.controls = listings.len() as u64 - stats.contacts;
        Plan { saved, listings, outcomes, stats }
    }

    /// Line `id` of the world, with its exit cancelled if a contact saved it.
    pub fn line(&self, world: &World, id: u32) -> Line {
        let mut line = Line::simulate(world, id);
        if let Some(&wave) = self.saved.get(&id) {
            line.save(wave);
        }
        line
    }

    /// Writes `_truth/treatment_truth.csv`: one row per listing before T,
    /// sorted by campaign, wave and subscriber.
    pub fn write_truth(&self, location: &Location, handle: tokio::runtime::Handle) -> Result<FileStats, GenerateError> {
        let path = location.url.store_path().join(super::truth::FOLDER).join(TRUTH_FILE);
        let mut out = FileWriter::create(location, path, &TRUTH, Format::Csv, handle)?;
        for (l, &(segment, end, saved)) in self.listings.iter().zip(&self.outcomes) {
            let sid = pop::subscriber_id(l.id);
            let would_end = end.is_some_and(|(e, reason)| reason != super::churn::INVOLUNTARY && in_window(l.wave, e));
            out.row(&[
                Cell::Text(&l.campaign),
                Cell::Date(l.wave),
                Cell::Text(ascii(&sid)),
                Cell::Text(if l.contact { "contact" } else { "control" }),
                Cell::Text(pop::SEGMENTS[segment as usize]),
                Cell::Int(i64::from(would_end)),
                end.map_or(Cell::Null, |(e, _)| Cell::Date(e)),
                Cell::Int(i64::from(saved)),
            ])?;
        }
        out.finish()
    }

    /// Writes `responses/dt=T/part-00000`: one response per contact made by
    /// the end of T, sorted by subscriber, time and campaign.
    pub fn write_responses(
        &mut self,
        world: &World,
        location: &Location,
        format: Format,
        handle: tokio::runtime::Handle,
    ) -> Result<FileStats, GenerateError> {
        let mut rows: Vec<(u32, Stamp, usize, u8)> = Vec::new();
        for (i, (l, &(_, _, saved))) in
            self.listings.iter().zip(&self.outcomes).enumerate().filter(|(_, (l, _))| l.contact)
        {
            let r = &mut stream(world, tag::RESPONSE, l);
            let day = l.wave + 1 + r.below(CONTACT_DAYS) as i32;
            let sec = CONTACT_FROM_S + r.below(CONTACT_HOURS_S) as u32;
            let outcome = if r.chance(NO_ANSWER) {
                0
            } else if r.chance(if saved { ACCEPT_SAVED } else { ACCEPT_OTHER }) {
                2
            } else if r.chance(0.5) {
                3
            } else {
                1
            };
            if day <= world.t {
                rows.push((l.id, Stamp { day, sec, offset: world.offset(day) }, i, outcome));
            }
        }
        rows.sort_by(|a, b| {
            (a.0, a.1.utc_micros(), &self.listings[a.2].campaign).cmp(&(
                b.0,
                b.1.utc_micros(),
                &self.listings[b.2].campaign,
            ))
        });
        let path = location
            .url
            .store_path()
            .join(RESPONSES.name)
            .join(format!("dt={}", calendar::to_date(world.t)))
            .join(format!("part-00000.{}", format.extension()));
        let mut out = FileWriter::create(location, path, &RESPONSES, format, handle)?;
        for (id, stamp, i, outcome) in rows {
            let sid = pop::subscriber_id(id);
            let l = &self.listings[i];
            out.row(&[
                Cell::Text(ascii(&sid)),
                Cell::Text(&l.campaign),
                Cell::Time(stamp),
                Cell::Text(OUTCOMES[outcome as usize]),
                if l.channel.is_empty() { Cell::Null } else { Cell::Text(&l.channel) },
            ])?;
        }
        let stats = out.finish()?;
        self.stats.responses = stats.rows;
        Ok(stats)
    }
}

/// An end on day `end` falls in the window of wave `wave`: (wave, wave + WINDOW_DAYS].
fn in_window(wave: i32, end: i32) -> bool {
    end > wave && end <= wave + WINDOW_DAYS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of 0..n listed as a contact (even ids) or control (odd) in each wave.
    fn listings(n: u32, waves: &[i32]) -> Vec<Listing> {
        let mut out = Vec::new();
        for &wave in waves {
            for id in 0..n {
                let (campaign, channel) = ("retention".to_string(), "call".to_string());
                out.push(Listing { campaign, wave, id, contact: id % 2 == 0, channel });
            }
        }
        out.sort();
        out
    }

    #[test]
    fn contacts_cancel_exits_in_their_window_at_the_segments_rate_and_controls_never() {
        let a = calendar::from_date("2026-08-01".parse().unwrap());
        let world = World::new(3, a + 60, 35, 0).fixed_at(a);
        let (waves, n) = ([a, a + 30], 20_000);
        let plan = Plan::new(&world, listings(n, &waves), 0, 1.0);
        let (mut exposed, mut saved) = ([0.0; 3], [0.0; 3]);
        for id in 0..n {
            let line = Line::simulate(&world, id);
            let first = line.voluntary_exit().and_then(|(e, _)| waves.iter().copied().find(|&w| in_window(w, e)));
            match plan.saved.get(&id) {
                Some(&wave) => {
                    assert!(id % 2 == 0 && first == Some(wave), "line {id}: saved by {wave}, exit window {first:?}");
                    let treated = plan.line(&world, id);
                    assert!(treated.end.is_none() && treated.saved.is_some_and(|s| s.wave == wave));
                    // what showed up to the wave is kept
                    for d in wave - 100..=wave {
                        assert_eq!(treated.engagement(d), line.engagement(d), "line {id} on {d}");
                    }
                }
                None => assert_eq!(format!("{:?}", plan.line(&world, id)), format!("{line:?}")),
            }
            if id % 2 == 0 && first.is_some() {
                exposed[line.segment as usize] += 1.0;
                saved[line.segment as usize] += f64::from(u8::from(plan.saved.contains_key(&id)));
            }
        }
        for s in 0..3 {
            let share = saved[s] / exposed[s];
            let se = (EFFECT[s] * (1.0 - EFFECT[s]) / exposed[s]).sqrt();
            assert!((share - EFFECT[s]).abs() < 4.0 * se, "{}: {share} of {}", pop::SEGMENTS[s], exposed[s]);
        }
        assert_eq!(plan.stats.saved as usize, plan.saved.len());
        // no effect at scale 0; the same draws again
        assert!(Plan::new(&world, listings(n, &waves), 0, 0.0).saved.is_empty());
        assert_eq!(Plan::new(&world, listings(n, &waves), 0, 1.0).saved, plan.saved);
        assert_eq!((line_id("S00012345"), line_id("Z00012345"), line_id("S123")), (Some(12_345), None, None));
    }
}
