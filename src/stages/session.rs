//! The engine a run's stages work through, chosen once: on one machine, or
//! on a Ballista cluster. A stage asks it for the session and hands it the
//! small tables it computes in this process (job settings, fitted models,
//! lists); where those go is the handle's business: memory on one machine,
//! the run's staging on a cluster, whose executors cannot read this
//! process's memory. The few stages that run differently on a cluster (ingest
//! writes its staged tables task by task) ask [`RunSession::on_cluster`].

use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use crate::engine::{self, EngineOptions};
use crate::storage::StorageSettings;
use crate::warehouse::staging::RunStaging;
use crate::warehouse::tables;

pub struct RunSession<'a> {
    ctx: SessionContext,
    /// On a cluster, the run's staging, where small tables are written.
    cluster_staging: Option<&'a RunStaging>,
}

impl<'a> RunSession<'a> {
    /// Opens a run's engine: in this process, or a client of the Ballista
    /// cluster `options` names.
    pub fn for_run(
        options: &EngineOptions,
        storage: &StorageSettings,
        staging: &'a RunStaging,
    ) -> Result<RunSession<'a>, DataFusionError> {
        let ctx = match &options.cluster {
            None => engine::session(options, storage)?,
            Some(url) => cluster_client(url, options, storage)?,
        };
        Ok(RunSession { ctx, cluster_staging: options.cluster.as_ref().map(|_| staging) })
    }

    /// A session in this process only (`cvm validate`, a model's own
    /// session, tests): small tables stay in memory.
    pub fn local(ctx: SessionContext) -> RunSession<'static> {
        RunSession { ctx, cluster_staging: None }
    }

    pub fn ctx(&self) -> &SessionContext {
        &self.ctx
    }

    pub fn on_cluster(&self) -> bool {
        self.cluster_staging.is_some()
    }

    /// Registers a small table computed in this process as `name`.
    pub async fn register_small(&self, name: &str, batch: RecordBatch) -> Result<(), DataFusionError> {
        match self.cluster_staging {
            None => tables::register_in_memory(&self.ctx, name, batch),
            Some(staging) => tables::register_staged(&self.ctx, staging, name, batch).await,
        }
    }
}

/// A client of the cluster at `url`, shipping cvm's own plan nodes with the
/// codecs of [`super::cluster_codec`].
#[cfg(feature = "ballista")]
fn cluster_client(
    url: &str,
    options: &EngineOptions,
    storage: &StorageSettings,
) -> Result<SessionContext, DataFusionError> {
    let state = engine::session_state(options, storage)?;
    engine::cluster::client_context(url, state, super::cluster_codec::plan_codecs())
}

#[cfg(not(feature = "ballista"))]
fn cluster_client(
    url: &str,
    _options: &EngineOptions,
    _storage: &StorageSettings,
) -> Result<SessionContext, DataFusionError> {
    Err(DataFusionError::Configuration(format!(
        "engine {url}: this cvm was built without Ballista (build with `--features ballista`)"
    )))
}
