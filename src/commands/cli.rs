//! The command line's definitions: every command and its arguments, with the
//! help text `cvm --help` shows (src/main.rs parses them and calls the commands).

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use super::query::OutputFormat;
use crate::observe::logging::LogFormat;

/// Customer value management for telecom operators: ARPU, tenure, usage and
/// value per subscriber, from billing, CDR, recharge and customer-service
/// extracts, as hive-partitioned Parquet.
#[derive(Debug, Parser)]
#[command(name = "cvm", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Log format: `text` for people, `json` (one object per line) for schedulers.
    #[arg(long, value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// Only warnings and errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Debug logging.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success, 1 run failed, 2 bad job file or usage, 3 the data failed its checks (rejects over the job's threshold, a source outside its quality band), \
     4 another run of the same job and snapshot holds the lock.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the nightly job for snapshot T: ingest, transform, publish.
    Run {
        /// The job file (TOML), e.g. jobs/demo.toml.
        job: PathBuf,
        /// The snapshot date T (YYYY-MM-DD): the run describes the end of this UTC day.
        #[arg(long, value_parser = parse_date)]
        as_of: NaiveDate,
        /// Read the extracts from here instead of the job's input_root (a path or URL).
        #[arg(long)]
        input_root: Option<String>,
        /// Write the outputs here instead of the job's warehouse (a path or URL).
        #[arg(long)]
        warehouse: Option<String>,
        /// Cap the engine's memory (e.g. 2GiB); past it, sorts, joins and aggregates spill to disk.
        /// Replaces the job's [engine] memory_limit.
        #[arg(long)]
        memory_limit: Option<String>,
        /// Where spill files go (default: the run's private scratch folder in $TMPDIR). Replaces [engine] spill_dir.
        #[arg(long)]
        spill_dir: Option<String>,
        /// Where the queries run: `local` (in this process) or a Ballista scheduler, `df://HOST:PORT`.
        /// Replaces the job's [engine] engine.
        #[arg(long)]
        engine: Option<String>,
        /// Fit the churn and prepaid models again, even when a fit younger than [churn] refit_every_days
        /// is stored (e.g. after the history was corrected).
        #[arg(long)]
        refit: bool,
    },
    /// Check the job file and that every source is reachable and maps onto the contract. Writes nothing.
    Validate {
        /// The job file (TOML).
        job: PathBuf,
        /// Check the extracts here instead of the job's input_root.
        #[arg(long)]
        input_root: Option<String>,
    },
    /// Query the output tables with SQL (every table registered by name).
    Query {
        /// One read-only SQL statement, e.g. "SELECT value_tier, count(*) FROM customer_value GROUP BY 1".
        sql: String,
        /// The warehouse to read (a path or URL); defaults to the demo job's.
        #[arg(long, default_value = "warehouse/demo")]
        warehouse: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        /// Write the result to this path or URL (csv, json, parquet) instead of standard output, below
        /// the warehouse's _queries/ (a relative path lands there).
        #[arg(long)]
        output: Option<String>,
    },
    /// Campaign lists of a published snapshot: list them, export one for a marketing tool.
    Campaign {
        #[command(subcommand)]
        command: CampaignCommand,
    },
    /// The fraud screening of a published snapshot: export the fraud team's review list.
    Screening {
        #[command(subcommand)]
        command: ScreeningCommand,
    },
    /// Run every job file (of the folders or files named) that has a [schedule], as a long-running
    /// scheduler: catches up missed runs, never overlaps two runs, stops cleanly on SIGTERM/SIGINT.
    Schedule {
        /// Job files or folders of job files, e.g. jobs/.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Recent runs (snapshot, status, duration, rows, rejects) read from their manifests, and runs in progress.
    Status {
        /// A job file: its runs. Without one, every job's runs in --warehouse.
        job: Option<PathBuf>,
        /// The warehouse to read (defaults to the job's, or the demo's).
        #[arg(long)]
        warehouse: Option<String>,
        /// How many runs to show, newest first.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run the job for every snapshot from --from to --to, in date order; snapshots already published
    /// from the same job file and inputs are skipped (unless --force); stops at the first failure.
    Backfill {
        /// The job file (TOML).
        job: PathBuf,
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
        /// Run every snapshot, even those already published.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        input_root: Option<String>,
        #[arg(long)]
        warehouse: Option<String>,
    },
    /// Start a Ballista scheduler with cvm's functions and stores (`--engine df://HOST:PORT` clients
    /// submit to it). Runs until stopped.
    #[cfg(feature = "ballista")]
    Scheduler {
        /// The address to listen on (an IP and port).
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: std::net::SocketAddr,
        /// The host name executors reach this scheduler by (default: the bind IP).
        #[arg(long)]
        external_host: Option<String>,
        /// Seconds without a heartbeat after which an executor is dead and its tasks run
        /// elsewhere; keep it a few times the executors' --heartbeat.
        #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(u64).range(5..))]
        executor_timeout: u64,
    },
    /// Start a Ballista executor with cvm's functions and stores, serving a scheduler. Runs until
    /// stopped (SIGTERM: it drains its tasks first). Object-store credentials come from its environment.
    #[cfg(feature = "ballista")]
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long)]
        scheduler: String,
        /// The IP to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The Arrow Flight port (shuffle data and results); the next port takes tasks.
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// The host name the scheduler, other executors and clients reach this executor by
        /// (default: the address the scheduler sees).
        #[arg(long)]
        external_host: Option<String>,
        /// Shuffle and spill files.
        #[arg(long, default_value = "/tmp/cvm-executor")]
        work_dir: PathBuf,
        /// Tasks run at once (default: one per core).
        #[arg(long, default_value_t = 0)]
        slots: usize,
        /// Seconds between heartbeats to the scheduler.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        heartbeat: u64,
    },
    /// Convert a warehouse written by a cvm from before Delta Lake tables: every published file becomes
    /// version 0 of its table's Delta log (nothing is moved or rewritten). Safe to run twice.
    Upgrade {
        /// The warehouse (a path or URL), e.g. warehouse/demo.
        warehouse: String,
    },
    /// Write the HTML run report of a published snapshot again (next to its manifest).
    Report {
        /// The job file (TOML).
        job: PathBuf,
        /// The snapshot date T (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        as_of: NaiveDate,
        /// Read the outputs here instead of the job's warehouse.
        #[arg(long)]
        warehouse: Option<String>,
    },
    /// Write a synthetic landing (every source, in the contract's shape, with learnable churn structure)
    /// for demos and benchmarks. Deterministic: the same arguments give the same bytes.
    Generate(GenerateArgs),
    /// The nightly job on a generated base big enough to fit the models: generates a landing where the
    /// job's input_root points (cvm generate), then runs the job on it.
    Demo {
        /// The job file; its input_root is where the landing is written.
        #[arg(long, default_value = "jobs/generated.toml")]
        job: PathBuf,
        /// Lines ever activated.
        #[arg(long, default_value_t = 3000)]
        subscribers: u64,
        /// Days of CDR before T (the churn model's oldest training window reads 90 days before T - 3H).
        #[arg(long, default_value_t = 180)]
        days: u32,
        /// The snapshot date T.
        #[arg(long, value_parser = parse_date, default_value = "2026-11-22")]
        as_of: NaiveDate,
        /// The generator's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure the nightly job on generated data: per size, a from-scratch night over --days of CDR, then an
    /// incremental night with one new day; per step rows, seconds, rows/s and peak RSS (docs/benchmarks.md).
    Bench(BenchArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    pub subscribers: Vec<u64>,
    /// Days of CDR before the first night.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// CDR rows a day per subscriber (40 gives 40M rows a day at 1M subscribers).
    #[arg(long, default_value_t = 40)]
    pub cdr_per_subscriber: u64,
    /// The first night's snapshot date T.
    #[arg(long, value_parser = parse_date, default_value = "2026-11-22")]
    pub as_of: NaiveDate,
    /// Working folder: landings, warehouses and kept staging tables, one sub-folder per size (replaced).
    #[arg(long, default_value = "/tmp/cvm-bench")]
    pub dir: PathBuf,
    /// Format of the generated extracts.
    #[arg(long, default_value = "parquet", value_parser = ["csv", "parquet"])]
    pub format: String,
    /// Cap the engine's memory in the runs (e.g. 2GiB).
    #[arg(long)]
    pub memory_limit: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also run the feature step's SQL in DuckDB on the first night's files (benches/duckdb_features.py;
    /// installs duckdb from PyPI into ~/.cache/cvm/duckdb-venv on first use).
    #[arg(long)]
    pub duckdb: bool,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Lines ever activated (subscriber ids S00000000 ..).
    #[arg(long)]
    pub subscribers: u64,
    /// Days of cdr (one dt= folder per local day) and tickets, up to --as-of.
    #[arg(long)]
    pub days: u32,
    /// The snapshot date T (YYYY-MM-DD): the landing as it stands at the end of this day.
    #[arg(long, value_parser = parse_date)]
    pub as_of: NaiveDate,
    /// The landing root (a path or URL); its source folders are replaced.
    #[arg(long)]
    pub out: String,
    /// Random seed: another seed, another population.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of billing, cdr, recharges and tickets rows made invalid (0..1), each breaking one of the
    /// contract's row rules (unknown or missing subscriber_id, bad time, bad type or amount).
    #[arg(long, default_value_t = 0.0)]
    pub dirty: f64,
    /// File format; Parquet columns are typed (dates, UTC timestamps, integers, decimals).
    #[arg(long, value_enum, default_value = "csv")]
    pub format: crate::generate::Format,
    /// Expected cdr rows a day across the base, on average over the window (every line's event rate
    /// scaled by one factor); default: about one event per line in service a day.
    #[arg(long)]
    pub cdr_per_day: Option<u64>,
    /// Keep only the recharges of the last N days; 0: the full history since activation.
    #[arg(long, default_value_t = 0)]
    pub recharge_days: u32,
    /// Write only the cdr folder dt=DATE (a day of the window), exactly as a full generation writes it,
    /// leaving every other folder alone: "the next night's file".
    #[arg(long, value_parser = parse_date)]
    pub only_cdr_day: Option<NaiveDate>,
    /// Lines per shard: shard k writes part-<k:05> in every folder (the output depends on it).
    #[arg(long, default_value_t = crate::generate::DEFAULT_SHARD_SIZE)]
    pub shard_size: u64,
    /// Worker threads (default: one per core); the output does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// A fixed timeline: the world (activations, traits, faults, decisions, exits, dips) is drawn once
    /// relative to this day A, and --as-of T, any day in A ..= A + 90, observes it on day T: the same lines
    /// with the same activation and deactivation dates. Lines activated after A do not exist.
    #[arg(long, value_parser = parse_date)]
    pub world_date: Option<NaiveDate>,
    /// A cvm warehouse whose published contacts_history (the lists before T) treats the lines: a contact
    /// of wave W cancels the line's non-involuntary exit ending in (W, W + 90] with probability
    /// effect(segment) x --treatment-scale (consumer 0.40, youth 0.10, business 0.70); writes the
    /// responses source and _truth/treatment_truth.csv. Needs --world-date.
    #[arg(long)]
    pub campaigns_from: Option<String>,
    /// The factor on the contacts' effect (0: no effect; the chance is capped at 1).
    #[arg(long, default_value_t = 1.0)]
    pub treatment_scale: f64,
    /// Fraud patterns planted, as shares: `simbox=0.002,spike=0.003,burst=0.05,revenue=0.01` (any subset);
    /// `cases=0.8` also writes the fraud team's confirmed cases (the fraud_cases source).
    /// simbox (of all lines): 250 outgoing calls a day to fresh numbers instead of its own usage; spike (of
    /// all lines): one day among the last 3 up to T with 30 times its usage; burst (of the lines activated in
    /// the 30 days up to T): 20 times its usage every day; revenue (of all lines, none of those): postpaid,
    /// billed in 4 months or more before the last bill month, half bill_jump (that month's total 8-15 times
    /// the usual bill, an extra roaming or voice line) and half credit_heavy (an adjustment credit of 100-150%
    /// of the month's charges); prepaid with 90 days of recharges before the last 30: recharge_mismatch
    /// (recharges in the 30 days up to T 8-12 times the usual, usage unchanged). Writes
    /// _truth/fraud_truth.csv (subscriber_id, pattern, anomaly_date).
    #[arg(long, value_parser = crate::generate::Plant::parse)]
    pub plant: Option<crate::generate::Plant>,
}

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// What the campaigns changed, as measured at snapshot T: per campaign, wave (an earlier
    /// night's list) and horizon, churn of the contacts against the control group, the uplift
    /// with its 95% interval and the value saved (the campaign_effect table).
    Effect {
        /// The job file (TOML).
        job: PathBuf,
        #[arg(long, value_parser = parse_date)]
        as_of: NaiveDate,
        /// Read the outputs here instead of the job's warehouse.
        #[arg(long)]
        warehouse: Option<String>,
    },
    /// The campaigns of snapshot T and their sizes, in the job's priority order.
    List {
        /// The job file (TOML).
        job: PathBuf,
        #[arg(long, value_parser = parse_date)]
        as_of: NaiveDate,
        /// Read the outputs here instead of the job's warehouse.
        #[arg(long)]
        warehouse: Option<String>,
    },
    /// Export one campaign of snapshot T: UTF-8 CSV with a header (or Parquet), plus `<output>.sidecar.json`
    /// with its row count and SHA-256.
    Export {
        /// The job file (TOML).
        job: PathBuf,
        /// The campaign's name, as `cvm campaign list` shows it.
        #[arg(long)]
        campaign: String,
        #[arg(long, value_parser = parse_date)]
        as_of: NaiveDate,
        #[arg(long, value_enum, default_value = "csv")]
        format: crate::stages::campaigns::export::ExportFormat,
        /// The file to write (a path or URL).
        #[arg(long)]
        output: String,
        /// Add msisdn in clear, for contact; only when the job allows it ([exports] msisdn = "allow").
        #[arg(long)]
        with_msisdn: bool,
        /// Read the outputs here instead of the job's warehouse.
        #[arg(long)]
        warehouse: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScreeningCommand {
    /// Export the fraud team's review list of snapshot T (fraud_review): the lines the screening holds
    /// suspect, then watch, by fraud score, with the rules that fired, their reasons and the revenue at
    /// stake; UTF-8 CSV with a header (or Parquet), plus `<output>.sidecar.json` with its row count and
    /// SHA-256. Not a campaign: no control group, and opted-out lines are listed too.
    Export {
        /// The job file (TOML).
        job: PathBuf,
        #[arg(long, value_parser = parse_date)]
        as_of: NaiveDate,
        #[arg(long, value_enum, default_value = "csv")]
        format: crate::stages::campaigns::export::ExportFormat,
        /// The file to write (a path or URL), below the job's export root.
        #[arg(long)]
        output: String,
        /// The lowest level listed: watch (suspect and watch lines) or suspect (suspect lines only).
        #[arg(long, value_enum, default_value = "watch")]
        level: crate::stages::campaigns::export::ReviewLevel,
        /// Add msisdn in clear; only when the job allows it ([exports] msisdn = "allow").
        #[arg(long)]
        with_msisdn: bool,
        /// Read the outputs here instead of the job's warehouse.
        #[arg(long)]
        warehouse: Option<String>,
    },
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("'{text}' is not a date in YYYY-MM-DD form"))
}
