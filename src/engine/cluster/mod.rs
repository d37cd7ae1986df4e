//! Running cvm on an Apache DataFusion Ballista cluster (the `ballista`
//! feature): `cvm scheduler` and `cvm executor` start Ballista's own
//! processes with cvm's functions and object-store registry, and
//! [`client_context`] turns a cvm session into a client of such a cluster.
//! One binary for every role keeps the three sides agreeing on every
//! function and store by construction.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::extension::{
    SessionConfigExt, SessionStateExt, ballista_aggregate_functions, ballista_scalar_functions,
    ballista_window_functions,
};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::{ConfigProducer, RuntimeProducer};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::PhysicalExtensionCodec;

use crate::storage::StorageSettings;
use crate::storage::registry::StoreRegistry;

/// The codecs that carry cvm's own plan nodes (its extract scan, staged
/// tables, published tables) between the processes of a cluster. They are
/// given by the layer that defines those nodes (`stages::cluster_codec`):
/// every role must use the same ones.
#[derive(Debug, Clone)]
pub struct PlanCodecs {
    pub logical: Arc<dyn LogicalExtensionCodec>,
    pub physical: Arc<dyn PhysicalExtensionCodec>,
}

/// A cluster process that could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[error("{role}: {message}")]
pub struct ClusterError {
    pub role: &'static str,
    pub message: String,
}

/// Where `cvm executor` listens and whom it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host and port.
    pub scheduler: (String, u16),
    /// The address to listen on (an IP literal).
    pub bind_host: String,
    /// The host the scheduler, the other executors and clients reach this
    /// executor at; None: the address the scheduler sees it connect from.
    pub external_host: Option<String>,
    /// Arrow Flight port (shuffle and results); the task port is the next one.
    pub port: u16,
    /// Shuffle and spill files.
    pub work_dir: PathBuf,
    /// Tasks run at once (0: one per core).
    pub slots: usize,
    /// Seconds between heartbeats to the scheduler.
    pub heartbeat: u64,
}

/// The settings every process of a cluster starts from: Ballista's, with
/// cvm's session settings (UTC, plain strings, Parquet row groups) on top.
/// The client sends its own values with every job; these fill in the rest.
fn config_producer() -> SessionConfig {
    super::settings::cvm_settings(SessionConfig::new_with_ballista())
}

/// A cluster process's runtime. Its stores take object_store's default
/// retries and timeouts: a job's `[storage]` reaches the client's session
/// only (a cluster serves many jobs).
fn runtime(work_dir: Option<&PathBuf>) -> Result<Arc<RuntimeEnv>, DataFusionError> {
    let registry = StoreRegistry::new(StorageSettings::default());
    let mut builder = RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(registry));
    if let Some(dir) = work_dir {
        builder = builder.with_temp_file_path(dir);
    }
    builder.build_arc()
}

/// The scheduler's session for one job: Ballista's planner rules and
/// functions, plus cvm's functions and stores.
fn session_builder(config: SessionConfig) -> Result<SessionState, DataFusionError> {
    let mut state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime(None)?)
        .with_optimizer_rules(ballista_core::optimizer::ballista_default_optimizer_rules())
        .with_scalar_functions(ballista_scalar_functions())
        .with_aggregate_functions(ballista_aggregate_functions())
        .with_window_functions(ballista_window_functions())
        .build();
    crate::engine::udf::register(&mut state)?;
    Ok(state)
}

/// Runs a Ballista scheduler on `bind` until it fails or the process ends.
/// `external_host` is the name executors reach it by (default: the bind IP).
/// An executor silent for `executor_timeout` seconds is dead: its tasks are
/// run again elsewhere.
pub async fn run_scheduler(
    bind: SocketAddr,
    external_host: Option<String>,
    executor_timeout: u64,
    codecs: PlanCodecs,
) -> Result<(), ClusterError> {
    let err = |e: &dyn std::fmt::Display| ClusterError { role: "scheduler", message: e.to_string() };
    let config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        bind_port: bind.port(),
        external_host: external_host.unwrap_or_else(|| bind.ip().to_string()),
        executor_timeout_seconds: executor_timeout,
        // how long jobs wait when no executor is left; Ballista advises no less than the timeout
        no_executors_grace_period_seconds: executor_timeout,
        override_logical_codec: Some(codecs.logical),
        override_physical_codec: Some(codecs.physical),
        ..Default::default()
    }
    .with_override_session_builder(Arc::new(session_builder))
    .with_override_config_producer(Arc::new(config_producer) as ConfigProducer);
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(|e| err(&e))?;
    tracing::info!(%bind, "scheduler listening");
    start_server(cluster, bind, Arc::new(config)).await.map_err(|e| err(&e))
}

/// Runs a Ballista executor until it is stopped (SIGTERM or Ctrl-C: it
/// tells the scheduler and drains its tasks first).
pub async fn run_executor(options: ExecutorOptions, codecs: PlanCodecs) -> Result<(), ClusterError> {
    let err = |e: &dyn std::fmt::Display| ClusterError { role: "executor", message: e.to_string() };
    std::fs::create_dir_all(&options.work_dir).map_err(|e| err(&format!("{}: {e}", options.work_dir.display())))?;
    let work_dir = options.work_dir.clone();
    let runtime_producer: RuntimeProducer = Arc::new(move |_config: &SessionConfig| runtime(Some(&work_dir)));
    let functions = BallistaFunctionRegistry::from(&session_builder(config_producer()).map_err(|e| err(&e))?);
    let config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: options.external_host.clone(),
        port: options.port,
        grpc_port: options.port + 1,
        scheduler_host: options.scheduler.0.clone(),
        scheduler_port: options.scheduler.1,
        scheduler_connect_timeout_seconds: 30,
        vcores: options.slots,
        executor_heartbeat_interval_seconds: options.heartbeat,
        work_dir: Some(options.work_dir.display().to_string()),
        // shuffle files of finished jobs are removed by the scheduler's
        // clean-up; this also clears what a killed job left behind
        job_data_clean_up_interval_seconds: 600,
        override_runtime_producer: Some(runtime_producer),
        override_config_producer: Some(Arc::new(config_producer)),
        override_function_registry: Some(Arc::new(functions)),
        override_logical_codec: Some(codecs.logical),
        override_physical_codec: Some(codecs.physical),
        ..Default::default()
    };
    tracing::info!(scheduler = %format!("{}:{}", options.scheduler.0, options.scheduler.1), port = options.port, "executor starting");
    start_executor_process(Arc::new(config)).await.map_err(|e| err(&e))
}

/// A client of the cluster at `url` (`df://HOST:PORT`) with `state`'s
/// settings, tables and stores. Ballista replaces the state's function
/// lists with its own, so cvm's functions are registered again on the
/// context.
pub fn client_context(url: &str, state: SessionState, codecs: PlanCodecs) -> Result<SessionContext, DataFusionError> {
    let endpoint = scheduler_endpoint(url)?;
    // cvm's codecs carry its extract scan to the scheduler (read at the upgrade)
    let mut state = state;
    let config = std::mem::take(state.config_mut())
        .with_ballista_logical_extension_codec(codecs.logical)
        .with_ballista_physical_extension_codec(codecs.physical);
    *state.config_mut() = config;
    let mut state = state.upgrade_for_ballista(endpoint)?;
    // Ballista 55's adaptive planner re-planned one of the scoring queries
    // without end (thousands of tasks, the job never finishing); the static
    // planner runs every cvm query
    state.config_mut().options_mut().set("ballista.planner.adaptive.enabled", "false")?;
    crate::engine::udf::register(&mut state)?;
    Ok(SessionContext::new_with_state(state))
}

/// `df://HOST:PORT` as the scheduler's gRPC endpoint (`http://HOST:PORT`).
fn scheduler_endpoint(url: &str) -> Result<String, DataFusionError> {
    let parsed = url::Url::parse(url).map_err(|e| DataFusionError::Configuration(format!("engine {url}: {e}")))?;
    let host =
        parsed.host_str().ok_or_else(|| DataFusionError::Configuration(format!("engine {url}: no scheduler host")))?;
    Ok(format!("http://{host}:{}", parsed.port().unwrap_or(50050)))
}
