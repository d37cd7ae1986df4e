//! How many distinct numbers a line called, without the numbers: each number
//! sets one of 64 bits (`cvm_number_bit`), a day's or a file's bits are
//! merged with `BIT_OR`, and `cvm_sketch_count` estimates the distinct count
//! from how many bits are still clear (linear counting). The sketch is
//! merged across files and days exactly as the sets it stands for would be,
//! so usage_daily's parts stay additive. A bit is a hash of the number, not
//! the number: other_party never leaves the engine.
//!
//! Linear counting with 64 bits: the estimate of n distinct numbers is
//! -64 ln(z/64) for z clear bits; it is exact in expectation, about ±15% at
//! 40 numbers, and saturates at 266 (all bits set: "at least 266").

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::hash_unit::mixed_hash;
use super::strings;

/// Bits in a sketch.
const BITS: f64 = 64.0;

/// The sketch bit of a number: one of 64, chosen by a stable hash of its text.
pub fn number_bit(number: &str) -> i64 {
    (1u64 << (mixed_hash(number.trim()) % 64)) as i64
}

/// The distinct numbers a sketch of merged bits stands for (linear counting).
pub fn sketch_count(bits: i64) -> i64 {
    let clear = BITS - (bits as u64).count_ones() as f64;
    // all bits set: the estimate of one clear bit, the most a sketch can say
    (-BITS * (clear.max(1.0) / BITS).ln()).round() as i64
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct NumberBit {
    signature: Signature,
}

impl NumberBit {
    pub(super) fn new() -> Self {
        Self { signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for NumberBit {
    fn name(&self) -> &str {
        "cvm_number_bit"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let text = strings(&args, 0)?;
        let out: Int64Array =
            text.as_string::<i32>().iter().map(|t| t.filter(|t| !t.trim().is_empty()).map(number_bit)).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct SketchCount {
    signature: Signature,
}

impl SketchCount {
    pub(super) fn new() -> Self {
        Self { signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for SketchCount {
    fn name(&self) -> &str {
        "cvm_sketch_count"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let bits = args.args[0].to_array(args.number_rows)?;
        let out: Int64Array = bits.as_primitive::<Int64Type>().iter().map(|b| b.map(sketch_count)).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch(numbers: impl Iterator<Item = String>) -> i64 {
        numbers.fold(0i64, |bits, n| bits | number_bit(&n))
    }

    #[test]
    fn a_few_numbers_are_counted_almost_exactly_and_many_within_a_fifth() {
        assert_eq!(sketch_count(0), 0);
        assert_eq!(sketch_count(number_bit("+33612345678")), 1);
        // the same number twice, or with spaces around it, is one number
        assert_eq!(sketch(["+3361", " +3361 ", "+3361"].map(String::from).into_iter()), number_bit("+3361"));
        let few = sketch((0..5).map(|i| format!("+3361000{i:04}")));
        assert!((4..=6).contains(&sketch_count(few)), "{}", sketch_count(few));
        for n in [20, 40, 80] {
            let estimate = sketch_count(sketch((0..n).map(|i| format!("+3370{i:07}")))) as f64;
            assert!((estimate / n as f64 - 1.0).abs() < 0.25, "{n} numbers estimated as {estimate}");
        }
        // saturated: the most the sketch can say
        assert_eq!(sketch_count(-1), 266);
        assert_eq!(sketch_count(sketch((0..5000).map(|i| format!("+34{i}")))), 266);
    }

    #[test]
    fn merging_sketches_is_the_union_of_their_numbers() {
        let a = sketch((0..30).map(|i| format!("+331{i}")));
        let b = sketch((15..45).map(|i| format!("+331{i}")));
        assert_eq!(a | b, sketch((0..45).map(|i| format!("+331{i}"))));
    }
}
