//! A profiling aid: `CVM_EXPLAIN_ANALYZE=int_billing_monthly,score_churn` logs
//! the executed plan of each SQL file named, with every operator's rows and
//! time (DataFusion's EXPLAIN ANALYZE), when the run plans it. The query then
//! runs twice, once for the plan and once for the run: for finding where a
//! slow step spends its time (docs/benchmarks.md), not for nightly runs.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::dataframe::DataFrame;

const VARIABLE: &str = "CVM_EXPLAIN_ANALYZE";

/// Logs `df`'s executed plan when `name` is among the files the variable names.
pub(super) async fn if_asked(name: &str, df: &DataFrame) {
    let asked = std::env::var(VARIABLE).unwrap_or_default();
    if !asked.split(',').any(|n| n.trim() == name) {
        return;
    }
    let started = std::time::Instant::now();
    match df.clone().explain(false, true) {
        Ok(explain) => match explain.collect().await {
            Ok(batches) => {
                let mut text = String::new();
                for batch in &batches {
                    // columns: plan_type, plan
                    let Ok(plans) = cast(batch.column(1), &DataType::Utf8) else { continue };
                    for plan in plans.as_string::<i32>().iter().flatten() {
                        text.push_str(plan);
                        text.push('\n');
                    }
                }
                let seconds = started.elapsed().as_secs_f64();
                tracing::info!(file = name, seconds, "executed plan of {name}:\n{text}");
            }
            Err(e) => tracing::warn!(file = name, "{VARIABLE}: {e}"),
        },
        Err(e) => tracing::warn!(file = name, "{VARIABLE}: {e}"),
    }
}
