//! A profiling aid: `CVM_EXPLAIN_ANALYZE=int_billing_monthly,score_churn` logs
//! the executed plan of each SQL file named, with every operator's rows and
//! time (DataFusion's EXPLAIN ANALYZE), when the run plans it. The query then
//! runs twice, once for the plan and once for the run: for finding where a
//! slow step spends its time (docs/benchmarks.md), not for nightly runs.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;

const VARIABLE: &str = "CVM_EXPLAIN_ANALYZE";

/// Logs `df`'s executed plan when `name` is among the files the variable names.
pub(super) async fn if_asked(name: &str, df: &DataFrame) {
    if !asked(&std::env::var(VARIABLE).unwrap_or_default(), name) {
        return;
    }
    let started = std::time::Instant::now();
    match executed_plan(df).await {
        Ok(text) => {
            let seconds = started.elapsed().as_secs_f64();
            tracing::info!(file = name, seconds, "executed plan of {name}:\n{text}");
        }
        Err(e) => tracing::warn!(file = name, "{VARIABLE}: {e}"),
    }
}

/// Whether the comma-separated `list` names `name`.
fn asked(list: &str, name: &str) -> bool {
    list.split(',').any(|n| n.trim() == name)
}

/// The physical plan after running it, each operator with its metrics.
async fn executed_plan(df: &DataFrame) -> Result<String, DataFusionError> {
    let mut text = String::new();
    for batch in df.clone().explain(false, true)?.collect().await? {
        // columns: plan_type, plan
        let plans = cast(batch.column(1), &DataType::Utf8)?;
        for plan in plans.as_string::<i32>().iter().flatten() {
            text.push_str(plan);
            text.push('\n');
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[test]
    fn the_variable_names_files_by_exact_name() {
        assert!(asked("int_billing_monthly, score_churn", "score_churn"));
        assert!(!asked("int_billing_monthly", "int_billing"));
        assert!(!asked("", "kpi"));
    }

    #[tokio::test]
    async fn the_plan_shows_each_operators_rows() {
        let ctx = SessionContext::new();
        let df = ctx
            .sql("SELECT v % 3 AS k, COUNT(*) AS n FROM (VALUES (1), (2), (3), (4)) AS t (v) GROUP BY 1")
            .await
            .unwrap();
        let text = executed_plan(&df).await.unwrap();
        assert!(text.contains("AggregateExec"), "{text}");
        assert!(text.contains("output_rows=3"), "{text}");
    }
}
