//! The `cvm` command line. Parsing and dispatch only; the work lives in the
//! library, the commands and their arguments in `cvm::commands::cli`.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Parser;

use cvm::commands::cli::{BenchArgs, CampaignCommand, Cli, Command, GenerateArgs, ScreeningCommand};
use cvm::commands::exit::{self, CommandError};
use cvm::job::{Job, Overrides};
use cvm::observe::logging;
use cvm::storage::StoreUrl;

// Ingest builds and drops many large string buffers; glibc's allocator spent
// a third of a run in malloc/free, mimalloc a fraction of that. How it
// treats freed memory: src/observe/allocator.rs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    // deep query plans are planned recursively (Ballista's scheduler binary uses 32 MiB too)
    let runtime = match tokio::runtime::Builder::new_multi_thread().thread_stack_size(32 << 20).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::RUN_FAILED);
        }
    };
    let result = runtime.block_on(dispatch(cli.command));
    cvm::observe::progress::finish();
    match result {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        // the one place a failure is reported and turned into an exit code
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

async fn dispatch(command: Command) -> Result<(), CommandError> {
    match command {
        Command::Run { job, as_of, input_root, warehouse, memory_limit, spill_dir, engine, refit } => {
            let job = Job::load(&job, &Overrides { input_root, warehouse, memory_limit, spill_dir, engine, refit })?;
            cvm::observe::allocator::tune_for_run(job.engine.memory_limit);
            tracing::info!(job = %job.name, snapshot = %as_of, "run started");
            let summary = cvm::run::run(&job, as_of).await?;
            cvm::observe::progress::finish();
            print!("{}", cvm::commands::summary::render(&job, &summary));
        }
        Command::Validate { job, input_root } => validate(job, input_root).await?,
        Command::Campaign { command } => campaign(command).await?,
        Command::Screening { command } => screening(command).await?,
        Command::Schedule { paths } => {
            let jobs = cvm::commands::schedule::load(&paths)?;
            let log_args = std::env::args().skip(1).take_while(|a| a != "schedule").collect();
            cvm::commands::schedule::serve(jobs, log_args).await?;
        }
        Command::Status { job, warehouse, limit, json } => status(job, warehouse, limit, json).await?,
        Command::Generate(args) => generate(args).await?,
        Command::Demo { job, subscribers, days, as_of, seed } => {
            let job = Job::load(&job, &Overrides::default())?;
            cvm::observe::allocator::tune_for_run(job.engine.memory_limit);
            let options = cvm::commands::demo::DemoOptions { subscribers, days, as_of, seed };
            let (landing, summary) = cvm::commands::demo::demo(&job, &options).await?;
            cvm::observe::progress::finish();
            print!("{}\n{}", landing.render(), cvm::commands::summary::render(&job, &summary));
        }
        Command::Bench(args) => bench(args).await?,
        #[cfg(feature = "ballista")]
        Command::Scheduler { bind, external_host, executor_timeout } => {
            cvm::engine::cluster::run_scheduler(
                bind,
                external_host,
                executor_timeout,
                cvm::stages::cluster_codec::plan_codecs(),
            )
            .await?
        }
        #[cfg(feature = "ballista")]
        Command::Executor { scheduler, bind, port, external_host, work_dir, slots, heartbeat } => {
            let Some((host, scheduler_port)) = scheduler.rsplit_once(':').and_then(|(h, p)| Some((h, p.parse().ok()?)))
            else {
                return Err(CommandError::Usage(format!("--scheduler: '{scheduler}' is not HOST:PORT")));
            };
            let options = cvm::engine::cluster::ExecutorOptions {
                scheduler: (host.to_string(), scheduler_port),
                bind_host: bind,
                external_host,
                port,
                work_dir,
                slots,
                heartbeat,
            };
            cvm::engine::cluster::run_executor(options, cvm::stages::cluster_codec::plan_codecs()).await?
        }
        Command::Backfill { job, from, to, force, input_root, warehouse } => {
            backfill(job, from, to, force, Overrides { input_root, warehouse, ..Default::default() }).await?
        }
        Command::Upgrade { warehouse } => upgrade(&warehouse).await?,
        Command::Report { job, as_of, warehouse } => {
            let job = Job::load(&job, &Overrides { warehouse, ..Default::default() })?;
            println!("report {}", cvm::stages::report::write(&job, as_of).await?);
        }
        Command::Query { sql, warehouse, format, output } => {
            let warehouse = parse_url("--warehouse", &warehouse)?;
            if let Some(text) = cvm::commands::query::query(&warehouse, &sql, format, output.as_deref()).await? {
                println!("{}", text.trim_end());
            }
        }
    }
    Ok(())
}

async fn validate(job: PathBuf, input_root: Option<String>) -> Result<(), CommandError> {
    let job = Job::load(&job, &Overrides { input_root, ..Default::default() })?;
    for c in cvm::commands::validate::validate(&job).await? {
        println!("{:<14} {:>5} files  {}", c.source, c.files, c.url);
    }
    for warning in cvm::run::empty_groups::by_construction(&job) {
        println!("WARNING  {warning}");
    }
    println!("job {} is valid", job.name);
    Ok(())
}

async fn backfill(
    job: PathBuf,
    from: NaiveDate,
    to: NaiveDate,
    force: bool,
    overrides: Overrides,
) -> Result<(), CommandError> {
    use cvm::commands::backfill::{self, Outcome};
    let job = Job::load(&job, &overrides)?;
    let ran = backfill::backfill(&job, from, to, force, |date, outcome| match outcome {
        Outcome::Ran(summary) => println!("{date}  ran      {}", summary.run_id),
        Outcome::Skipped { run_id } => {
            println!("{date}  skipped  already published by {run_id} from the same job file and inputs")
        }
    })
    .await?;
    println!("backfill done: {ran} snapshots run");
    Ok(())
}

async fn campaign(command: CampaignCommand) -> Result<(), CommandError> {
    use cvm::stages::campaigns::export;
    match command {
        CampaignCommand::List { job, as_of, warehouse } => {
            let job = Job::load(&job, &Overrides { warehouse, ..Default::default() })?;
            println!("{:<24} {:<8} {:>10} {:>10}", "campaign", "channel", "rows", "control");
            for c in export::list(&job, as_of).await? {
                let note = if c.in_job { "" } else { "  (not in the job any more)" };
                let channel = c.channel.unwrap_or_default();
                println!("{:<24} {:<8} {:>10} {:>10}{note}", c.campaign, channel, c.rows, c.control);
            }
        }
        CampaignCommand::Effect { job, as_of, warehouse } => {
            let job = Job::load(&job, &Overrides { warehouse, ..Default::default() })?;
            match export::effect(&job, as_of).await? {
                Some(table) => {
                    println!("{table}");
                    println!(
                        "uplift = control churn - contact churn, in percentage points (positive: the contact kept lines)"
                    );
                }
                None => println!("no wave measured at {as_of}: a list is measured from the night after it is drawn"),
            }
        }
        CampaignCommand::Export { job, campaign, as_of, format, output, with_msisdn, warehouse } => {
            let job = Job::load(&job, &Overrides { warehouse, ..Default::default() })?;
            let output = export_output(&job, &output)?;
            print_export(&export::export(&job, as_of, &campaign, format, &output, with_msisdn).await?);
        }
    }
    Ok(())
}

/// An export's `--output`, which must lie under the job's exports root.
fn export_output(job: &Job, output: &str) -> Result<cvm::storage::StoreUrl, CommandError> {
    job.exports
        .root
        .confine(output)
        .map_err(|source| CommandError::Location { option: "--output".into(), source: Box::new(source) })
}

fn print_export(report: &cvm::stages::campaigns::export::ExportReport) {
    println!("{} rows  {}", report.rows, report.file);
    println!("sha256 {}  sidecar {}.sidecar.json", report.sha256, report.file);
}

async fn screening(command: ScreeningCommand) -> Result<(), CommandError> {
    use cvm::stages::campaigns::export;
    match command {
        ScreeningCommand::Export { job, as_of, format, output, level, with_msisdn, warehouse } => {
            let job = Job::load(&job, &Overrides { warehouse, ..Default::default() })?;
            let output = export_output(&job, &output)?;
            print_export(&export::export_fraud_review(&job, as_of, level, format, &output, with_msisdn).await?);
        }
    }
    Ok(())
}

async fn bench(args: BenchArgs) -> Result<(), CommandError> {
    let options = cvm::commands::bench::BenchOptions {
        subscribers: args.subscribers,
        days: args.days,
        cdr_per_subscriber: args.cdr_per_subscriber,
        as_of: args.as_of,
        dir: args.dir,
        format: args.format,
        memory_limit: args.memory_limit,
        seed: args.seed,
        duckdb: args.duckdb,
    };
    Ok(cvm::commands::bench::bench(&options).await?)
}

async fn generate(args: GenerateArgs) -> Result<(), CommandError> {
    let out = parse_url("--out", &args.out)?;
    let campaigns_from = match args.campaigns_from.as_deref() {
        Some(warehouse) => Some(parse_url("--campaigns-from", warehouse)?.as_folder()),
        None => None,
    };
    let options = cvm::generate::Options {
        world_date: args.world_date,
        campaigns_from,
        treatment_scale: args.treatment_scale,
        plant: args.plant.unwrap_or_default(),
        seed: args.seed,
        dirty: args.dirty,
        format: args.format,
        cdr_per_day: args.cdr_per_day,
        recharge_days: args.recharge_days,
        only_cdr_day: args.only_cdr_day,
        shard_size: args.shard_size,
        threads: args.threads,
        ..cvm::generate::Options::new(args.subscribers, args.days, args.as_of, out)
    };
    print!("{}", cvm::generate::generate(&options).await?.render());
    Ok(())
}

async fn upgrade(warehouse: &str) -> Result<(), CommandError> {
    use cvm::commands::upgrade::{self, Upgraded};
    let url = parse_url("warehouse", warehouse)?;
    let location = cvm::storage::Location::open(&url.as_folder(), &Default::default())?;
    let upgraded = upgrade::upgrade(&location)
        .await
        .map_err(|source| CommandError::Upgrade { warehouse: warehouse.to_string(), source })?;
    match upgraded {
        Upgraded::Empty => println!("{warehouse}: nothing published yet; nothing to convert"),
        Upgraded::AlreadyCurrent => println!("{warehouse}: its tables are Delta Lake tables already"),
        Upgraded::Converted(tables) => {
            for (table, files) in tables {
                println!("{table}: {files} files, now version 0 of its Delta log");
            }
        }
    }
    Ok(())
}

async fn status(job: Option<PathBuf>, warehouse: Option<String>, limit: usize, json: bool) -> Result<(), CommandError> {
    let (name, warehouse, storage) = match &job {
        Some(path) => {
            let job = Job::load(path, &Overrides { warehouse, ..Default::default() })?;
            (Some(job.name), job.warehouse, job.storage)
        }
        None => (None, parse_url("--warehouse", warehouse.as_deref().unwrap_or("warehouse/demo"))?, Default::default()),
    };
    let warehouse = cvm::storage::Location::open(&warehouse, &storage)?;
    let mut runs = cvm::commands::status::runs(&warehouse, name.as_deref()).await?;
    let mut locks = cvm::commands::status::locks(&warehouse).await?;
    runs.truncate(limit);
    locks.retain(|l| name.as_ref().is_none_or(|n| &l.job == n));
    if json {
        for r in &runs {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
    } else {
        print!("{}", cvm::commands::status::render(&runs, &locks));
    }
    Ok(())
}

/// A URL or path given on the command line, relative to the working
/// directory; the error is a usage error naming the option. (Every command
/// returns the large `CommandError`; this runs once per command.)
#[allow(clippy::result_large_err)]
fn parse_url(option: &str, text: &str) -> Result<StoreUrl, CommandError> {
    StoreUrl::parse(text, std::path::Path::new("."))
        .map_err(|source| CommandError::Location { option: option.into(), source: Box::new(source) })
}
