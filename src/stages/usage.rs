//! usage_daily, built incrementally: a night reads only the CDR extracts it
//! has not folded in before (new files, and files re-extracted since), and
//! rebuilds only the UTC days those files touch.
//!
//! Every extract's own aggregate (its *part*: subscriber x UTC day, from
//! `sql/usage/usage_by_file.sql`) is kept in the internal table
//! `_usage_by_file`, partitioned by event_date. A day of usage_daily is the
//! sum of its parts (`sql/usage/usage_daily.sql`), so a late file for an
//! old day, or a file whose events straddle midnight UTC, rebuilds those
//! days from the other extracts' parts without reading their raw CDR again.
//!
//! Which extracts are folded in (URL, size, ETag, the recipe that read them,
//! the days they touch) is part of the warehouse's commit
//! ([`crate::warehouse::commit::Commit::usage_inputs`]), so the state and the files it
//! describes are published together or not at all. An extract is read again
//! when its size, ETag (or, where the store has none, modification time) or
//! recipe changed: the recipe is a hash of the CDR source's settings and the
//! SQL that stages and aggregates it, so a changed time zone or a new cvm
//! that parses CDR differently rebuilds the history. Extracts that disappear
//! from the landing (retention purges) keep their parts: usage_daily is the
//! durable history of usage.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Date32Type, Schema, SchemaRef};
use datafusion::prelude::{SessionContext, col, lit};
use sha2::{Digest, Sha256};

use crate::contract::SourceKind;
use crate::engine::sqlfiles;
use crate::engine::{self, Params, StepError};
use crate::job::Job;
use crate::warehouse::commit::{Commit, FoldedFile};
use crate::warehouse::manifest::InputFile;
use crate::warehouse::staging::RunStaging;
use crate::warehouse::{published_table, tables};

/// The internal table of every extract's part, below the warehouse.
pub const PARTS: &str = "_usage_by_file";
/// The tables this step publishes, each partitioned by event_date.
pub const TABLES: [&str; 2] = ["usage_daily", PARTS];

/// The extracts folded so far, by URL, and how tonight's run reads.
pub struct Folded {
    files: BTreeMap<String, FoldedFile>,
    recipe: String,
    as_of: NaiveDate,
}

impl Folded {
    /// The state in `commit` (none: nothing folded yet), for a run of snapshot `as_of`.
    pub fn from_commit(job: &Job, commit: Option<&Commit>, as_of: NaiveDate) -> Folded {
        let files = commit.map(|c| c.usage_inputs.iter().map(|f| (f.url.clone(), f.clone())).collect());
        Folded { files: files.unwrap_or_default(), recipe: recipe(job), as_of }
    }

    /// Whether `file` is folded in, unchanged, was read the way this run
    /// would read it, and by a run of another snapshot.
    pub fn is_current(&self, file: &InputFile) -> bool {
        self.files.get(&file.url).is_some_and(|f| {
            file.is_version(f.size, f.etag.as_deref(), &f.last_modified)
                && f.recipe == self.recipe
                && f.snapshot_date != self.as_of
        })
    }
}

/// Hash of what decides how a CDR file becomes parts: the source's settings
/// (format, column mapping, time zone, ...) and the SQL of staging and parts.
fn recipe(job: &Job) -> String {
    let mut hash = Sha256::new();
    let source = job.source(SourceKind::Cdr);
    // the settings without the URL: moving the landing does not change a file's parts
    let settings = format!(
        "{:?}|{:?}|{:?}|{}|{}|{}|{}|{:?}|{:?}",
        source.format,
        source.compression,
        source.columns,
        source.delimiter,
        source.quote,
        source.date_format,
        source.timestamp_format,
        source.timezone,
        source.null_markers
    );
    hash.update(settings.as_bytes());
    for name in ["stg_cdr", "usage_by_file"] {
        hash.update(sqlfiles::find(name).expect("the usage SQL files exist").text.as_bytes());
    }
    crate::job::hex(&hash.finalize()[..8])
}

/// What the usage step built.
pub struct UsageBuilt {
    /// usage_daily rows written (the rebuilt days).
    pub rows: u64,
    /// The UTC days rebuilt: their partitions of both tables are replaced.
    pub days: BTreeSet<NaiveDate>,
    /// The extracts read tonight, as the commit will record them.
    pub folded: Vec<FoldedFile>,
}

impl UsageBuilt {
    /// The `event_date=` partitions this run replaces (even those it leaves empty).
    pub fn partitions(&self) -> Vec<String> {
        self.days.iter().map(|d| format!("event_date={d}")).collect()
    }
}

/// Tonight's parts (`usage_by_file` over `stg_cdr`), written to the
/// run's staging of `_usage_by_file`; their schema.
async fn fold_parts(ctx: &SessionContext, parts_url: &str, params: &Params) -> Result<Schema, StepError> {
    let parts_file = sqlfiles::find("usage_by_file").expect("usage_by_file.sql exists");
    let df = engine::plan(ctx, parts_file, params).await?;
    // read as nullable: parts an older cvm published lack the columns added since (read as null)
    let parts_schema = nullable(df.schema().as_arrow());
    tables::write_parquet(df, parts_url, &["event_date"]).await?;
    Ok(parts_schema)
}

/// A consumer of the CDR's staged rows for ingest
/// ([`crate::stages::ingest::StagedConsumer`]): it folds them into tonight's parts
/// as ingest reads them, so the CDR is never written out whole; `folded`
/// receives the parts' schema for [`build`].
pub fn fold_while_ingesting(
    ctx: &SessionContext,
    staging: &RunStaging,
    params: &Params,
    folded: Arc<std::sync::Mutex<Option<Schema>>>,
) -> crate::stages::ingest::StagedConsumer {
    let (ctx, parts_url, params) = (ctx.clone(), staging.table_url(PARTS), params.clone());
    Box::new(move |rows| {
        Box::pin(async move {
            let table = tables::one_shot_table(rows).map_err(|e| e.to_string())?;
            let _ = ctx.deregister_table("stg_cdr");
            ctx.register_table("stg_cdr", Arc::new(table)).map_err(|e| e.to_string())?;
            let schema = fold_parts(&ctx, &parts_url, &params).await.map_err(|e| e.to_string())?;
            *folded.lock().expect("not poisoned") = Some(schema);
            Ok(())
        })
    })
}

/// Folds tonight's CDR (the `stg_cdr` of the files ingest read) into the
/// parts and rebuilds the days they touch; registers `usage_daily` on `ctx`
/// as the published table with those days replaced, for the windows.
/// `parts_folded`: the parts' schema when ingest folded them already
/// ([`fold_while_ingesting`]).
pub async fn build(
    ctx: &SessionContext,
    staging: &RunStaging,
    base: Option<&Commit>,
    folded: &Folded,
    cdr_files: &[InputFile],
    params: &Params,
    parts_folded: Option<Schema>,
) -> Result<UsageBuilt, StepError> {
    let err = StepError::engine("usage_daily");
    let read: Vec<&InputFile> = cdr_files.iter().filter(|f| !f.folded_before).collect();

    // 1. tonight's parts, staged (by ingest already, on a local run)
    let parts_url = staging.table_url(PARTS);
    let parts_schema = match parts_folded {
        Some(schema) => schema,
        None => fold_parts(ctx, &parts_url, params).await?,
    };
    tables::register_parquet(ctx, "usage_by_file", &parts_url, &parts_schema, &["event_date"]).map_err(&err)?;
    let new_days = days_by_file(ctx).await.map_err(&err)?;

    // 2. the days to rebuild: those tonight's files touch now, and those a
    // re-extracted file touched before
    let mut days: BTreeSet<NaiveDate> = new_days.values().flatten().copied().collect();
    for file in &read {
        if let Some(before) = folded.files.get(&file.url) {
            days.extend(before.days.iter().copied());
        }
    }

    // 3. the other extracts' published parts of those days join tonight's
    if let Some(commit) = published(base, PARTS)
        && !days.is_empty()
    {
        keep_published_parts(ctx, staging, commit, &parts_schema, &days, &read).await?;
    }

    // 4. the days rebuilt from their parts
    let (rows, usage_schema) = rebuild_days(ctx, staging, params, &parts_schema).await?;

    // 5. what the windows read: the published days, with the rebuilt ones replaced
    register_for_windows(ctx, staging, base, &days, &usage_schema, rows).await?;

    let folded = read
        .iter()
        .map(|f| FoldedFile {
            url: f.url.clone(),
            size: f.size,
            etag: f.etag.clone(),
            last_modified: f.last_modified.clone(),
            recipe: folded.recipe.clone(),
            snapshot_date: folded.as_of,
            days: new_days.get(&f.url).map(|d| d.iter().copied().collect()).unwrap_or_default(),
        })
        .collect();
    Ok(UsageBuilt { rows, days, folded })
}

/// `base` when it published files of `table`.
fn published<'a>(base: Option<&'a Commit>, table: &str) -> Option<&'a Commit> {
    base.filter(|c| c.files.iter().any(|f| f.table == table))
}

/// Adds to tonight's staged parts the published parts of `days` that come
/// from other extracts than those `read` tonight.
async fn keep_published_parts(
    ctx: &SessionContext,
    staging: &RunStaging,
    commit: &Commit,
    parts_schema: &Schema,
    days: &BTreeSet<NaiveDate>,
    read: &[&InputFile],
) -> Result<(), StepError> {
    let err = StepError::engine("usage_daily");
    let read_urls: BTreeSet<&str> = read.iter().map(|f| f.url.as_str()).collect();
    let schema = Some(without_partition(parts_schema));
    published_table::register(ctx, &staging.location().url, commit, PARTS, "usage_by_file_published", schema)
        .await
        .map_err(&err)?;
    let urls: Vec<_> = read_urls.iter().map(|u| lit(*u)).collect();
    let kept = ctx
        .table("usage_by_file_published")
        .await
        .map_err(&err)?
        .filter(col("event_date").in_list(day_literals(days), false))
        .map_err(&err)?
        .filter(col("source_file").in_list(urls, true))
        .map_err(&err)?;
    tables::write_parquet(kept, &staging.table_url(PARTS), &["event_date"]).await?;
    Ok(())
}

/// usage_daily's rebuilt days, summed from the staged parts and written to
/// the run's staging: the rows written and their schema.
async fn rebuild_days(
    ctx: &SessionContext,
    staging: &RunStaging,
    params: &Params,
    parts_schema: &Schema,
) -> Result<(u64, Schema), StepError> {
    let err = StepError::engine("usage_daily");
    let parts_url = staging.table_url(PARTS);
    tables::register_parquet(ctx, "usage_by_file", &parts_url, parts_schema, &["event_date"]).map_err(&err)?;
    let usage_file = sqlfiles::find("usage_daily").expect("usage_daily.sql exists");
    let df = engine::plan(ctx, usage_file, params).await?;
    let usage_schema = nullable(df.schema().as_arrow());
    let usage_url = staging.table_url("usage_daily");
    let rows = tables::write_parquet(df, &usage_url, &["event_date"]).await?;
    Ok((rows, usage_schema))
}

/// Registers `usage_daily` on `ctx` for the windows: the published days
/// tonight does not rebuild (`days`), with the `rows` rebuilt tonight.
async fn register_for_windows(
    ctx: &SessionContext,
    staging: &RunStaging,
    base: Option<&Commit>,
    days: &BTreeSet<NaiveDate>,
    usage_schema: &Schema,
    rows: u64,
) -> Result<(), StepError> {
    let err = StepError::engine("usage_daily");
    let usage_url = staging.table_url("usage_daily");
    tables::register_parquet(ctx, "usage_daily_rebuilt", &usage_url, usage_schema, &["event_date"]).map_err(&err)?;
    let rebuilt = ctx.table("usage_daily_rebuilt").await.map_err(&err)?;
    // the published days tonight does not rebuild, if any. Either side may be empty
    // (tonight rebuilds every published day, or reads no new CDR): it is then left out,
    // not unioned: on Ballista 55 a union with an empty branch never finishes (its
    // tasks' metrics do not match their stage's)
    let kept_days = base.is_some_and(|c| {
        c.files.iter().filter(|f| f.table == "usage_daily").any(|f| {
            let day = f.partition.strip_prefix("event_date=").and_then(|d| d.parse::<NaiveDate>().ok());
            day.is_none_or(|d| !days.contains(&d))
        })
    });
    let usage = match published(base, "usage_daily").filter(|_| kept_days) {
        Some(commit) => {
            let schema = Some(without_partition(usage_schema));
            published_table::register(
                ctx,
                &staging.location().url,
                commit,
                "usage_daily",
                "usage_daily_published",
                schema,
            )
            .await
            .map_err(&err)?;
            let kept = ctx
                .table("usage_daily_published")
                .await
                .map_err(&err)?
                .filter(col("event_date").in_list(day_literals(days), true))
                .map_err(&err)?;
            if rows == 0 { kept } else { kept.union(rebuilt).map_err(&err)? }
        }
        None => rebuilt,
    };
    let _ = ctx.deregister_table("usage_daily");
    ctx.register_table("usage_daily", usage.into_view()).map_err(&err)?;
    Ok(())
}

/// `schema` with every column nullable.
fn nullable(schema: &Schema) -> Schema {
    Schema::new(schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect::<Vec<_>>())
}

/// `schema` without the partition column `event_date` (a listing table's file schema).
fn without_partition(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(schema.fields().iter().filter(|f| f.name() != "event_date").cloned().collect::<Vec<_>>()))
}

fn day_literals(days: &BTreeSet<NaiveDate>) -> Vec<datafusion::prelude::Expr> {
    days.iter().map(|d| lit(engine::date_scalar(*d))).collect()
}

/// The UTC days each extract of the staged parts (`usage_by_file`) touches.
async fn days_by_file(
    ctx: &SessionContext,
) -> Result<BTreeMap<String, BTreeSet<NaiveDate>>, datafusion::error::DataFusionError> {
    let batches =
        ctx.table("usage_by_file").await?.select_columns(&["source_file", "event_date"])?.distinct()?.collect().await?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let mut out: BTreeMap<String, BTreeSet<NaiveDate>> = BTreeMap::new();
    for batch in batches {
        let files = datafusion::arrow::compute::cast(batch.column(0), &datafusion::arrow::datatypes::DataType::Utf8)?;
        let files = files.as_string::<i32>();
        let dates = batch.column(1).as_primitive::<Date32Type>();
        for i in 0..batch.num_rows() {
            if files.is_null(i) || dates.is_null(i) {
                continue;
            }
            let day = epoch + chrono::Duration::days(dates.value(i) as i64);
            out.entry(files.value(i).to_string()).or_default().insert(day);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str, size: u64, etag: Option<&str>) -> InputFile {
        InputFile {
            url: url.into(),
            size,
            etag: etag.map(str::to_string),
            last_modified: "2026-11-22T01:00:00+00:00".into(),
            folded_before: false,
        }
    }

    fn folded(files: &[(&str, u64, Option<&str>)], recipe: &str) -> Folded {
        Folded {
            files: files
                .iter()
                .map(|(url, size, etag)| {
                    let f = FoldedFile {
                        url: url.to_string(),
                        size: *size,
                        etag: etag.map(str::to_string),
                        last_modified: "2026-11-22T01:00:00+00:00".into(),
                        recipe: recipe.into(),
                        snapshot_date: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
                        days: vec![],
                    };
                    (f.url.clone(), f)
                })
                .collect(),
            recipe: "r1".into(),
            as_of: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        }
    }

    #[test]
    fn a_file_is_read_again_when_it_changed_or_is_read_differently() {
        let state = folded(&[("a", 10, Some("e1")), ("b", 20, None)], "r1");
        assert!(state.is_current(&input("a", 10, Some("e1"))));
        assert!(!state.is_current(&input("a", 10, Some("e2"))), "re-extracted: new ETag");
        assert!(!state.is_current(&input("a", 11, Some("e1"))), "re-extracted: new size");
        assert!(state.is_current(&input("b", 20, None)), "no ETag: same modification time");
        let mut touched = input("b", 20, None);
        touched.last_modified = "2026-11-23T01:00:00+00:00".into();
        assert!(!state.is_current(&touched));
        assert!(!state.is_current(&input("c", 1, None)), "new file");
        let other_recipe = folded(&[("a", 10, Some("e1"))], "r0");
        assert!(!other_recipe.is_current(&input("a", 10, Some("e1"))), "read with other settings or SQL");
        let mut rerun = folded(&[("a", 10, Some("e1"))], "r1");
        rerun.as_of = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        assert!(!rerun.is_current(&input("a", 10, Some("e1"))), "a re-run reads again what its snapshot read");
    }
}
