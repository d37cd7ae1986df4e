//! `cvm_bgnbd_expected(...)`: BG/NBD's expected transactions in the next `t`
//! time units, a hypergeometric series plain SQL cannot express (see `maths::bgnbd`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct BgNbdExpected {
    signature: Signature,
}

impl BgNbdExpected {
    pub(super) fn new() -> Self {
        Self { signature: Signature::uniform(8, vec![DataType::Float64], Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for BgNbdExpected {
    fn name(&self) -> &str {
        "cvm_bgnbd_expected"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::Float64Array;
        let arrays: Vec<ArrayRef> = (0..8)
            .map(|i| {
                Ok(datafusion::arrow::compute::cast(&args.args[i].to_array(args.number_rows)?, &DataType::Float64)?)
            })
            .collect::<Result<_>>()?;
        let columns: Vec<&Float64Array> = arrays.iter().map(|a| a.as_primitive()).collect();
        let out: Float64Array = (0..args.number_rows)
            .map(|i| {
                if columns.iter().any(|c| c.is_null(i)) {
                    return None;
                }
                let v = |k: usize| columns[k].value(i);
                let fit = crate::maths::bgnbd::BgNbdFit {
                    r: v(4),
                    alpha: v(5),
                    a: v(6),
                    b: v(7),
                    log_likelihood: f64::NAN,
                    customers: 0,
                    iterations: 0,
                    converged: true,
                };
                Some(fit.expected_transactions(v(0), v(1), v(2), v(3))).filter(|e| e.is_finite())
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}
