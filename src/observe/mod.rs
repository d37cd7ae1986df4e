//! Watching a process from outside its work: logs, the progress line, the
//! memory the kernel counts, the allocator's settings and the fault tests'
//! pause points, and the one way counts are written for people. Nothing
//! here knows what a run is.

pub mod allocator;
pub mod fault;
pub mod logging;
pub mod memory;
pub mod progress;

/// A count with its thousands grouped, as logs and messages write it: 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(40_000_000), "40,000,000");
    }
}
