//! Logs: human-readable lines on a terminal, or one JSON object per line
//! (`--log-format json`) for schedulers. Level from `--verbose`/`--quiet`
//! or the `CVM_LOG` environment variable (`CVM_LOG=cvm=debug`).

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber; logs go to standard error.
pub fn init(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_env("CVM_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    crate::observe::progress::enable_if_terminal(format == LogFormat::Json);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| crate::observe::progress::LogWriter);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.with_target(false).compact().try_init(),
    };
}
