//! `cvm_churn_score(model, f1, ..., fn)`: a fitted churn model applied in the
//! engine. `model` is the model's JSON (the run binds it as `$churn_model`:
//! a constant of the plan, so it travels to a cluster's executors with the
//! plan, and every process runs the same code on it); the features follow in
//! the catalogue's order (models::churn::catalogue), numeric then
//! categorical. Returns a struct of `churn_risk` (the calibrated probability)
//! and `churn_drivers` (in words).
//!
//! The model is parsed once per process and model, not once per batch.

use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, StringArray, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Float64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use crate::maths::churn::encoding::FeatureColumns;
use crate::maths::churn::{ChurnModel, catalogue};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ChurnScore {
    signature: Signature,
}

impl ChurnScore {
    pub fn new() -> Self {
        Self { signature: Signature::variadic_any(Volatility::Immutable) }
    }
}

fn fields() -> Fields {
    Fields::from(vec![
        Field::new("churn_risk", DataType::Float64, true),
        Field::new("churn_drivers", DataType::Utf8, true),
    ])
}

/// The last model parsed in this process, by the hash of its JSON.
static PARSED: Mutex<Option<(u64, Arc<ChurnModel>)>> = Mutex::new(None);

fn parse(json: &str) -> Result<Arc<ChurnModel>> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    json.hash(&mut h);
    let key = h.finish();
    let mut parsed = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((k, model)) = parsed.as_ref()
        && *k == key
    {
        return Ok(model.clone());
    }
    let model: ChurnModel = match serde_json::from_str(json) {
        Ok(m) => m,
        Err(e) => return exec_err!("cvm_churn_score: the model is not a churn model's JSON: {e}"),
    };
    let expected: Vec<&str> = catalogue::names().collect();
    if model.features != expected {
        return exec_err!(
            "cvm_churn_score: the model reads features {:?}, this cvm has {:?}; fit it again with this version",
            model.features,
            expected
        );
    }
    let model = Arc::new(model);
    *parsed = Some((key, model.clone()));
    Ok(model)
}

impl ScalarUDFImpl for ChurnScore {
    fn name(&self) -> &str {
        "cvm_churn_score"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (numeric, categorical) = (catalogue::NUMERIC.len(), catalogue::CATEGORICAL.len());
        if args.args.len() != 1 + numeric + categorical {
            return exec_err!(
                "cvm_churn_score takes the model and {} features ({}), got {} arguments",
                numeric + categorical,
                catalogue::names().collect::<Vec<_>>().join(", "),
                args.args.len()
            );
        }
        let rows = args.number_rows;
        let json = match &args.args[0] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s))) => s.clone(),
            ColumnarValue::Scalar(ScalarValue::LargeUtf8(Some(s))) => s.clone(),
            _ => return exec_err!("cvm_churn_score: the model must be a constant text (the run's $churn_model)"),
        };
        if json.is_empty() {
            // no fitted model: every score null
            let nulls: Vec<ArrayRef> = vec![
                Arc::new(Float64Array::from(vec![None; rows])),
                Arc::new(StringArray::from(vec![None::<&str>; rows])),
            ];
            let out = StructArray::try_new(fields(), nulls, None)?;
            return Ok(ColumnarValue::Array(Arc::new(out)));
        }
        let model = parse(&json)?;
        let mut x = FeatureColumns::default();
        for arg in &args.args[1..=numeric] {
            let array = cast(&arg.to_array(rows)?, &DataType::Float64)?;
            let values = array.as_primitive::<Float64Type>();
            x.numeric.push((0..rows).map(|i| if values.is_null(i) { f64::NAN } else { values.value(i) }).collect());
        }
        for arg in &args.args[1 + numeric..] {
            let array = cast(&arg.to_array(rows)?, &DataType::Utf8)?;
            let values = array.as_string::<i32>();
            x.categorical.push(
                (0..rows)
                    .map(|i| if values.is_null(i) { "(none)".to_string() } else { values.value(i).to_string() })
                    .collect(),
            );
        }
        let scored = model.score(&x);
        let risk: Float64Array = scored.iter().map(|s| Some(s.probability)).collect();
        let drivers: StringArray = scored.iter().map(|s| s.drivers.as_deref()).collect();
        let out = StructArray::try_new(fields(), vec![Arc::new(risk), Arc::new(drivers)], None)?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_churn_sql_passes_the_catalogue_in_order() {
        let text = crate::engine::sqlfiles::find("score_churn").expect("score_churn.sql").text;
        let call = text.split("cvm_churn_score(").nth(1).expect("the call");
        let call = &call[..call.find(") AS score").expect("the call's end")];
        let args: Vec<&str> = call.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
        assert_eq!(args[0], "CAST($churn_model AS VARCHAR)");
        assert_eq!(args[1..].to_vec(), catalogue::names().collect::<Vec<_>>());
    }
}
