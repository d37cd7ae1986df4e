//! The earlier snapshots sql/marts/tier_migration.sql compares T with: the
//! newest published snapshot before T, and the newest on or before T minus
//! 3 and 12 months. They are chosen here, from the warehouse's last commit,
//! so that the engine reads those snapshots' customer_value files only, not
//! the table's whole history. Only snapshots before T count, so a re-run of
//! a night compares with what its first run compared with.

use std::sync::Arc;

use chrono::{Months, NaiveDate};
use datafusion::arrow::array::{Date32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::prelude::{cast, col};

use crate::stages::session::RunSession;
use crate::storage::StoreUrl;
use crate::warehouse::commit::Commit;

const TABLE: &str = "customer_value";

/// The comparisons and the snapshot each compares with, among `published`
/// snapshots (any order): previous, 3_months, 12_months, those that exist.
pub fn comparisons(as_of: NaiveDate, published: &[NaiveDate]) -> Vec<(&'static str, NaiveDate)> {
    let newest_until = |last: Option<NaiveDate>| published.iter().copied().filter(|d| Some(*d) <= last).max();
    let before = as_of.pred_opt();
    [
        ("previous", newest_until(before)),
        ("3_months", newest_until(as_of.checked_sub_months(Months::new(3)))),
        ("12_months", newest_until(as_of.checked_sub_months(Months::new(12)))),
    ]
    .into_iter()
    .filter_map(|(name, date)| Some((name, date?)))
    .collect()
}

/// The published snapshots of customer_value in `commit`.
fn published_snapshots(commit: &Commit) -> Vec<NaiveDate> {
    let mut dates: Vec<NaiveDate> = commit
        .files
        .iter()
        .filter(|f| f.table == TABLE)
        .filter_map(|f| f.partition.strip_prefix("snapshot_date="))
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .collect();
    dates.sort();
    dates.dedup();
    dates
}

fn comparisons_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("comparison", DataType::Utf8, false),
        Field::new("from_snapshot", DataType::Date32, false),
    ]))
}

/// The columns of `customer_value_compared`.
fn compared_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("snapshot_date", DataType::Date32, true),
        Field::new("subscriber_id", DataType::Utf8, true),
        Field::new("value_tier", DataType::Utf8, true),
        Field::new("revenue_12m", DataType::Decimal128(18, 4), true),
    ]))
}

/// Registers `tier_comparisons` (comparison, from_snapshot) and
/// `customer_value_compared` (those snapshots' published rows), both empty on
/// a first night. `published` is the warehouse's last commit.
pub async fn register(
    session: &RunSession<'_>,
    warehouse: &StoreUrl,
    as_of: NaiveDate,
    published: Option<&Commit>,
) -> Result<(), DataFusionError> {
    let chosen = comparisons(as_of, &published.map(published_snapshots).unwrap_or_default());
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
    let days: Vec<i32> = chosen.iter().map(|(_, d)| (*d - epoch).num_days() as i32).collect();
    let comparisons = RecordBatch::try_new(
        comparisons_schema(),
        vec![
            Arc::new(StringArray::from(chosen.iter().map(|(name, _)| *name).collect::<Vec<_>>())),
            Arc::new(Date32Array::from(days)),
        ],
    )?;
    session.register_small("tier_comparisons", comparisons).await?;

    let ctx = session.ctx();
    let (Some(commit), false) = (published, chosen.is_empty()) else {
        return session.register_small("customer_value_compared", RecordBatch::new_empty(compared_schema())).await;
    };
    // the commit's customer_value files of the compared snapshots only
    let wanted: Vec<String> = chosen.iter().map(|(_, d)| format!("snapshot_date={d}")).collect();
    let mut files = commit.clone();
    files.files.retain(|f| f.table == TABLE && wanted.contains(&f.partition));
    crate::warehouse::published_table::register(ctx, warehouse, &files, TABLE, "customer_value_compared_files", None)
        .await?;
    let columns: Vec<_> =
        compared_schema().fields().iter().map(|f| cast(col(f.name()), f.data_type().clone()).alias(f.name())).collect();
    let compared = ctx.table("customer_value_compared_files").await?.select(columns)?;
    let _ = ctx.deregister_table("customer_value_compared");
    ctx.register_table("customer_value_compared", compared.into_view())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn each_comparison_takes_the_newest_snapshot_in_its_reach() {
        let published = [day("2025-11-01"), day("2026-08-22"), day("2026-08-23"), day("2026-11-20"), day("2026-11-22")];
        // T itself (a re-run) never counts
        assert_eq!(
            comparisons(day("2026-11-22"), &published),
            [("previous", day("2026-11-20")), ("3_months", day("2026-08-22")), ("12_months", day("2025-11-01"))]
        );
        assert_eq!(comparisons(day("2026-11-22"), &[day("2026-11-22")]), []);
        assert_eq!(comparisons(day("2026-11-23"), &[day("2026-11-22")]), [("previous", day("2026-11-22"))]);
    }
}
