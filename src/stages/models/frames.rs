//! Pulling a query's (small) result into plain Rust columns for the models.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

/// A collected result: its batches, read column by column.
pub struct Frame(Vec<RecordBatch>);

impl Frame {
    /// Collects a DataFrame.
    pub async fn collect(df: datafusion::dataframe::DataFrame) -> Result<Frame, DataFusionError> {
        Ok(Frame(df.collect().await?))
    }

    pub fn rows(&self) -> usize {
        self.0.iter().map(|b| b.num_rows()).sum()
    }

    fn column(&self, name: &str, to: &DataType) -> Result<Vec<std::sync::Arc<dyn Array>>, DataFusionError> {
        self.0
            .iter()
            .map(|b| {
                let column = b
                    .column_by_name(name)
                    .ok_or_else(|| DataFusionError::Internal(format!("model input has no column {name}")))?;
                Ok(cast(column, to)?)
            })
            .collect()
    }

    /// A numeric column as f64; nulls become NaN (the model inputs fill their gaps in SQL).
    pub fn f64s(&self, name: &str) -> Result<Vec<f64>, DataFusionError> {
        let arrays = self.column(name, &DataType::Float64)?;
        Ok(arrays.iter().flat_map(|a| a.as_primitive::<Float64Type>().iter().map(|v| v.unwrap_or(f64::NAN))).collect())
    }

    /// An integer column; nulls become 0.
    pub fn i64s(&self, name: &str) -> Result<Vec<i64>, DataFusionError> {
        let arrays = self.column(name, &DataType::Int64)?;
        Ok(arrays.iter().flat_map(|a| a.as_primitive::<Int64Type>().iter().map(|v| v.unwrap_or(0))).collect())
    }

    /// A boolean column; nulls become false.
    pub fn bools(&self, name: &str) -> Result<Vec<bool>, DataFusionError> {
        let arrays = self.column(name, &DataType::Boolean)?;
        Ok(arrays.iter().flat_map(|a| a.as_boolean().iter().map(|v| v.unwrap_or(false))).collect())
    }

    /// A date column; nulls are skipped (the callers' date columns have none).
    pub fn dates(&self, name: &str) -> Result<Vec<chrono::NaiveDate>, DataFusionError> {
        let arrays = self.column(name, &DataType::Date32)?;
        Ok(arrays
            .iter()
            .flat_map(|a| a.as_primitive::<Date32Type>().iter().flatten().filter_map(Date32Type::to_naive_date_opt))
            .collect())
    }

    /// A text column; nulls become "".
    pub fn strings(&self, name: &str) -> Result<Vec<String>, DataFusionError> {
        let arrays = self.column(name, &DataType::Utf8)?;
        Ok(arrays
            .iter()
            .flat_map(|a| a.as_string::<i32>().iter().map(|v| v.unwrap_or("").to_string()).collect::<Vec<_>>())
            .collect())
    }
}

/// Rows of a table or view (evaluating it).
pub async fn count(ctx: &SessionContext, table: &str) -> Result<u64, DataFusionError> {
    let n = ctx.table(table).await?.count().await?;
    Ok(n as u64)
}
