//! The training windows: the features at each date, read from the engine
//! (sampled, in subscriber order), and windows stacked into a training set.

use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionContext, col, lit};

use super::feature_names;
use crate::maths::churn::catalogue;
use crate::maths::churn::encoding::FeatureColumns;
use crate::stages::models::frames::{self, Frame};

/// One window's rows, pulled from the engine.
pub(super) struct Window {
    pub x: FeatureColumns,
    pub y: Vec<bool>,
    pub keys: Vec<f64>,
    /// Share of the window's lines the rows are (1 = all).
    pub share: f64,
    /// Lines active at the window's date, before sampling.
    pub population: u64,
}

/// The features at the view's date: a sample of at most `budget` rows by
/// sample_key, without the lines that end involuntarily within the horizon.
pub(super) async fn load(ctx: &SessionContext, budget: u64) -> Result<Window, DataFusionError> {
    let population = active_lines(ctx).await?;
    let share = crate::stages::models::share_of(population, budget);
    let mut columns = feature_names();
    columns.extend(["churns_within_horizon", "sample_key"]);
    let mut df = ctx.table("int_churn_features").await?.filter(!col("ends_involuntarily_within_horizon"))?;
    if share < 1.0 {
        df = df.filter(col("sample_key").lt(lit(share)))?;
    }
    // ordered by subscriber: the same rows in the same order give the same fit
    let df = df.sort(vec![col("subscriber_id").sort(true, false)])?.select_columns(&columns)?;
    let frame = Frame::collect(df).await?;
    let x = FeatureColumns {
        numeric: catalogue::NUMERIC.iter().map(|f| frame.f64s(f.name)).collect::<Result<_, _>>()?,
        categorical: catalogue::CATEGORICAL.iter().map(|f| frame.strings(f.name)).collect::<Result<_, _>>()?,
    };
    Ok(Window { x, y: frame.bools("churns_within_horizon")?, keys: frame.f64s("sample_key")?, share, population })
}

/// The rows of int_churn_features at the view's date, without computing any feature: a row per
/// line active then (int_tenure_computed's is_active), since each of its joins adds at most one
/// row per line (every table it joins has a row per subscriber at most). Counting the view itself
/// evaluates every window and join below it. Debug builds (the tests) count both ways and require
/// the same figure.
async fn active_lines(ctx: &SessionContext) -> Result<u64, DataFusionError> {
    let active = ctx.table("int_tenure_computed").await?.filter(col("is_active"))?.count().await? as u64;
    if cfg!(debug_assertions) {
        let rows = frames::count(ctx, "int_churn_features").await?;
        assert_eq!(active, rows, "int_churn_features has a row per active line");
    }
    Ok(active)
}

pub(super) fn positives(y: &[bool]) -> u64 {
    y.iter().filter(|v| **v).count() as u64
}

/// Windows stacked into one training set.
pub(super) fn stack(windows: &[&Window]) -> (FeatureColumns, Vec<bool>) {
    let mut x = FeatureColumns::default();
    let mut y = Vec::new();
    for (i, w) in windows.iter().enumerate() {
        if i == 0 {
            x = w.x.clone();
        } else {
            for (all, more) in x.numeric.iter_mut().zip(&w.x.numeric) {
                all.extend_from_slice(more);
            }
            for (all, more) in x.categorical.iter_mut().zip(&w.x.categorical) {
                all.extend(more.iter().cloned());
            }
        }
        y.extend_from_slice(&w.y);
    }
    (x, y)
}
