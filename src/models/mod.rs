//! The value models: plain functions over plain data, no I/O, each checked
//! against published or hand-computed numbers. (Issue 3 builds these out:
//! churn, retention, prepaid recharge process, CLV, tiers.)

pub mod ahp;
pub mod discount;
pub mod logistic;
