//! What cvm's one-input plans ([`super::scan::RawScanExec`],
//! [`super::stage_write::StageWriteExec`]) share: one output partition per
//! input partition, and taking their single input apart from a list.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{ExecutionPlan, Partitioning, PlanProperties};

/// The properties of a plan with `schema` and one partition per partition
/// of `input`.
pub fn properties(schema: SchemaRef, input: &Arc<dyn ExecutionPlan>, emission: EmissionType) -> Arc<PlanProperties> {
    let partitions = input.properties().output_partitioning().partition_count();
    Arc::new(PlanProperties::new(
        EquivalenceProperties::new(schema),
        Partitioning::UnknownPartitioning(partitions),
        emission,
        Boundedness::Bounded,
    ))
}

/// The one input of the plan `name` (its children, or the inputs a codec decoded).
pub fn only_input(inputs: &[Arc<dyn ExecutionPlan>], name: &str) -> Result<Arc<dyn ExecutionPlan>> {
    match inputs {
        [input] => Ok(input.clone()),
        _ => Err(DataFusionError::Internal(format!("{name} has one input, not {}", inputs.len()))),
    }
}
