//! The `cvm` command line. Parsing and dispatch only; the work lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use cvm::exit;
use cvm::job::{Job, Overrides};
use cvm::logging::{self, LogFormat};
use cvm::query::OutputFormat;
use cvm::storage::StoreUrl;

// Ingest builds and drops many large string buffers; glibc's allocator spent
// a third of a run in malloc/free, mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Customer value management for telecom operators: ARPU, tenure, usage and
/// value per subscriber, from billing, CDR, recharge and customer-service
/// extracts, as hive-partitioned Parquet.
#[derive(Debug, Parser)]
#[command(name = "cvm", version, after_help = EXIT_CODES)]
struct Cli {
    /// Log format: `text` for people, `json` (one object per line) for schedulers.
    #[arg(long, value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    /// Only warnings and errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Debug logging.
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success, 1 run failed, 2 bad job file or usage, 3 rejects over the job's threshold, \
     4 another run of the same job and snapshot holds the lock.";

#[derive(Debug, Subcommand)]
enum Command {
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
        /// Where spill files go (default: the system's temporary folder). Replaces [engine] spill_dir.
        #[arg(long)]
        spill_dir: Option<String>,
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
        /// Write the result to this path or URL (csv, json, parquet) instead of standard output.
        #[arg(long)]
        output: Option<String>,
    },
    /// Campaign lists of a published snapshot: list them, export one for a marketing tool.
    Campaign {
        #[command(subcommand)]
        command: CampaignCommand,
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
}

#[derive(Debug, Subcommand)]
enum CampaignCommand {
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
        format: cvm::campaigns::export::ExportFormat,
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

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("'{text}' is not a date in YYYY-MM-DD form"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = if cli.quiet {
        "warn"
    } else if cli.verbose {
        "cvm=debug,info"
    } else {
        "info"
    };
    logging::init(cli.log_format, level);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::code(exit::RUN_FAILED);
        }
    };
    exit::code(runtime.block_on(dispatch(cli.command)))
}

async fn dispatch(command: Command) -> u8 {
    match command {
        Command::Run { job, as_of, input_root, warehouse, memory_limit, spill_dir } => {
            let Some(job) = load_job(&job, Overrides { input_root, warehouse, memory_limit, spill_dir }) else {
                return exit::BAD_USAGE;
            };
            tracing::info!(job = %job.name, snapshot = %as_of, "run started");
            let result = cvm::run::run(&job, as_of).await;
            cvm::progress::finish();
            match result {
                Ok(summary) => {
                    print!("{}", cvm::summary::render(&job, &summary));
                    exit::SUCCESS
                }
                Err(e) => {
                    tracing::error!("run failed: {e}");
                    eprintln!("error: {e}");
                    exit::for_run_error(&e)
                }
            }
        }
        Command::Validate { job, input_root } => {
            let Some(job) = load_job(&job, Overrides { input_root, ..Default::default() }) else {
                return exit::BAD_USAGE;
            };
            match cvm::validate::validate(&job).await {
                Ok(checks) => {
                    for c in checks {
                        println!("{:<14} {:>5} files  {}", c.source, c.files, c.url);
                    }
                    println!("job {} is valid", job.name);
                    exit::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::RUN_FAILED
                }
            }
        }
        Command::Campaign { command } => campaign(command).await,
        Command::Schedule { paths } => match cvm::schedule::load(&paths) {
            Ok(jobs) => {
                let log_args = std::env::args().skip(1).take_while(|a| a != "schedule").collect();
                match cvm::schedule::serve(jobs, log_args).await {
                    Ok(()) => exit::SUCCESS,
                    Err(e) => {
                        eprintln!("error: {e}");
                        exit::RUN_FAILED
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::BAD_USAGE
            }
        },
        Command::Status { job, warehouse, limit, json } => status(job, warehouse, limit, json).await,
        Command::Backfill { job, from, to, force, input_root, warehouse } => {
            let Some(job) = load_job(&job, Overrides { input_root, warehouse, ..Default::default() }) else {
                return exit::BAD_USAGE;
            };
            let result = cvm::backfill::backfill(&job, from, to, force, |date, outcome| match outcome {
                cvm::backfill::Outcome::Ran(summary) => println!("{date}  ran      {}", summary.run_id),
                cvm::backfill::Outcome::Skipped { run_id } => {
                    println!("{date}  skipped  already published by {run_id} from the same job file and inputs")
                }
            })
            .await;
            cvm::progress::finish();
            match result {
                Ok(ran) => {
                    println!("backfill done: {ran} snapshots run");
                    exit::SUCCESS
                }
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("error: {e}");
                    match &e {
                        cvm::backfill::BackfillError::Run { source, .. } => exit::for_run_error(source),
                        cvm::backfill::BackfillError::Range { .. } => exit::BAD_USAGE,
                        cvm::backfill::BackfillError::Status { .. } => exit::RUN_FAILED,
                    }
                }
            }
        }
        Command::Report { job, as_of, warehouse } => {
            let Some(job) = load_job(&job, Overrides { warehouse, ..Default::default() }) else {
                return exit::BAD_USAGE;
            };
            match cvm::report::write(&job, as_of).await {
                Ok(url) => {
                    println!("report {url}");
                    exit::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::RUN_FAILED
                }
            }
        }
        Command::Query { sql, warehouse, format, output } => {
            let warehouse = match StoreUrl::parse(&warehouse, std::path::Path::new(".")) {
                Ok(w) => w,
                Err(m) => {
                    eprintln!("error: --warehouse: {m}");
                    return exit::BAD_USAGE;
                }
            };
            match cvm::query::query(&warehouse, &sql, format, output.as_deref()).await {
                Ok(Some(text)) => {
                    println!("{}", text.trim_end());
                    exit::SUCCESS
                }
                Ok(None) => exit::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    if matches!(e, cvm::query::QueryError::OutsideRoot(_)) { exit::BAD_USAGE } else { exit::RUN_FAILED }
                }
            }
        }
    }
}

async fn campaign(command: CampaignCommand) -> u8 {
    use cvm::campaigns::export;
    match command {
        CampaignCommand::List { job, as_of, warehouse } => {
            let Some(job) = load_job(&job, Overrides { warehouse, ..Default::default() }) else {
                return exit::BAD_USAGE;
            };
            match export::list(&job, as_of).await {
                Ok(campaigns) => {
                    println!("{:<24} {:<8} {:>10}", "campaign", "channel", "rows");
                    for c in campaigns {
                        let note = if c.in_job { "" } else { "  (not in the job any more)" };
                        println!("{:<24} {:<8} {:>10}{note}", c.campaign, c.channel.unwrap_or_default(), c.rows);
                    }
                    exit::SUCCESS
                }
                Err(e) => export_failed(&e),
            }
        }
        CampaignCommand::Export { job, campaign, as_of, format, output, with_msisdn, warehouse } => {
            let Some(job) = load_job(&job, Overrides { warehouse, ..Default::default() }) else {
                return exit::BAD_USAGE;
            };
            let output = match job.exports.root.confine(&output) {
                Ok(o) => o,
                Err(m) => {
                    eprintln!("error: --output: {m}");
                    return exit::BAD_USAGE;
                }
            };
            match export::export(&job, as_of, &campaign, format, &output, with_msisdn).await {
                Ok(report) => {
                    println!("{} rows  {}", report.rows, report.file);
                    println!("sha256 {}  sidecar {}.sidecar.json", report.sha256, report.file);
                    exit::SUCCESS
                }
                Err(e) => export_failed(&e),
            }
        }
    }
}

async fn status(job: Option<PathBuf>, warehouse: Option<String>, limit: usize, json: bool) -> u8 {
    let (name, warehouse) = match &job {
        Some(path) => {
            let Some(job) = load_job(path, Overrides { warehouse, ..Default::default() }) else {
                return exit::BAD_USAGE;
            };
            (Some(job.name), job.warehouse)
        }
        None => match StoreUrl::parse(warehouse.as_deref().unwrap_or("warehouse/demo"), std::path::Path::new(".")) {
            Ok(w) => (None, w),
            Err(m) => {
                eprintln!("error: --warehouse: {m}");
                return exit::BAD_USAGE;
            }
        },
    };
    let runs = cvm::status::runs(&warehouse, name.as_deref()).await;
    let locks = cvm::status::locks(&warehouse).await;
    match (runs, locks) {
        (Ok(mut runs), Ok(mut locks)) => {
            runs.truncate(limit);
            locks.retain(|l| name.as_ref().is_none_or(|n| &l.job == n));
            if json {
                for r in &runs {
                    println!("{}", serde_json::to_string(r).unwrap_or_default());
                }
            } else {
                print!("{}", cvm::status::render(&runs, &locks));
            }
            exit::SUCCESS
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            exit::RUN_FAILED
        }
    }
}

fn export_failed(e: &cvm::campaigns::export::ExportError) -> u8 {
    eprintln!("error: {e}");
    if e.is_usage() { exit::BAD_USAGE } else { exit::RUN_FAILED }
}

fn load_job(path: &std::path::Path, overrides: Overrides) -> Option<Job> {
    match Job::load(path, &overrides) {
        Ok(job) => Some(job),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}
