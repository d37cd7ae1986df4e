//! The model library's unsupervised part: an anomaly score over each
//! line's usage and money profile. A robust Mahalanobis distance
//! (src/maths/anomaly.rs) is fitted per plan type on tonight's lines in
//! service (sql/models/profile_features.sql); the lines at or beyond
//! `min_distance` are registered as `profile_outliers`, which
//! sql/screening/screen_usage_profile.sql turns into the rule's rows, and
//! the fraud score combines them with the expert rules' (docs/models.md,
//! "The usage profile").

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;

use crate::engine::sqlfiles;
use crate::engine::{self, Params};
use crate::job::UsageProfileRule;
use crate::maths::anomaly::RobustProfile;
use crate::stages::models::Frame;
use crate::stages::session::RunSession;

/// The table of the lines whose profile lies beyond `min_distance`.
pub const OUTLIERS_TABLE: &str = "profile_outliers";

/// A feature of the profile: its column, its words in a reason, its least
/// scale (a feature most lines share exactly would otherwise divide by 0),
/// and how a value of its column reads in the feature's own units.
struct Feature {
    column: &'static str,
    words: &'static str,
    floor: f64,
    scale: Scale,
}

#[derive(Clone, Copy)]
enum Scale {
    /// ln(1 + x)
    Log,
    /// sign(x) ln(1 + |x|)
    SignedLog,
    /// a share, printed as a percentage
    Share,
}

const FEATURES: [Feature; 5] = [
    Feature { column: "voice_minutes", words: "voice minutes a day", floor: 0.1, scale: Scale::Log },
    Feature { column: "messages", words: "sms a day", floor: 0.1, scale: Scale::Log },
    Feature { column: "data_mib", words: "data MiB a day", floor: 0.1, scale: Scale::Log },
    Feature { column: "outgoing_share", words: "share of events made", floor: 0.05, scale: Scale::Share },
    Feature { column: "money", words: "money a month (bill or top-ups)", floor: 0.1, scale: Scale::SignedLog },
];

impl Scale {
    fn natural(self, v: f64) -> f64 {
        match self {
            Scale::Log => v.exp() - 1.0,
            Scale::SignedLog => v.signum() * (v.abs().exp() - 1.0),
            Scale::Share => 100.0 * v,
        }
    }
}

/// What the fit found, for the run's log and model_metrics.
#[derive(Debug, Default)]
pub struct ProfileFit {
    /// Per plan type: lines scored, the core the covariance was estimated on, outliers.
    pub groups: BTreeMap<String, (usize, usize, usize)>,
}

/// Fits the profile per plan type, scores every line in service and
/// registers [`OUTLIERS_TABLE`].
pub async fn profile_outliers(
    session: &RunSession<'_>,
    params: &Params,
    rule: &UsageProfileRule,
) -> Result<ProfileFit, DataFusionError> {
    let file = sqlfiles::find("profile_features").expect("profile_features.sql exists");
    let df = engine::plan(session.ctx(), file, params).await.map_err(|e| DataFusionError::External(Box::new(e)))?;
    let frame = Frame::collect(df).await?;
    let (ids, plans) = (frame.strings("subscriber_id")?, frame.strings("plan_type")?);
    let columns: Vec<Vec<f64>> = FEATURES.iter().map(|f| frame.f64s(f.column)).collect::<Result<_, _>>()?;
    let row = |i: usize| -> Vec<f64> { columns.iter().map(|c| c[i]).collect() };
    let mut by_plan: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, plan) in plans.iter().enumerate() {
        by_plan.entry(plan.as_str()).or_default().push(i);
    }
    let floors: Vec<f64> = FEATURES.iter().map(|f| f.floor).collect();
    let mut fit = ProfileFit::default();
    let mut outliers = Outliers::default();
    for (plan, lines) in by_plan {
        let rows: Vec<Vec<f64>> = lines.iter().map(|&i| row(i)).collect();
        let Some(profile) = RobustProfile::fit(&rows, &floors, true) else {
            tracing::warn!(
                "the usage profile of {plan} lines cannot be fitted ({} lines): not screened by it",
                rows.len()
            );
            fit.groups.insert(plan.to_string(), (rows.len(), 0, 0));
            continue;
        };
        let before = outliers.ids.len();
        for (&i, features) in lines.iter().zip(&rows) {
            let distance = profile.distance(features);
            if distance >= rule.min_distance {
                let (j, _) = profile.strongest(features);
                let feature = &FEATURES[j];
                outliers.push(
                    &ids[i],
                    distance,
                    feature.words,
                    feature.scale.natural(features[j]),
                    feature.scale.natural(profile.medians[j]),
                );
            }
        }
        fit.groups.insert(plan.to_string(), (rows.len(), profile.core_size, outliers.ids.len() - before));
    }
    session.register_small(OUTLIERS_TABLE, outliers.batch()?).await?;
    Ok(fit)
}

/// The columns of [`OUTLIERS_TABLE`].
#[derive(Default)]
struct Outliers {
    ids: Vec<String>,
    distances: Vec<f64>,
    strongest: Vec<&'static str>,
    values: Vec<f64>,
    usuals: Vec<f64>,
}

impl Outliers {
    fn push(&mut self, id: &str, distance: f64, strongest: &'static str, value: f64, usual: f64) {
        self.ids.push(id.to_string());
        self.distances.push(distance);
        self.strongest.push(strongest);
        self.values.push(value);
        self.usuals.push(usual);
    }

    fn batch(self) -> Result<RecordBatch, DataFusionError> {
        Ok(RecordBatch::try_new(
            outliers_schema(),
            vec![
                Arc::new(StringArray::from(self.ids)),
                Arc::new(Float64Array::from(self.distances)),
                Arc::new(StringArray::from(self.strongest)),
                Arc::new(Float64Array::from(self.values)),
                Arc::new(Float64Array::from(self.usuals)),
            ],
        )?)
    }
}

/// subscriber_id, distance, the strongest feature in words, the line's
/// value of it and its plan type's median, in the feature's units.
pub fn outliers_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("subscriber_id", DataType::Utf8, false),
        Field::new("distance", DataType::Float64, false),
        Field::new("strongest", DataType::Utf8, false),
        Field::new("strongest_value", DataType::Float64, false),
        Field::new("strongest_usual", DataType::Float64, false),
    ]))
}

/// An empty [`OUTLIERS_TABLE`], for `cvm validate`'s plans.
pub fn empty_outliers() -> RecordBatch {
    RecordBatch::new_empty(outliers_schema())
}
