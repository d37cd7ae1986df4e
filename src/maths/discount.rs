//! Discounting cash flows: the arithmetic under current_value and
//! potential_value. Plain functions, checked against textbook numbers.
//!
//! Cash flows are taken at the end of each period (an ordinary annuity), and
//! the annual discount rate is turned into the equivalent monthly rate
//! `(1 + r)^(1/12) - 1`, so 12 monthly flows discount like one year.

/// The monthly rate equivalent to an annual rate.
pub fn monthly_rate(annual: f64) -> f64 {
    (1.0 + annual).powf(1.0 / 12.0) - 1.0
}

/// Present value of `amount` paid at the end of each of `periods` periods at
/// `rate` per period: `amount * (1 - (1 + rate)^-periods) / rate`.
pub fn annuity_present_value(amount: f64, rate: f64, periods: u32) -> f64 {
    if rate == 0.0 {
        return amount * periods as f64;
    }
    amount * (1.0 - (1.0 + rate).powi(-(periods as i32))) / rate
}

/// Present value of `amount` at the end of each period `t = 1, 2, ...`,
/// weighted by the probability `survival[t - 1]` that it is paid.
pub fn expected_present_value(amount: f64, rate: f64, survival: &[f64]) -> f64 {
    survival.iter().enumerate().map(|(t, s)| amount * s / (1.0 + rate).powi(t as i32 + 1)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_years_of_1000_at_5_percent_is_4329_48() {
        // the brief's check: and the result is not divided by the rate again
        let pv = annuity_present_value(1000.0, 0.05, 5);
        assert!((pv - 4329.48).abs() < 0.005, "{pv}");
    }

    #[test]
    fn twelve_monthly_flows_discount_like_the_annual_rate() {
        let r = monthly_rate(0.10);
        assert!(((1.0 + r).powi(12) - 1.10).abs() < 1e-12);
        // one payment at month 12 equals one payment at year 1
        assert!((1.0 / (1.0 + r).powi(12) - 1.0 / 1.10).abs() < 1e-12);
    }

    #[test]
    fn certain_survival_is_the_annuity() {
        let survival = vec![1.0; 5];
        let a = expected_present_value(1000.0, 0.05, &survival);
        assert!((a - annuity_present_value(1000.0, 0.05, 5)).abs() < 1e-9);
        assert_eq!(annuity_present_value(10.0, 0.0, 3), 30.0);
    }

    #[test]
    fn survival_weights_the_flows() {
        // flows of 100 paid with probability 0.5 then 0.25, no discounting
        assert!((expected_present_value(100.0, 0.0, &[0.5, 0.25]) - 75.0).abs() < 1e-12);
    }
}
