//! The DataFusion settings every cvm session has: a local session's
//! ([`super::session`]) and those of a cluster's scheduler and executors
//! ([`super::cluster`]) alike.

use datafusion::prelude::SessionConfig;

/// cvm's settings on top of `config`: the same for a local session and for
/// every process of a cluster.
pub fn cvm_settings(config: SessionConfig) -> SessionConfig {
    let mut config = config.with_information_schema(true);
    config.options_mut().execution.time_zone = Some("UTC".to_string());
    // plain Utf8 strings everywhere: stable output schemas for every reader
    config.options_mut().execution.parquet.schema_force_view_types = false;
    // a partitioned write keeps one writer open per partition, each holding
    // its row group until full: 1M rows (the default) per day of a first
    // night's usage_daily held the whole table in memory
    config.options_mut().execution.parquet.max_row_group_size = 128 * 1024;
    // The staging SQL checks every extract row against the subscribers
    // (`raw LEFT JOIN stg_subscribers`); the raw side streams and has no
    // statistics. Below these thresholds DataFusion builds its hash table on
    // the subscribers and streams the raw rows; above them (the defaults,
    // 1 MB and 128k rows, i.e. from ~130k subscribers) it partitions both
    // sides and builds on the raw rows: every CDR row in memory, and an
    // Arrow offset overflow past 2 GB of text. 20M subscribers fit below.
    config.options_mut().optimizer.hash_join_single_partition_threshold = 1 << 30;
    config.options_mut().optimizer.hash_join_single_partition_threshold_rows = 32 << 20;
    config
}
