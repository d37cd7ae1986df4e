//! The screening step's own work beside its SQL: the model library, and
//! the rule families' lines gathered into one table.
//!
//! - [`profile`]: the unsupervised anomaly score over each line's usage profile;
//! - [`fraud_model`]: the supervised model, where confirmed fraud cases exist;
//! - [`fired_lines`]: every rule family of sql/screening run and its lines
//!   registered, together, as one small table, [`FIRED_TABLE`], which the
//!   screening mart reads: the families fire on a few lines per thousand, and
//!   the mart's plan then reads one table instead of every family's joins (on
//!   a Ballista cluster, the union of the families in one plan lost its
//!   executors, and the union of their written tables returned one family's
//!   rows once per family).

pub mod fraud_model;
pub mod profile;

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::error::DataFusionError;

use crate::engine::sqlfiles::Layer;
use crate::engine::{self, Params};
use crate::stages::session::RunSession;

pub use fraud_model::{MODEL_TABLE, empty_model_lines, fraud_model_lines};
pub use profile::{OUTLIERS_TABLE, ProfileFit, empty_outliers, profile_outliers};

/// Every rule family's lines: subscriber_id, rule, weight, figure, reason.
pub const FIRED_TABLE: &str = "screen_fired";

/// Runs every rule family of sql/screening and registers their lines,
/// together, as [`FIRED_TABLE`]. The families' headers declare the same
/// columns; a family whose output differs is an error naming it.
pub async fn fired_lines(session: &RunSession<'_>, params: &Params) -> Result<usize, DataFusionError> {
    let mut schema: Option<SchemaRef> = None;
    let mut batches = Vec::new();
    let families =
        engine::layer_in_order(session.ctx(), Layer::Screening).map_err(|e| DataFusionError::External(Box::new(e)))?;
    for file in families {
        let started = std::time::Instant::now();
        let df = engine::plan(session.ctx(), file, params).await.map_err(|e| DataFusionError::External(Box::new(e)))?;
        // names and types must agree; any column may be null in the table
        let this: SchemaRef = Arc::new(Schema::new(
            df.schema().as_arrow().fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect::<Vec<_>>(),
        ));
        match &schema {
            None => schema = Some(this.clone()),
            Some(first) if first != &this => {
                return Err(DataFusionError::Plan(format!(
                    "{}: its columns differ from the other rule families' ({this:?} against {first:?})",
                    file.path()
                )));
            }
            Some(_) => {}
        }
        let mut rows = 0;
        for batch in df.collect().await? {
            rows += batch.num_rows();
            batches.push(RecordBatch::try_new(this.clone(), batch.columns().to_vec())?);
        }
        tracing::debug!(family = file.name, rows, seconds = started.elapsed().as_secs_f64(), "rule family");
    }
    let schema = schema.expect("sql/screening has rule families");
    let fired = datafusion::arrow::compute::concat_batches(&schema, &batches)?;
    let lines = fired.num_rows();
    session.register_small(FIRED_TABLE, fired).await?;
    Ok(lines)
}
