//! A staging query's verdicts: where each row's rule, warnings and
//! provenance sit among its columns, rejected rows in the `rejects` table's
//! shape, and the counts per rule a source's report keeps.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::error::DataFusionError;

use super::{IngestError, rejects_schema, staged_positions};
use crate::warehouse::manifest::SourceReport;

/// The columns of a source's staging query: which are staged, and where
/// the row's verdict and provenance sit.
pub(crate) struct Staging {
    pub staged_schema: SchemaRef,
    /// The staged columns' positions in the query's output.
    pub keep: Vec<usize>,
    pub file: usize,
    pub row: usize,
    pub raw: usize,
    pub rule: usize,
    pub warnings: usize,
}

impl Staging {
    pub(super) fn of(
        df: &datafusion::dataframe::DataFrame,
        sql_err: &dyn Fn(DataFusionError) -> IngestError,
    ) -> Result<Staging, IngestError> {
        let full_schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let keep = staged_positions(&full_schema);
        let staged_schema = Arc::new(full_schema.project(&keep).map_err(|e| sql_err(e.into()))?);
        let column = |n: &str| full_schema.index_of(n).map_err(|e| sql_err(e.into()));
        Ok(Staging {
            staged_schema,
            keep,
            file: column("_file")?,
            row: column("_row")?,
            raw: column("_raw")?,
            rule: column("_reject_rule")?,
            warnings: column("_warnings")?,
        })
    }
}

/// Rejected rows in the `rejects` table's schema.
pub(crate) fn reject_rows(
    source: &str,
    file: &ArrayRef,
    row: &ArrayRef,
    rule: &ArrayRef,
    raw: &ArrayRef,
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let n = rule.len();
    RecordBatch::try_new(
        rejects_schema(),
        vec![
            Arc::new(StringArray::from(vec![source; n])),
            datafusion::arrow::compute::cast(file, &DataType::Utf8)?,
            datafusion::arrow::compute::cast(row, &DataType::Int64)?,
            datafusion::arrow::compute::cast(rule, &DataType::Utf8)?,
            datafusion::arrow::compute::cast(raw, &DataType::Utf8)?,
        ],
    )
}

/// Adds a batch of rejects (in the `rejects` schema) to the source's counts.
pub(crate) fn count_rejects(rejects: &RecordBatch, report: &mut SourceReport) {
    for rule in rejects.column(3).as_string::<i32>().iter().flatten() {
        *report.rejects_by_rule.entry(rule.to_string()).or_default() += 1;
    }
    report.rows_rejected += rejects.num_rows() as u64;
}

pub(super) fn count_warnings(warnings: &StringArray, counts: &mut BTreeMap<String, u64>) {
    for text in warnings.iter().flatten() {
        add_warnings(text, 1, counts);
    }
}

/// Counts each rule of a comma-separated warnings list `rows` times.
pub(crate) fn add_warnings(list: &str, rows: u64, counts: &mut BTreeMap<String, u64>) {
    for rule in list.split(',').filter(|r| !r.is_empty()) {
        *counts.entry(rule.to_string()).or_default() += rows;
    }
}
