//! The run report: one self-contained HTML page (inline SVG, no scripts, no
//! network) per snapshot, written next to the run's manifest as
//! `<run_id>.report.html`. It reads only published tables, so
//! `cvm report --as-of T` writes it again at any time.

mod html;
pub mod svg;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use crate::engine::sqlfiles::{self, Layer};
use crate::engine::{self, EngineOptions, Params, SqlError};
use crate::job::Job;
use crate::storage::{Location, StorageError};
use crate::warehouse::manifest::{self, Manifest, Status};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no succeeded run of job {job} for snapshot {as_of} under {url}")]
    NoRun { job: String, as_of: NaiveDate, url: String },
    #[error("report: {0}")]
    Engine(#[from] DataFusionError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("report: {0}")]
    Sql(#[from] SqlError),
    #[error("report: {0}")]
    Campaigns(#[from] crate::stages::campaigns::export::ExportError),
    #[error(transparent)]
    Query(#[from] crate::warehouse::reader::ReadError),
}

/// One value of a query result, as the report uses it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Number(f64),
    Text(String),
    Null,
}

impl Cell {
    pub fn num(&self) -> f64 {
        match self {
            Cell::Number(v) => *v,
            _ => f64::NAN,
        }
    }

    pub fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Number(v) => v.to_string(),
            Cell::Null => String::new(),
        }
    }
}

/// Everything the page shows, gathered from the published tables.
pub struct ReportData {
    pub job: String,
    pub as_of: NaiveDate,
    pub run_id: String,
    pub manifest: Manifest,
    /// value_tier, lines, revenue_12m (active lines)
    pub tiers: Vec<Vec<Cell>>,
    /// month, network_arpu, revenue, closing_base, churn_rate (whole base) ...
    pub months: Vec<Vec<Cell>>,
    /// ... and month, plan_type, network_arpu
    pub months_by_plan: Vec<Vec<Cell>>,
    /// The total row of month L.
    pub total: Vec<(String, Cell)>,
    /// Cumulative revenue share at each percent of lines, top first (101 points).
    pub lorenz: Vec<f64>,
    /// decile, profit_12m, cumulative_profit_share
    pub deciles: Vec<Vec<Cell>>,
    /// bin (0..19), lines: churn risk of active lines in steps of 5%
    pub risk_histogram: Vec<Vec<Cell>>,
    /// decile, predicted, observed
    pub calibration: Vec<Vec<Cell>>,
    /// metric -> value of the churn back-test (auc, top_decile_lift, brier)
    pub backtest: Vec<(String, f64)>,
    /// Per postpaid cohort group: name, fitted survival and observed (Kaplan-Meier) survival by month.
    pub retention: Vec<RetentionCurve>,
    /// source, rule, rows
    pub rejects: Vec<Vec<Cell>>,
    /// campaign, channel, contacts, control group
    pub campaigns: Vec<(String, String, u64, u64)>,
    /// campaign_effect at T: campaign, wave, horizon_days, complete, contact_lines, control_lines,
    /// contact and control churn rate, uplift and its interval (shares), value_saved,
    /// arpu_uplift, response_rate, acceptance_rate
    pub campaign_effect: Vec<Vec<Cell>>,
    /// The fraud screening at T: level, lines, revenue_3m, revenue_12m (suspect first)
    pub screening: Vec<Vec<Cell>>,
    /// rule, lines it fired on, of which suspect
    pub screening_rules: Vec<Vec<Cell>>,
    /// Every published snapshot up to T: snapshot, watch, suspect, lines screened
    pub screening_trend: Vec<Vec<Cell>>,
    /// What a reader must not miss (fits that did not converge), shown above everything else.
    pub warnings: Vec<String>,
}

pub struct RetentionCurve {
    pub group: String,
    pub method: String,
    /// A fit this group's curve depends on did not converge.
    pub fit_failed: bool,
    pub fitted: Vec<f64>,
    pub observed: Vec<f64>,
}

/// Writes the report of snapshot `as_of` next to the manifest of its latest
/// succeeded run; returns its URL.
pub async fn write(job: &Job, as_of: NaiveDate) -> Result<String, ReportError> {
    let data = gather(job, as_of).await?;
    let page = html::render(&data);
    let path = manifest::folder(&job.warehouse, &job.name, as_of).join(format!("{}.report.html", data.run_id).as_str());
    Location::open(&job.warehouse, &job.storage)?.put_bytes(&path, page.into_bytes().into()).await?;
    Ok(job.warehouse.url_of(&path))
}

/// The manifest of the latest succeeded run of the job for the snapshot.
async fn latest_manifest(job: &Job, warehouse: &Location, as_of: NaiveDate) -> Result<Manifest, ReportError> {
    let folder = manifest::folder(&job.warehouse, &job.name, as_of);
    let latest = manifest::read_all(warehouse, &folder).await?.into_iter().find(|m| m.status == Status::Succeeded);
    latest.ok_or_else(|| ReportError::NoRun { job: job.name.clone(), as_of, url: job.warehouse.url_of(&folder) })
}

async fn gather(job: &Job, as_of: NaiveDate) -> Result<ReportData, ReportError> {
    let warehouse = Location::open(&job.warehouse, &job.storage)?;
    let manifest = latest_manifest(job, &warehouse, as_of).await?;
    let run_id = manifest.run_id.clone();
    let ctx = engine::session(&EngineOptions::default(), &job.storage)?;
    crate::warehouse::reader::register_warehouse(&ctx, &warehouse).await?;
    let q = Query { ctx: &ctx, params: Params::new().date("as_of", as_of) };

    let tiers = q.rows("report_tiers").await?;
    let months = q.rows("report_months").await?;
    let months_by_plan = q.rows("report_months_by_plan").await?;
    let total = q.named_row("report_total").await?;
    let revenue: Vec<f64> = q.rows("report_revenue").await?.iter().map(|r| r[0].num()).collect();
    let deciles = q.rows("report_profit_deciles").await?;
    let risk_histogram = q.rows("report_risk_histogram").await?;
    let calibration = q.rows("report_calibration").await?;
    let backtest = q.rows("report_backtest").await?.iter().map(|r| (r[0].text(), r[1].num())).collect();
    let retention = retention_curves(&q, job).await?;
    let rejects = q.rows("report_rejects").await?;
    let published = crate::warehouse::reader::partition_values(&warehouse, "campaigns", as_of).await?;
    let campaigns = if published.is_empty() {
        Vec::new()
    } else {
        crate::stages::campaigns::export::list_in(&ctx, job, as_of, &published)
            .await?
            .into_iter()
            .map(|c| (c.campaign, c.channel.unwrap_or_default(), c.rows, c.control))
            .collect()
    };
    let campaign_effect = q.rows("report_campaign_effect").await?;
    let screening = q.rows("report_screening").await?;
    let screening_rules = q.rows("report_screening_rules").await?;
    let screening_trend = q.rows("report_screening_trend").await?;
    let warnings = retention
        .iter()
        .filter(|c| c.fit_failed)
        .map(|c| {
            format!(
                "The retention fit of {} did not converge; its lifetimes and values use the {} curve \
                 (the run's model artifact says why).",
                c.group, c.method
            )
        })
        .collect();
    Ok(ReportData {
        job: job.name.clone(),
        as_of,
        run_id,
        manifest,
        tiers,
        months,
        months_by_plan,
        total,
        lorenz: lorenz(&revenue),
        deciles,
        risk_histogram,
        calibration,
        backtest,
        retention,
        rejects,
        campaigns,
        campaign_effect,
        screening,
        screening_rules,
        screening_trend,
        warnings,
    })
}

/// Cumulative share of revenue held by the top 0%, 1%, ..., 100% of lines
/// (`revenue` sorted from the largest).
pub fn lorenz(revenue: &[f64]) -> Vec<f64> {
    let total: f64 = revenue.iter().sum();
    let n = revenue.len();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    for v in revenue {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + v);
    }
    (0..=100)
        .map(|p| {
            if n == 0 || total == 0.0 {
                return f64::NAN;
            }
            // the first p% of lines, interpolating inside the line the boundary falls in
            let at = n as f64 * p as f64 / 100.0;
            let whole = at.floor() as usize;
            let part = if whole < n { revenue[whole] * (at - whole as f64) } else { 0.0 };
            (prefix[whole] + part) / total
        })
        .collect()
}

/// Fitted retention (from model_metrics) against observed survival
/// (Kaplan-Meier over customer_value's postpaid lines) per cohort group.
async fn retention_curves(q: &Query<'_>, job: &Job) -> Result<Vec<RetentionCurve>, ReportError> {
    let fits = q.rows("report_retention_fits").await?;
    let lines = q.rows("report_retention_lines").await?;
    let mut groups: Vec<String> = fits.iter().map(|r| r[0].text()).collect();
    groups.dedup();
    let months = 60usize.min(job.models.horizon_months.max(12) as usize);
    let mut out = Vec::new();
    for group in groups {
        let value =
            |metric: &str| fits.iter().find(|r| r[0].text() == group && r[1].text() == metric).map(|r| r[2].num());
        let (fitted, method): (Vec<f64>, String) = match (value("alpha"), value("beta"), value("monthly_churn")) {
            (Some(a), Some(b), _) => (
                (0..=months).map(|t| crate::maths::sbg::survival(a, b, t as u32)).collect(),
                if value("own_fit") == Some(1.0) { "sBG, own fit".into() } else { "sBG, pooled fit".into() },
            ),
            (_, _, Some(p)) => ((0..=months).map(|t| (1.0 - p).powi(t as i32)).collect(), "geometric".into()),
            _ => continue,
        };
        let tenures: Vec<(usize, bool)> = lines
            .iter()
            .filter(|r| r[0].text() == group)
            .map(|r| (r[1].num().max(0.0) as usize, r[2] == Cell::Text("true".into()) || r[2] == Cell::Number(1.0)))
            .collect();
        let fit_failed = value("fit_failed") == Some(1.0);
        out.push(RetentionCurve { group, method, fit_failed, fitted, observed: kaplan_meier(&tenures, months) });
    }
    Ok(out)
}

/// Kaplan-Meier survival by whole month of tenure: a line (tenure, still
/// active) is at risk in every month up to its tenure; an ended line ends
/// in its last month, an active one is censored there. NaN once nobody is at risk.
pub fn kaplan_meier(lines: &[(usize, bool)], months: usize) -> Vec<f64> {
    let mut s = 1.0;
    let mut out = vec![1.0];
    for t in 0..months {
        let at_risk = lines.iter().filter(|(tenure, _)| *tenure >= t).count();
        if at_risk == 0 {
            out.extend(std::iter::repeat_n(f64::NAN, months - t));
            break;
        }
        let ended = lines.iter().filter(|(tenure, active)| *tenure == t && !active).count();
        s *= 1.0 - ended as f64 / at_risk as f64;
        out.push(s);
    }
    out
}

/// Runs the report's SQL files (sql/reports/) with their parameters bound,
/// every value as a number or text.
struct Query<'a> {
    ctx: &'a SessionContext,
    params: Params,
}

impl Query<'_> {
    async fn rows(&self, file: &str) -> Result<Vec<Vec<Cell>>, ReportError> {
        Ok(self.table(file).await?.1)
    }

    /// The first row, each value with its column's name (nulls when there is no row).
    async fn named_row(&self, file: &str) -> Result<Vec<(String, Cell)>, ReportError> {
        let (names, rows) = self.table(file).await?;
        let row = rows.into_iter().next().unwrap_or_default();
        Ok(names.into_iter().zip(row.into_iter().chain(std::iter::repeat(Cell::Null))).collect())
    }

    /// Column names and rows of a report file.
    async fn table(&self, file: &str) -> Result<(Vec<String>, Vec<Vec<Cell>>), ReportError> {
        let file = sqlfiles::find(file).filter(|f| f.layer == Layer::Reports).expect("a report file of sql/reports");
        // a table the warehouse does not have (yet) is an empty section, not a failure
        let df = match engine::plan(self.ctx, file, &self.params).await {
            Ok(df) => df,
            Err(e) if e.source.to_string().contains("not found") => return Ok((Vec::new(), Vec::new())),
            Err(e) => return Err(e.into()),
        };
        let names = df.schema().fields().iter().map(|f| f.name().clone()).collect();
        let batches = df.collect().await?;
        let mut out = Vec::new();
        for batch in &batches {
            let columns = cells(batch)?;
            for i in 0..batch.num_rows() {
                out.push(columns.iter().map(|c| c[i].clone()).collect());
            }
        }
        Ok((names, out))
    }
}

/// A batch's columns as cells: numbers (and booleans) as numbers, the rest as text.
fn cells(batch: &RecordBatch) -> Result<Vec<Vec<Cell>>, DataFusionError> {
    use datafusion::arrow::compute::cast;
    let mut out = Vec::new();
    for column in batch.columns() {
        let numeric = column.data_type().is_numeric() || column.data_type() == &DataType::Boolean;
        let values: Vec<Cell> = if numeric {
            let floats = cast(column, &DataType::Float64)?;
            let floats = floats.as_primitive::<Float64Type>();
            (0..floats.len())
                .map(|i| if floats.is_null(i) { Cell::Null } else { Cell::Number(floats.value(i)) })
                .collect()
        } else {
            let text = cast(column, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            (0..text.len())
                .map(|i| if text.is_null(i) { Cell::Null } else { Cell::Text(text.value(i).to_string()) })
                .collect()
        };
        out.push(values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lorenz_of_a_hand_checked_case() {
        // 2 of 10 lines hold 150 of 205
        let revenue = [100.0, 50.0, 20.0, 10.0, 10.0, 5.0, 5.0, 2.0, 2.0, 1.0];
        let curve = lorenz(&revenue);
        assert_eq!(curve[0], 0.0);
        assert!((curve[20] - 150.0 / 205.0).abs() < 1e-12);
        assert!((curve[100] - 1.0).abs() < 1e-12);
        // halfway through the first line
        assert!((curve[5] - 50.0 / 205.0).abs() < 1e-12);
    }

    #[test]
    fn kaplan_meier_counts_ended_and_censored_lines() {
        // tenure 0 ended, tenure 1 active (censored), tenure 2 ended, tenure 3 active
        let km = kaplan_meier(&[(0, false), (1, true), (2, false), (3, true)], 4);
        assert_eq!(km[0], 1.0);
        assert!((km[1] - 0.75).abs() < 1e-12); // 1 of 4 ended at 0
        assert!((km[2] - 0.75).abs() < 1e-12); // none of 3 at 1
        assert!((km[3] - 0.375).abs() < 1e-12); // 1 of 2 at 2
        assert!((km[4] - 0.375).abs() < 1e-12);
    }
}
