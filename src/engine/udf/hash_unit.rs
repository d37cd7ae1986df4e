//! `cvm_hash_unit(text, seed)`: a uniform number in [0, 1), the same for the
//! same text and seed on every machine and version, for deterministic samples.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::strings;

/// A uniform number in [0, 1) from `text` and `seed`, stable across
/// platforms and versions (unlike std's hasher).
pub fn hash_unit(text: &str, seed: &str) -> f64 {
    hash_unit_from(seeded(seed), text)
}

/// FNV-1a's state after the seed and its separator: the part of [`hash_unit`]
/// every row with the same seed shares.
fn seeded(seed: &str) -> u64 {
    fnv(0xcbf2_9ce4_8422_2325, seed.bytes().chain([0xff]))
}

fn fnv(mut h: u64, bytes: impl Iterator<Item = u8>) -> u64 {
    for byte in bytes {
        h ^= byte as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn hash_unit_from(state: u64, text: &str) -> f64 {
    (mix(fnv(state, text.bytes())) >> 11) as f64 / (1u64 << 53) as f64
}

/// splitmix64's finaliser: spreads FNV's weak low bits over the whole word.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A stable 64-bit hash of `text` (unseeded FNV-1a, then mixed): the same on
/// every machine and version.
pub(super) fn mixed_hash(text: &str) -> u64 {
    mix(fnv(0xcbf2_9ce4_8422_2325, text.bytes()))
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct HashUnit {
    signature: Signature,
}

impl HashUnit {
    pub(super) fn new() -> Self {
        Self { signature: Signature::string(2, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for HashUnit {
    fn name(&self) -> &str {
        "cvm_hash_unit"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let text = strings(&args, 0)?;
        let text = text.as_string::<i32>();
        // the seed is a constant of the query: its part of the hash once per batch
        if let ColumnarValue::Scalar(seed) = &args.args[1] {
            let out: datafusion::arrow::array::Float64Array = match seed.try_as_str().flatten() {
                Some(seed) => {
                    let state = seeded(seed);
                    text.iter().map(|t| t.map(|t| hash_unit_from(state, t))).collect()
                }
                None => std::iter::repeat_n(None, args.number_rows).collect(),
            };
            return Ok(ColumnarValue::Array(Arc::new(out)));
        }
        let seed = strings(&args, 1)?;
        let seed = seed.as_string::<i32>();
        let out: datafusion::arrow::array::Float64Array = (0..args.number_rows)
            .map(|i| (!text.is_null(i) && !seed.is_null(i)).then(|| hash_unit(text.value(i), seed.value(i))))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_unit_is_stable_and_spread() {
        // pinned: a sample must not change between versions or machines
        assert_eq!(hash_unit("S001", "42"), 0.7823658964955849);
        assert_eq!(hash_unit("", ""), 0.30929118745757567);
        assert_ne!(hash_unit("S001", "42"), hash_unit("S001", "43"));
        let n = 10_000;
        let below_half = (0..n).filter(|i| hash_unit(&format!("S{i:07}"), "42") < 0.5).count();
        assert!((below_half as f64 / n as f64 - 0.5).abs() < 0.02, "{below_half}");
        assert!((0..n).all(|i| (0.0..1.0).contains(&hash_unit(&i.to_string(), "7"))));
    }
}
