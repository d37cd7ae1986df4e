//! What the nightly scheduler relies on: `cvm schedule` (due runs, catch-up,
//! no overlap, a clean stop on SIGTERM), `cvm backfill` (date order,
//! resumable, stops naming the failed date) and `cvm status`.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A demo job file run by `cvm schedule` every second, in UTC.
fn scheduled_job(dir: &Path) -> std::path::PathBuf {
    demo_job_with(dir, "[schedule]\ncron = \"* * * * * *\"\ntimezone = \"UTC\"\ncatch_up = 3\n")
}

fn scheduler(dir: &Path) -> std::process::Command {
    let mut cmd = cvm_process();
    cmd.arg("schedule").arg(dir);
    cmd
}

fn succeeded_runs(warehouse: &Path) -> usize {
    snapshot_files(&warehouse.join("_manifests"))
        .iter()
        .filter(|(p, b)| {
            let name = p.to_string_lossy();
            name.ends_with(".json")
                && !name.ends_with(".models.json")
                && String::from_utf8_lossy(b).contains("\"succeeded\"")
        })
        .count()
}

fn sigterm(child: &Child) {
    assert!(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the scheduler did not stop within {limit:?}");
}

#[test]
fn the_scheduler_runs_a_due_snapshot_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    scheduled_job(dir.path());
    let warehouse = dir.path().join("warehouse");
    let mut daemon = scheduler(dir.path()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    while succeeded_runs(&warehouse) == 0 {
        assert!(started.elapsed() < Duration::from_secs(300), "no run within 5 minutes");
        std::thread::sleep(Duration::from_millis(200));
    }
    // several more due times pass: the snapshot is published, so none runs again
    std::thread::sleep(Duration::from_secs(3));
    sigterm(&daemon);
    assert_eq!(wait_exit(&mut daemon, Duration::from_secs(60)), Some(0));
    assert_eq!(succeeded_runs(&warehouse), 1, "one snapshot, one run");
    // T = the scheduled day minus one (snapshot_offset_days' default)
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).date_naive();
    let published = query_csv(&warehouse, "SELECT DISTINCT snapshot_date FROM customer_value");
    assert_eq!(published.lines().nth(1), Some(yesterday.to_string().as_str()));
}

/// Starts the scheduler (leading a process group of its own, as a shell's
/// foreground job does) with its due run paused, sends `signal` to it, and
/// checks that the run in flight still finishes and publishes.
fn a_signal_lets_the_run_in_flight_finish(signal: impl Fn(&Child)) {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    scheduled_job(dir.path());
    let warehouse = dir.path().join("warehouse");
    let pause = dir.path().join("paused");
    std::fs::write(&pause, "").unwrap();
    let mut cmd = scheduler(dir.path());
    cmd.env("CVM_PAUSE_AT", "models").env("CVM_PAUSE_WHILE", &pause).process_group(0);
    let mut daemon = start_paused(cmd); // its scheduled run is paused
    signal(&daemon.child);
    std::thread::sleep(Duration::from_secs(2));
    assert!(daemon.child.try_wait().unwrap().is_none(), "the scheduler waits for the run in flight");
    std::fs::remove_file(&pause).unwrap();
    assert_eq!(wait_exit(&mut daemon.child, Duration::from_secs(300)), Some(0));
    assert_eq!(succeeded_runs(&warehouse), 1, "the run in flight finished and published");
}

#[test]
fn sigterm_lets_the_run_in_flight_finish_before_the_scheduler_stops() {
    a_signal_lets_the_run_in_flight_finish(sigterm);
}

/// Ctrl-C in the scheduler's terminal signals its whole process group: the
/// run in flight is in a group of its own, so it finishes and publishes.
#[test]
fn ctrl_c_on_the_schedulers_terminal_does_not_kill_the_run_in_flight() {
    a_signal_lets_the_run_in_flight_finish(|scheduler| {
        let group = format!("-{}", scheduler.id());
        assert!(std::process::Command::new("kill").args(["-INT", "--", &group]).status().unwrap().success());
    });
}

#[test]
fn a_job_file_without_a_schedule_is_refused_by_the_scheduler() {
    let dir = tempfile::tempdir().unwrap();
    demo_job_with(dir.path(), "");
    let out = cvm().arg("schedule").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has a [schedule]"));
    let bad = demo_job_with(dir.path(), "[schedule]\ncron = \"every night\"\n");
    let out = cvm().arg("schedule").arg(bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("schedule.cron"));
}

fn backfill(job: &Path, input: &Path, warehouse: &Path, from: &str, to: &str, force: bool) -> std::process::Output {
    let mut cmd = cvm();
    cmd.arg("backfill").arg(job).args(["--from", from, "--to", to, "--input-root"]).arg(input);
    cmd.arg("--warehouse").arg(warehouse);
    if force {
        cmd.arg("--force");
    }
    cmd.output().unwrap()
}

fn lines_with(out: &std::process::Output, word: &str) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(word)).map(str::to_string).collect()
}

#[test]
fn backfill_runs_in_date_order_and_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    copy_dir(&repo().join("fixtures/demo/input"), &input);
    let w = dir.path().join("warehouse");
    let out = backfill(&demo_job(), &input, &w, "2026-11-20", "2026-11-21", false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(lines_with(&out, " ran ").len(), 2);

    // the longer range skips what is done and runs the rest
    let out = backfill(&demo_job(), &input, &w, "2026-11-20", "2026-11-22", false);
    assert!(out.status.success());
    let (skipped, ran) = (lines_with(&out, "skipped"), lines_with(&out, " ran "));
    assert_eq!((skipped.len(), ran.len()), (2, 1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(skipped[0].starts_with("2026-11-20") && ran[0].starts_with("2026-11-22"));

    // a changed input file means the published snapshots are stale: run again
    std::fs::OpenOptions::new()
        .append(true)
        .open(input.join("tickets/dt=2026-11-22/part-0.csv"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"S001,2026-11-10T09:00:00Z,complaint,network\n"))
        .unwrap();
    let out = backfill(&demo_job(), &input, &w, "2026-11-21", "2026-11-22", false);
    assert_eq!(lines_with(&out, " ran ").len(), 2, "{}", String::from_utf8_lossy(&out.stdout));
    // --force runs everything
    let out = backfill(&demo_job(), &input, &w, "2026-11-22", "2026-11-22", true);
    assert_eq!(lines_with(&out, " ran ").len(), 1);

    let status = cvm().arg("status").arg(demo_job()).arg("--warehouse").arg(&w).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.starts_with("job   snapshot    status"), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains("succeeded")).count(), 6, "{text}");
}

#[test]
fn backfill_stops_at_the_first_failure_naming_its_date() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    copy_dir(&repo().join("fixtures/demo/input"), &input);
    std::fs::write(input.join("cdr/dt=2026-11-22/part-0.csv.gz"), b"\x1f\x8b\x08\x00truncated").unwrap();
    let w = dir.path().join("warehouse");
    let out = backfill(&demo_job(), &input, &w, "2026-11-21", "2026-11-22", false);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("backfill stopped at snapshot 2026-11-21"), "{stderr}");
    assert!(lines_with(&out, " ran ").is_empty());
    let status = cvm().arg("status").arg(demo_job()).arg("--warehouse").arg(&w).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("2026-11-21  failed") && text.contains("error: "), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("demo  2026-11-22")), "a backfill stops at its first failure: {text}");
}
