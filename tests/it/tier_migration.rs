//! tier_migration against an independent count: each line's tier and
//! revenue_12m read back from customer_value's two snapshots and paired here.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::*;

/// Each line with a tier at snapshot `t`: (tier, revenue_12m).
fn tiers_at(warehouse: &Path, t: &str) -> BTreeMap<String, (String, f64)> {
    let csv = query_csv(
        warehouse,
        &format!(
            "SELECT subscriber_id, value_tier, CAST(revenue_12m AS DOUBLE) AS revenue FROM customer_value \
             WHERE snapshot_date = DATE '{t}' AND value_tier IS NOT NULL"
        ),
    );
    let (_, rows) = parse_csv(&csv);
    rows.into_iter().map(|r| (r[0].clone(), (r[1].clone(), r[2].parse().unwrap()))).collect()
}

#[test]
fn lines_moving_between_tiers_are_counted_from_the_previous_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("warehouse");
    run_ok(&demo_job_with(dir.path(), ""), "2026-11-22", &w);
    let first = query_csv(&w, "SELECT count(*) AS n FROM tier_migration");
    assert_eq!(first.lines().nth(1), Some("0"), "a first night has nothing to compare with");

    // wider tiers the next night: lines rise
    let wider = "[tiers]\npercentile = { diamond = 0.10, gold = 0.25, silver = 0.45, vip = 0.70 }\n";
    run_ok(&demo_job_with(dir.path(), wider), "2026-11-23", &w);

    let (then, now) = (tiers_at(&w, "2026-11-22"), tiers_at(&w, "2026-11-23"));
    let mut expected: BTreeMap<(String, String), (i64, f64, f64)> = BTreeMap::new();
    let ids: std::collections::BTreeSet<&String> = then.keys().chain(now.keys()).collect();
    for id in ids {
        let (from, revenue_then) = then.get(id).map(|(t, r)| (t.clone(), *r)).unwrap_or(("new".into(), 0.0));
        let (to, revenue_now) = now.get(id).map(|(t, r)| (t.clone(), *r)).unwrap_or(("ended".into(), 0.0));
        let e = expected.entry((from, to)).or_default();
        *e = (e.0 + 1, e.1 + revenue_then, e.2 + revenue_now);
    }

    let csv = query_csv(
        &w,
        "SELECT from_tier, to_tier, tiers_down, lines, CAST(revenue_12m_then AS DOUBLE) AS a, \
         CAST(revenue_12m_now AS DOUBLE) AS b FROM tier_migration \
         WHERE snapshot_date = DATE '2026-11-23' AND comparison = 'previous' AND from_snapshot = DATE '2026-11-22'",
    );
    let (_, rows) = parse_csv(&csv);
    let rank = |t: &str| ["diamond", "gold", "silver", "vip", "standard"].iter().position(|x| *x == t);
    let mut got = BTreeMap::new();
    for r in &rows {
        let down = match (rank(&r[0]), rank(&r[1])) {
            (Some(a), Some(b)) => (b as i64 - a as i64).to_string(),
            _ => String::new(),
        };
        assert_eq!(r[2], down, "tiers_down of {} -> {}", r[0], r[1]);
        got.insert(
            (r[0].clone(), r[1].clone()),
            (r[3].parse::<i64>().unwrap(), r[4].parse().unwrap(), r[5].parse().unwrap()),
        );
    }
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (key, (lines, a, b)) in &expected {
        let (got_lines, got_a, got_b): &(i64, f64, f64) = &got[key];
        assert_eq!(got_lines, lines, "{key:?}");
        assert!((got_a - a).abs() < 0.005 && (got_b - b).abs() < 0.005, "{key:?}: {got:?} vs {expected:?}");
    }
    assert!(rows.iter().any(|r| r[2].starts_with('-')), "some line rose: {csv}");
}
