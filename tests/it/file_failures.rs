//! File-level failures: each stops the run with a message naming the file
//! and the problem, publishes nothing, and leaves the previous snapshot as it was.

use crate::support::*;

/// Publishes a good snapshot, spoils the landing, re-runs the same snapshot,
/// and checks the failure and that the published files did not change.
fn assert_fails_cleanly(spoil: impl FnOnce(&Landing), expected_code: i32, message_parts: &[&str]) {
    assert_fails_cleanly_with(Landing::new(), "", spoil, expected_code, message_parts)
}

fn assert_fails_cleanly_with(
    landing: Landing,
    job_extra: &str,
    spoil: impl FnOnce(&Landing),
    expected_code: i32,
    message_parts: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), job_extra);
    let warehouse = dir.path().join("warehouse");
    let first = run_job(&job, Some(landing.path()), &warehouse);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let published: Vec<_> =
        snapshot_files(&warehouse).into_iter().filter(|(p, _)| !p.to_string_lossy().contains("_manifests")).collect();
    assert!(!published.is_empty());

    spoil(&landing);
    let out = run_job(&job, Some(landing.path()), &warehouse);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(expected_code), "stderr: {stderr}");
    for part in message_parts {
        assert!(stderr.contains(part), "message should name '{part}': {stderr}");
    }
    let after: Vec<_> =
        snapshot_files(&warehouse).into_iter().filter(|(p, _)| !p.to_string_lossy().contains("_manifests")).collect();
    assert!(after == published, "a failed run changed the published outputs");
    // and the failure is on record
    let manifests = snapshot_files(&warehouse.join("_manifests"));
    assert!(manifests.iter().any(|(_, b)| String::from_utf8_lossy(b).contains("\"status\": \"failed\"")));
}

#[test]
fn missing_required_column_fails_naming_file_and_column() {
    assert_fails_cleanly(
        |l| l.write("cdr/dt=2026-11-23/part-0.csv", "subscriber_id,event_type\nA1,voice\n"),
        1,
        &["cdr/dt=2026-11-23/part-0.csv", "missing required column 'event_time'"],
    );
}

#[test]
fn unreadable_gzip_fails_naming_the_file() {
    assert_fails_cleanly(
        |l| {
            let gz = {
                use std::io::Write;
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(CDR.repeat(50).as_bytes()).unwrap();
                e.finish().unwrap()
            };
            l.write_bytes("cdr/dt=2026-11-23/part-0.csv.gz", &gz[..gz.len() / 2]);
        },
        1,
        &["cdr/dt=2026-11-23/part-0.csv.gz", "unreadable"],
    );
}

#[test]
fn corrupt_parquet_fails_naming_the_file() {
    let landing = Landing::new();
    std::fs::remove_dir_all(landing.path().join("billing")).unwrap();
    landing.write_bytes("billing/dt=2026-11-05/part-0.parquet", &crate::formats::billing_parquet());
    assert_fails_cleanly_with(
        landing,
        "[sources.billing]\nformat = \"parquet\"\n",
        |l| l.write("billing/dt=2026-11-23/part-0.parquet", "PAR1 this is not a parquet file PAR1"),
        1,
        &["billing/dt=2026-11-23/part-0.parquet", "unreadable"],
    );
}

#[test]
fn rejects_over_the_threshold_fail_with_their_own_exit_code() {
    assert_fails_cleanly(
        |l| l.append("billing/dt=2026-11-05/part-0.csv", "A1,2026-10,I9,recurring,lots,EUR"),
        3,
        &["billing", "1 of 6 rows rejected", "net_amount_invalid", "rejects.max_rate"],
    );
}

#[test]
fn a_required_source_without_files_fails() {
    assert_fails_cleanly(
        |l| std::fs::remove_dir_all(l.path().join("cdr")).unwrap(),
        1,
        &["source cdr: no files under", "/cdr/"],
    );
}

/// A gzip CDR extract whose second line is `line_bytes` long (a field of x's).
fn one_long_line(line_bytes: usize) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b"subscriber_id,event_time,event_type,direction,duration_s,volume_bytes\nS001,").unwrap();
    let chunk = vec![b'x'; 1 << 20];
    let mut left = line_bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        e.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    e.write_all(b"\n").unwrap();
    e.finish().unwrap()
}

#[test]
fn a_line_longer_than_the_jobs_limit_fails_naming_file_line_and_limit() {
    assert_fails_cleanly_with(
        Landing::new(),
        "[sources.cdr]\nmax_line_bytes = \"64KiB\"\n",
        |l| l.write_bytes("cdr/dt=2026-11-23/part-0.csv.gz", &one_long_line(100_000)),
        1,
        &[
            "cdr/dt=2026-11-23/part-0.csv.gz",
            "line 2 is longer than 65536 bytes, the limit (sources.cdr.max_line_bytes)",
        ],
    );
}

#[test]
fn a_gzip_of_one_endless_line_stops_at_the_default_limit() {
    // 200 MB of one line in a few hundred KB of gzip: read up to 16 MiB, then the file fails
    let bomb = one_long_line(200 << 20);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    assert_fails_cleanly(
        |l| l.write_bytes("cdr/dt=2026-11-23/part-0.csv.gz", &bomb),
        1,
        &["cdr/dt=2026-11-23/part-0.csv.gz", "line 2 is longer than 16777216 bytes"],
    );
}
