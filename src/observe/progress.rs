//! A progress line on a terminal: the current step and the rows it has
//! read so far. Silent when standard error is not a terminal or logs are
//! JSON, so schedulers only ever see log lines.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// Turns the progress line on (once, at start-up) when it can be seen.
pub fn enable_if_terminal(json_logs: bool) {
    if json_logs || !std::io::stderr().is_terminal() {
        return;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {msg} {pos:>12} rows")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let _ = BAR.set(bar);
}

/// Names the step now running and resets the row count.
pub fn step(name: &str) {
    if let Some(bar) = BAR.get() {
        bar.set_message(name.to_string());
        bar.set_position(0);
    }
}

/// Adds rows to the current step's count.
pub fn rows(n: u64) {
    if let Some(bar) = BAR.get() {
        bar.inc(n);
    }
}

/// Removes the progress line (before the final output is printed).
pub fn finish() {
    if let Some(bar) = BAR.get() {
        bar.finish_and_clear();
    }
}

/// A writer for log lines that hides the progress line while writing.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match BAR.get() {
            Some(bar) => bar.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
