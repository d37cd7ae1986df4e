//! The value models: plain functions over plain data, no I/O, each checked
//! against published or hand-computed numbers.

pub mod ahp;
pub mod anomaly;
pub mod bgnbd;
pub mod churn;
pub mod discount;
pub mod logistic;
pub mod metrics;
pub mod optimize;
pub mod sbg;
pub mod special;
#[cfg(test)]
pub(crate) mod test_rng;
pub mod uplift;
