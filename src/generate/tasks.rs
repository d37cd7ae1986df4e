//! The work of one generation: the files to write (one task each, and one
//! per shard for its part of the truth file), the worker threads that take
//! them in turn, and each shard's lines, simulated once and shared by the
//! shard's files.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::population::{self, Census, Line, World};
use super::sink::{self, FileWriter};
use super::sources::{self, Dirty, SOURCES, Source};
use super::treatment::{Listing, Plan};
use super::{GenerateError, Options, SourceStats, Summary, calendar, cdr, plant, rng, truth};
use crate::storage::Location;

/// One file to write.
#[derive(Debug, Clone, Copy)]
enum Task {
    StrategicFit,
    Snapshot {
        shard: u64,
        source: Source,
    },
    Cdr {
        shard: u64,
        day: i32,
    },
    /// The shard's rows of the truth file.
    Truth {
        shard: u64,
    },
}

/// A shard's lines, simulated once and dropped when its last file is written.
struct ShardLines {
    lines: Mutex<Option<Arc<Vec<Line>>>>,
    remaining: AtomicUsize,
    census: OnceLock<Census>,
}

struct Context<'a> {
    options: &'a Options,
    world: World,
    location: &'a Location,
    handle: tokio::runtime::Handle,
    shards: Vec<ShardLines>,
    cdr_scale: f64,
    /// Written with the snapshot-day sources, not by `--only-cdr-day`.
    truth: Option<truth::Writer>,
    /// The exits the campaigns' contacts cancelled (none without `--campaigns-from`).
    plan: Plan,
}

impl Context<'_> {
    fn shard_range(&self, shard: u64) -> std::ops::Range<u32> {
        let lo = shard * self.options.shard_size;
        let hi = (lo + self.options.shard_size).min(self.options.subscribers);
        lo as u32..hi as u32
    }

    fn lines(&self, shard: u64) -> Arc<Vec<Line>> {
        let slot = &self.shards[shard as usize];
        let mut lines = slot.lines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = lines.as_ref() {
            return l.clone();
        }
        let simulated: Vec<Line> = self
            .shard_range(shard)
            .map(|id| {
                let mut line = self.plan.line(&self.world, id);
                line.plant = plant::pattern(&self.world, &self.options.plant, &line);
                line
            })
            .collect();
        let mut census = Census::default();
        for line in &simulated {
            census.add(&line.census(&self.world));
        }
        let _ = slot.census.set(census);
        let simulated = Arc::new(simulated);
        *lines = Some(simulated.clone());
        simulated
    }

    fn done(&self, shard: u64) {
        let slot = &self.shards[shard as usize];
        if slot.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            *slot.lines.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    fn file(&self, source: Source, day: i32, shard: u64) -> Result<FileWriter, GenerateError> {
        let path = self
            .location
            .url
            .store_path()
            .join(source.name())
            .join(format!("dt={}", calendar::to_date(day)))
            .join(format!("part-{shard:05}.{}", self.options.format.extension()));
        FileWriter::create(self.location, path, sources::table(source), self.options.format, self.handle.clone())
    }

    /// Writes one file (or a shard's truth); returns its source, stats and spoiled rows.
    fn run(&self, task: Task) -> Result<Option<(Source, sink::FileStats, u64)>, GenerateError> {
        let world = &self.world;
        let rate = self.options.dirty;
        let (source, shard, day) = match task {
            Task::StrategicFit => {
                let mut out = self.file(Source::StrategicFit, world.t, 0)?;
                sources::write_strategic_fit(&mut out)?;
                return Ok(Some((Source::StrategicFit, out.finish()?, 0)));
            }
            Task::Truth { shard } => {
                let rows = truth::rows(world, &self.options.plant, &self.lines(shard));
                if let Some(truth) = &self.truth {
                    truth.add(shard, rows)?;
                }
                self.done(shard);
                return Ok(None);
            }
            Task::Snapshot { shard, source } => (source, shard, world.t),
            Task::Cdr { shard, day } => (Source::Cdr, shard, day),
        };
        let lines = self.lines(shard);
        let mut out = self.file(source, day, shard)?;
        let dirty_rate = if matches!(source, Source::Subscribers | Source::Optouts) { 0.0 } else { rate };
        let mut dirty = Dirty::new(world, dirty_rate, source, shard, day);
        let mut r = rng::Rng::stream(world.seed, &[population::tag::SOURCE, sources::index(source) as u64, shard]);
        match source {
            Source::Subscribers => sources::write_subscribers(world, &lines, &mut out)?,
            Source::Billing => sources::write_billing(world, &lines, &mut r, &mut dirty, &mut out)?,
            Source::Recharges => sources::write_recharges(world, &lines, &mut r, &mut dirty, &mut out)?,
            Source::Tickets => sources::write_tickets(world, &lines, &mut r, &mut dirty, &mut out)?,
            Source::Optouts => sources::write_optouts(world, &lines, &mut out)?,
            Source::Cdr => {
                let mut r = cdr::stream(world, shard, day);
                cdr::write_day(world, &lines, day, self.cdr_scale, &mut r, &mut dirty, &mut out)?
            }
            Source::StrategicFit | Source::Responses | Source::FraudCases => {}
        }
        drop(lines);
        let stats = out.finish()?;
        self.done(shard);
        Ok(Some((source, stats, dirty.rows)))
    }
}

/// Runs `work(i)` for i in 0..n on `threads` threads, in any order; the
/// results come back in index order. Stops at the first error.
fn parallel<T: Send>(
    threads: usize,
    n: usize,
    work: impl Fn(usize) -> Result<T, GenerateError> + Sync,
) -> Result<Vec<T>, GenerateError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    let first_error: Mutex<Option<GenerateError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(n).max(1) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    match work(i) {
                        Ok(v) => results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(v),
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            first_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.into_iter().map(|r| r.ok_or_else(|| GenerateError::Worker("a task did not finish".into()))).collect()
}

/// The calendar `options` describe: as of T, or observing the world fixed at `--world-date`.
fn world(options: &Options) -> World {
    let t = calendar::from_date(options.as_of);
    let world = World::new(options.seed, t, options.days, options.recharge_days);
    match options.world_date {
        Some(a) => world.fixed_at(calendar::from_date(a)),
        None => world,
    }
}

/// The exits the campaigns' contacts cancel, from the warehouse's history
/// (none without `--campaigns-from`); with the snapshot-day sources, the
/// treatment truth and the responses are written, and the responses' stats returned.
fn campaigns(
    options: &Options,
    world: &World,
    location: &Location,
    handle: &tokio::runtime::Handle,
    history: Option<(Vec<Listing>, u64)>,
) -> Result<(Plan, Option<SourceStats>), GenerateError> {
    let mut plan = match history {
        Some((listings, unknown)) => Plan::new(world, listings, unknown, options.treatment_scale),
        None => Plan::default(),
    };
    let mut responses = None;
    if options.campaigns_from.is_some() && options.only_cdr_day.is_none() {
        let started = Instant::now();
        plan.write_truth(location, handle.clone())?;
        let stats = plan.write_responses(world, location, options.format, handle.clone())?;
        let source = SourceStats { rows: stats.rows, bytes: stats.bytes, files: 1, busy: started.elapsed(), dirty: 0 };
        responses = Some(source);
    }
    Ok((plan, responses))
}

/// The event-rate factor that makes the window's expected daily total of
/// the lines' own events --cdr-per-day (planted events come on top).
fn cdr_scale(
    options: &Options,
    world: &World,
    plan: &Plan,
    threads: usize,
    n_shards: u64,
) -> Result<f64, GenerateError> {
    Ok(match options.cdr_per_day {
        None => 1.0,
        Some(rows) => {
            let per_shard = parallel(threads, n_shards as usize, |shard| {
                let lo = shard as u64 * options.shard_size;
                let hi = (lo + options.shard_size).min(options.subscribers);
                Ok((lo as u32..hi as u32).map(|id| cdr::expected_events(world, &plan.line(world, id))).sum::<f64>())
            })?;
            let expected: f64 = per_shard.iter().sum();
            if expected > 0.0 { rows as f64 * f64::from(options.days) / expected } else { 0.0 }
        }
    })
}

/// The files to write, in the order they are handed to the workers, and
/// each shard's slot for its lines (with the count of its tasks).
fn tasks(options: &Options, world: &World, n_shards: u64) -> (Vec<Task>, Vec<ShardLines>) {
    let mut tasks = Vec::new();
    let cdr_days: Vec<i32> = match options.only_cdr_day {
        Some(day) => vec![calendar::from_date(day)],
        None => (world.w0..=world.t).collect(),
    };
    if options.only_cdr_day.is_none() {
        tasks.push(Task::StrategicFit);
    }
    let mut shards = Vec::new();
    for shard in 0..n_shards {
        let before = tasks.len();
        if options.only_cdr_day.is_none() {
            tasks.push(Task::Snapshot { shard, source: Source::Subscribers });
            tasks.push(Task::Truth { shard });
            for source in [Source::Billing, Source::Recharges, Source::Tickets, Source::Optouts] {
                tasks.push(Task::Snapshot { shard, source });
            }
        }
        tasks.extend(cdr_days.iter().map(|&day| Task::Cdr { shard, day }));
        shards.push(ShardLines {
            lines: Mutex::new(None),
            remaining: AtomicUsize::new(tasks.len() - before),
            census: OnceLock::new(),
        });
    }
    (tasks, shards)
}

/// What the files held per source, in [`SOURCES`] order (then responses, if written).
fn per_source(
    results: Vec<Option<(Source, sink::FileStats, u64, Duration)>>,
    responses: Option<SourceStats>,
) -> Vec<(&'static str, SourceStats)> {
    let mut per_source: Vec<(&'static str, SourceStats)> =
        SOURCES.iter().map(|s| (s.name(), SourceStats::default())).collect();
    for (source, stats, dirty, busy) in results.into_iter().flatten() {
        let s = &mut per_source[sources::index(source)].1;
        s.rows += stats.rows;
        s.bytes += stats.bytes;
        s.files += 1;
        s.dirty += dirty;
        s.busy += busy;
    }
    if let Some(stats) = responses {
        per_source.push((sources::RESPONSES.name, stats));
    }
    per_source
}

pub fn write_all(
    options: &Options,
    location: &Location,
    handle: tokio::runtime::Handle,
    started: Instant,
    history: Option<(Vec<Listing>, u64)>,
) -> Result<Summary, GenerateError> {
    let world = world(options);
    let (plan, responses) = campaigns(options, &world, location, &handle, history)?;
    let n_shards = options.subscribers.div_ceil(options.shard_size);
    let threads = options.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let cdr_scale = cdr_scale(options, &world, &plan, threads, n_shards)?;

    // the truth is written with the snapshot-day sources, not by --only-cdr-day
    let truth = match options.only_cdr_day {
        None => {
            let cases = (options.plant.any() && options.plant.cases > 0.0).then(|| {
                let folder = location.url.store_path().join(Source::FraudCases.name());
                let file = format!("part-00000.{}", options.format.extension());
                (folder.join(format!("dt={}", calendar::to_date(world.t))).join(file), options.format)
            });
            Some(truth::Writer::create(location, handle.clone(), options.plant.any(), cases)?)
        }
        Some(_) => None,
    };
    let (tasks, shards) = tasks(options, &world, n_shards);
    let treatment = options.campaigns_from.is_some().then_some(plan.stats);
    let context = Context { options, world, location, handle, shards, cdr_scale, truth, plan };
    let results = parallel(threads, tasks.len(), |i| {
        let started = Instant::now();
        let done = context.run(tasks[i])?;
        Ok(done.map(|(source, stats, dirty)| (source, stats, dirty, started.elapsed())))
    })?;
    let Context { shards, truth, .. } = context;
    let truth = truth.map(truth::Writer::finish).transpose()?;

    let mut census = Census::default();
    for shard in &shards {
        if let Some(c) = shard.census.get() {
            census.add(c);
        }
    }
    Ok(Summary {
        out: options.out.to_string(),
        as_of: options.as_of,
        days: options.days,
        format: options.format,
        only_cdr_day: options.only_cdr_day,
        threads,
        sources: per_source(results, responses),
        census,
        truth,
        cdr_scale,
        treatment,
        elapsed: started.elapsed(),
    })
}
