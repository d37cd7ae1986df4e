//! Hostile extracts: bombs, endless lines, files of garbage, absurd headers.
//! Each run is started under a hard cap on its address space (so a
//! regression fails the test rather than the machine), its peak resident
//! memory is taken from the kernel when it exits, and each must end with a
//! clear error (exit 1, naming the file and the limit) or exit 3 (too many
//! rejects, judged while reading), the published snapshot untouched.

use std::io::{Read, Write};
use std::path::Path;

use crate::support::*;

/// The address space a run may reserve (mimalloc and the runtime reserve
/// far more than they touch; the demo needs about 2 GiB).
const ADDRESS_SPACE_CAP_KIB: u64 = 4 << 20;
/// The resident memory a hostile file may take a run to.
const PEAK_RSS_LIMIT_MIB: u64 = 1024;

struct Finished {
    code: Option<i32>,
    stderr: String,
    peak_rss_mib: u64,
    seconds: f64,
}

/// Runs `cvm run` under the address-space cap and waits for it with
/// `wait4`, which gives the process's peak resident size.
fn run_capped(job: &Path, landing: &Path, warehouse: &Path) -> Finished {
    let exe = assert_cmd::cargo::cargo_bin("cvm");
    let started = std::time::Instant::now();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_CAP_KIB}; exec \"$0\" \"$@\""))
        .arg(exe)
        .arg("run")
        .arg(job)
        .args(["--as-of", AS_OF])
        .arg("--warehouse")
        .arg(warehouse)
        .arg("--input-root")
        .arg(landing)
        .env_remove("CVM_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh runs");
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we started
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let seconds = started.elapsed().as_secs_f64();
    Finished {
        code,
        stderr: reader.join().expect("stderr reader"),
        peak_rss_mib: usage.ru_maxrss as u64 / 1024,
        seconds,
    }
}

/// Publishes the small landing's snapshot, lets `spoil` add a hostile file,
/// runs the same snapshot again under the cap and checks the outcome.
fn assert_contained(job_extra: &str, spoil: impl FnOnce(&Landing), code: i32, message_parts: &[&str]) -> Finished {
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), job_extra);
    let warehouse = dir.path().join("warehouse");
    let landing = Landing::new();
    let first = run_job(&job, Some(landing.path()), &warehouse);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let published = || -> Vec<_> {
        snapshot_files(&warehouse).into_iter().filter(|(p, _)| !p.to_string_lossy().contains("_manifests")).collect()
    };
    let before = published();

    spoil(&landing);
    let run = run_capped(&job, landing.path(), &warehouse);
    // for the record (cargo test -- --nocapture hostile): what each file cost
    eprintln!("exit {:?} in {:.1} s, peak RSS {} MiB: {}", run.code, run.seconds, run.peak_rss_mib, run.stderr.trim());
    assert_eq!(run.code, Some(code), "stderr: {}", run.stderr);
    for part in message_parts {
        assert!(run.stderr.contains(part), "the message should say '{part}': {}", run.stderr);
    }
    assert!(run.peak_rss_mib < PEAK_RSS_LIMIT_MIB, "peak RSS {} MiB", run.peak_rss_mib);
    assert!(published() == before, "a failed run changed the published outputs");
    run
}

const CDR_HEADER: &str = "subscriber_id,event_time,event_type,direction,duration_s,volume_bytes\n";

/// `members` gzip members, each of `rows` copies of `row`: a decoder reads
/// them as one stream of members x rows rows.
fn gzip_members(head: &str, row: &str, rows: usize, members: usize) -> Vec<u8> {
    let gzip = |text: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    };
    let mut out = gzip(head.as_bytes());
    let member = gzip(row.repeat(rows).as_bytes());
    for _ in 0..members {
        out.extend_from_slice(&member);
    }
    out
}

#[test]
fn a_gzip_bomb_of_garbage_rows_stops_the_run_early_with_exit_3() {
    // 100M rows (1.6 GB) in a few MB of gzip; judged after 100,000 rows
    let bomb = gzip_members(CDR_HEADER, "not,a,cdr,row,at,all\n", 100_000, 1_000);
    assert!(bomb.len() < 8 << 20, "{} bytes", bomb.len());
    let run = assert_contained(
        "",
        |l| l.write_bytes("cdr/dt=2026-11-23/part-0.csv.gz", &bomb),
        3,
        &["source cdr:", "rows rejected", "(rejects.max_rate)", "stopped reading there"],
    );
    let read: u64 = run
        .stderr
        .split(" of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no row count in: {}", run.stderr));
    assert!(read < 1_000_000, "read {read} rows of 100M before stopping");
}

#[test]
fn a_zstd_bomb_of_one_endless_line_fails_its_file() {
    // a 4 GiB line of x's in a few KB of zstd frames
    let mut bomb = zstd::encode_all(CDR_HEADER.as_bytes(), 19).unwrap();
    let frame = zstd::encode_all(&vec![b'x'; 64 << 20][..], 19).unwrap();
    for _ in 0..64 {
        bomb.extend_from_slice(&frame);
    }
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    assert_contained(
        "",
        |l| l.write_bytes("cdr/dt=2026-11-23/part-0.csv.zst", &bomb),
        1,
        &["cdr/dt=2026-11-23/part-0.csv.zst", "line 2 is longer than 16777216 bytes", "sources.cdr.max_line_bytes"],
    );
}

#[test]
fn a_one_gigabyte_line_fails_its_file() {
    // a sparse file: a header, then 1 GiB of NUL bytes without a line break
    assert_contained(
        "",
        |l| {
            l.write("cdr/dt=2026-11-23/part-0.csv", CDR_HEADER);
            let file =
                std::fs::OpenOptions::new().write(true).open(l.path().join("cdr/dt=2026-11-23/part-0.csv")).unwrap();
            file.set_len(CDR_HEADER.len() as u64 + (1 << 30)).unwrap();
        },
        1,
        &["cdr/dt=2026-11-23/part-0.csv", "line 2 is longer than 16777216 bytes"],
    );
}

#[test]
fn a_million_bad_rows_stop_the_run_early_with_exit_3() {
    let mut rows = String::from(CDR_HEADER);
    for i in 0..1_000_000 {
        rows.push_str(&format!("X{i},2026-11-21T10:00:00Z,video,out,1,\n"));
    }
    assert_contained(
        "",
        |l| l.write("cdr/dt=2026-11-23/part-0.csv", &rows),
        3,
        &["source cdr:", "event_type_invalid", "stopped reading there"],
    );
}

#[test]
fn a_header_of_100000_columns_fails_its_file() {
    let mut header: Vec<String> = CDR_HEADER.trim().split(',').map(str::to_string).collect();
    header.extend((0..100_000).map(|i| format!("extra_{i}")));
    let text = format!("{}\nA1,2026-11-21T10:00:00Z,voice,out,60,\n", header.join(","));
    assert_contained(
        "",
        |l| l.write("cdr/dt=2026-11-23/part-0.csv", &text),
        1,
        &["cdr/dt=2026-11-23/part-0.csv", "the header has 100006 fields", "sources.cdr.max_fields"],
    );
}
