//! The kpi table (the Pareto figures on a hand-checked case) and the
//! campaigns: every shipped rule, opt-outs per channel, one campaign per
//! subscriber, caps.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::*;

/// Rows of a query as maps from column to value.
fn records(warehouse: &Path, sql: &str) -> Vec<BTreeMap<String, String>> {
    let (header, rows) = parse_csv(&query_csv(warehouse, sql));
    rows.into_iter().map(|r| header.iter().cloned().zip(r).collect()).collect()
}

fn float(record: &BTreeMap<String, String>, column: &str) -> f64 {
    record[column].parse().unwrap_or_else(|_| panic!("{column} = '{}' is not a number", record[column]))
}

/// Ten postpaid lines in service all year, billed a fixed amount every
/// month of L-11 .. L (2025-11 .. 2026-10); S10 complains twice in the
/// window (and once before it) and leaves on 2026-10-15.
fn pareto_landing() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let monthly = [100, 50, 20, 10, 10, 5, 5, 2, 2, 1];
    let mut subscribers = String::from(
        "subscriber_id,msisdn,activation_date,deactivation_date,deactivation_reason,plan_type,plan_id,segment,region,channel,birth_year\n",
    );
    let mut billing = String::from("subscriber_id,bill_month,invoice_id,charge_type,net_amount,currency\n");
    for (i, amount) in monthly.iter().enumerate() {
        let id = format!("S{:02}", i + 1);
        let end = if i == 9 { "2026-10-15,voluntary" } else { "," };
        subscribers.push_str(&format!("{id},+3370000{i},2024-01-01,{end},postpaid,P,consumer,north,store,1980\n"));
        for m in 0..12 {
            let (y, mo) = if m < 2 { (2025, 11 + m) } else { (2026, m - 1) };
            billing.push_str(&format!("{id},{y}-{mo:02},I{id}{m},recurring,{amount}.00,EUR\n"));
        }
    }
    let tickets = "subscriber_id,opened_at,category,resolved_at\n\
        S10,2026-03-05T10:00:00Z,complaint,\n\
        S10,2026-09-01T10:00:00Z,complaint,2026-09-02T10:00:00Z\n\
        S10,2025-10-15T10:00:00Z,complaint,\n\
        S09,2026-05-01T10:00:00Z,inquiry,\n";
    let cdr = "subscriber_id,event_time,event_type,direction,duration_s,volume_bytes,charged_amount,other_party,roaming\n\
        S01,2026-10-20T10:00:00Z,voice,out,60,,,,false\n";
    for (rel, text) in [
        ("subscribers/part-0.csv", subscribers.as_str()),
        ("billing/part-0.csv", billing.as_str()),
        ("tickets/part-0.csv", tickets),
        ("cdr/part-0.csv", cdr),
    ] {
        let path = dir.path().join("landing").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn pareto_and_profit_figures_match_a_hand_checked_case() {
    let dir = pareto_landing();
    let job = job_file(
        dir.path(),
        "[value]\nmargin_rate = 0.5\n[kpi]\ncost_per_subscriber_month = 3\ncost_per_complaint = 10\n",
    );
    let warehouse = dir.path().join("warehouse");
    run_ok(&job, AS_OF, &warehouse);
    let total = records(&warehouse, "SELECT * FROM kpi WHERE dimension = 'total' AND month = DATE '2026-10-01'");
    let total = &total[0];
    // base in October: ten at the start, S10 leaves on the 15th
    assert_eq!(total["opening_base"], "10");
    assert_eq!(total["closing_base"], "9");
    assert_eq!(total["deactivations"], "1");
    assert_eq!(float(total, "churn_rate"), 0.1);
    assert_eq!(total["revenue"], "205.0000");
    // 205 / ((10 + 9) / 2) = 21.578947...
    assert_eq!(total["network_arpu"], "21.5789");
    // 12 x 205 billed over the year; the top 20% (2 lines) brought 12 x 150
    assert_eq!(total["subscribers_12m"], "10");
    assert_eq!(total["revenue_12m"], "2460.0000");
    assert!((float(total, "top_revenue_share_12m") - 1800.0 / 2460.0).abs() < 1e-12);
    // profit = 12 a x 0.5 - 12 x 3 - 10 x complaints: 564, 264, 84, 24, 24, -6, -6, -24, -24, -50
    assert_eq!(total["cost_to_serve_12m"], "380.0000");
    assert_eq!(total["profit_12m"], "850.0000");
    assert!((float(total, "top_profit_share_12m") - 828.0 / 850.0).abs() < 1e-12);
    // the bottom 30% (S08, S09, S10) lose 98 of the 948 the others make
    assert_eq!(total["bottom_profit_12m"], "-98.0000");
    assert!((float(total, "bottom_profit_drag") - 98.0 / 948.0).abs() < 1e-12);

    // the profit curve: one line per decile, rising above 100% then falling back
    let deciles = records(
        &warehouse,
        "SELECT member, profit_12m, cumulative_profit_share FROM kpi WHERE dimension = 'profit_decile' ORDER BY member",
    );
    let profits: Vec<&str> = deciles.iter().map(|d| d["profit_12m"].as_str()).collect();
    assert_eq!(
        profits,
        [
            "564.0000", "264.0000", "84.0000", "24.0000", "24.0000", "-6.0000", "-6.0000", "-24.0000", "-24.0000",
            "-50.0000"
        ]
    );
    let peak = float(&deciles[4], "cumulative_profit_share");
    assert!((peak - 960.0 / 850.0).abs() < 1e-12, "{peak}");
    assert!((float(&deciles[9], "cumulative_profit_share") - 1.0).abs() < 1e-12);

    // twelve months for every group; shares of revenue add up to 1 per month and dimension
    let months = records(&warehouse, "SELECT count(DISTINCT month) AS n FROM kpi WHERE dimension = 'region'");
    assert_eq!(months[0]["n"], "12");
    let shares = records(
        &warehouse,
        "SELECT month, dimension, sum(revenue_share) AS s FROM kpi WHERE dimension <> 'profit_decile' GROUP BY 1, 2",
    );
    assert!(shares.iter().all(|r| (float(r, "s") - 1.0).abs() < 1e-9), "{shares:?}");
}

/// The demo's opt-outs: subscriber -> channels refused (None = every channel).
fn demo_optouts() -> Vec<(String, Option<String>)> {
    let text = std::fs::read_to_string(repo().join("fixtures/demo/input/optouts/dt=2026-11-22/part-0.csv")).unwrap();
    let (_, rows) = parse_csv(&text);
    rows.into_iter().map(|r| (r[0].clone(), if r[1].is_empty() { None } else { Some(r[1].clone()) })).collect()
}

fn opted_out(optouts: &[(String, Option<String>)], id: &str, channel: &str) -> bool {
    optouts.iter().any(|(s, c)| s == id && c.as_deref().is_none_or(|c| c == channel))
}

/// campaign -> subscribers in rank order.
fn lists(warehouse: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in records(warehouse, "SELECT campaign, subscriber_id FROM campaigns ORDER BY campaign, rank") {
        out.entry(r["campaign"].clone()).or_default().push(r["subscriber_id"].clone());
    }
    out
}

fn ids(warehouse: &Path, sql: &str) -> Vec<String> {
    records(warehouse, sql).into_iter().map(|r| r["subscriber_id"].clone()).collect()
}

#[test]
fn each_shipped_campaign_selects_exactly_its_rule_in_rank_order() {
    // (campaign, channel, its rule and ranking written independently of sql/campaigns/)
    let cases = [
        (
            "retention_priority",
            "call",
            "is_active AND churn_risk_band = 'high' AND value_tier IN ('diamond', 'gold', 'silver')",
            "churn_risk * CAST(current_value AS DOUBLE) DESC",
        ),
        ("upsell_potential", "sms", "value_quadrant = 'potential' AND potential_value > 0", "potential_value DESC"),
        ("winback_dormant", "email", "lifecycle_stage = 'dormant'", "historical_value DESC"),
        ("loyalty_care", "email", "tenure_months >= 36 AND value_tier IN ('diamond', 'gold', 'silver')", "clv DESC"),
    ];
    let optouts = demo_optouts();
    for (name, channel, rule, order) in cases {
        let dir = tempfile::tempdir().unwrap();
        // ARPU tiers with low floors and tight churn bands give every rule members on the demo
        // (no control groups here: tests/it/control_groups.rs draws them)
        let settings = "[tiers]\nmode = \"arpu\"\narpu = { diamond = 60, gold = 40, silver = 25, vip = 15 }\n\
                        [churn]\nbands = { medium = 0.03, high = 0.05 }\n[control]\nshare = 0\n";
        let job = demo_job_with(
            dir.path(),
            &format!("{settings}[[campaigns]]\nname = \"{name}\"\nsql = \"{name}\"\nchannel = \"{channel}\"\n"),
        );
        let w = dir.path().join("warehouse");
        run_ok(&job, AS_OF, &w);
        let qualifying =
            ids(&w, &format!("SELECT subscriber_id FROM customer_value WHERE {rule} ORDER BY {order}, subscriber_id"));
        let expected: Vec<String> = qualifying.iter().filter(|id| !opted_out(&optouts, id, channel)).cloned().collect();
        assert!(!expected.is_empty(), "{name}: no demo subscriber qualifies, the test would prove nothing");
        let got = lists(&w).remove(name).unwrap_or_default();
        // ties in the score may order differently only among equal scores: compare sets, then the score order
        assert_eq!(
            got.iter().collect::<BTreeSet<_>>(),
            expected.iter().collect::<BTreeSet<_>>(),
            "{name} selected the wrong subscribers"
        );
        let scores = records(&w, &format!("SELECT rank, score FROM campaigns WHERE campaign = '{name}' ORDER BY rank"));
        let s: Vec<f64> = scores.iter().map(|r| float(r, "score")).collect();
        assert!(s.windows(2).all(|w| w[0] >= w[1]), "{name}: ranks do not follow the score: {s:?}");
        let ranks: Vec<String> = scores.iter().map(|r| r["rank"].clone()).collect();
        let want: Vec<String> = (1..=ranks.len()).map(|i| i.to_string()).collect();
        assert_eq!(ranks, want, "{name}: ranks are 1..n");
    }
}

#[test]
fn opt_outs_are_per_channel_a_subscriber_is_in_one_campaign_and_caps_hold() {
    let dir = tempfile::tempdir().unwrap();
    // no control groups: the lists are exactly the rules', opt-outs and caps (tests/it/control_groups.rs)
    let campaigns = "
[control]
share = 0

[[campaigns]]
name = \"call_first\"
channel = \"call\"
rule = \"is_active\"
rank_by = \"tenure_days\"
reason = \"'longest in service'\"
cap = 3

[[campaigns]]
name = \"sms_next\"
channel = \"SMS\"
rule = \"is_active\"
rank_by = \"tenure_days\"
reason = \"'in service'\"

[[campaigns]]
name = \"email_last\"
channel = \"email\"
rule = \"is_active\"
rank_by = \"tenure_days\"
reason = \"'in service'\"
value_at_stake = \"clv\"
cap = 100
";
    let job = demo_job_with(dir.path(), campaigns);
    let w = dir.path().join("warehouse");
    run_ok(&job, AS_OF, &w);
    let optouts = demo_optouts();
    let lists = lists(&w);
    let active =
        ids(&w, "SELECT subscriber_id FROM customer_value WHERE is_active ORDER BY tenure_days DESC, subscriber_id");

    // the first campaign: capped at 3, the longest-serving active lines not opted out of calls
    let call: Vec<String> = active.iter().filter(|id| !opted_out(&optouts, id, "call")).take(3).cloned().collect();
    assert_eq!(lists["call_first"], call);
    assert!(!lists["call_first"].contains(&"S009".to_string()), "S009 refused calls");

    // the next: every other active line that accepts sms
    let sms: Vec<String> =
        active.iter().filter(|id| !call.contains(id) && !opted_out(&optouts, id, "sms")).cloned().collect();
    assert_eq!(lists["sms_next"], sms);
    // the last: those left who accept email, e.g. the sms opt-outs S001 and S016 (unless taken by calls)
    let email: Vec<String> = active
        .iter()
        .filter(|id| !call.contains(id) && !sms.contains(id) && !opted_out(&optouts, id, "email"))
        .cloned()
        .collect();
    assert_eq!(lists["email_last"], email);
    assert!(email.contains(&"S016".to_string()), "{email:?}");

    // nobody twice; the all-channel opt-outs nowhere
    let all: Vec<&String> = lists.values().flatten().collect();
    assert_eq!(all.len(), all.iter().collect::<BTreeSet<_>>().len(), "a subscriber is in two campaigns");
    for id in ["S013", "S019"] {
        assert!(!all.contains(&&id.to_string()), "{id} opted out of every channel");
    }
    // every row carries its campaign's channel; value at stake follows the rule's expression
    let channels = records(&w, "SELECT DISTINCT campaign, channel FROM campaigns ORDER BY campaign");
    let pairs: Vec<(String, String)> = channels.iter().map(|r| (r["campaign"].clone(), r["channel"].clone())).collect();
    assert_eq!(
        pairs,
        [
            ("call_first".into(), "call".into()),
            ("email_last".into(), "email".into()),
            ("sms_next".into(), "sms".into())
        ]
    );
    let mismatched = records(
        &w,
        "SELECT count(*) AS n FROM campaigns c JOIN customer_value v ON v.subscriber_id = c.subscriber_id \
         WHERE c.campaign = 'email_last' AND c.value_at_stake <> v.clv",
    );
    assert_eq!(mismatched[0]["n"], "0");
}

#[test]
fn the_demo_caps_upsell_and_passes_the_rest_to_winback() {
    let w = tempfile::tempdir().unwrap();
    run_ok(&demo_job(), AS_OF, w.path());
    let lists = lists(w.path());
    // upsell is capped at 2 of its 3 candidates (S004, S021, S010); S010, dormant, then goes to
    // winback, where it ranks above S012 by historical value
    assert_eq!(lists["upsell_potential"], ["S004", "S021"]);
    assert_eq!(lists["winback_dormant"], ["S010", "S012"]);
    let sizes: Vec<usize> =
        ["retention_priority", "loyalty_care"].iter().map(|c| lists.get(*c).map_or(0, Vec::len)).collect();
    assert_eq!(sizes, [0, 2]);
}

#[test]
fn a_bad_campaign_rule_fails_the_run_naming_the_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let job = demo_job_with(
        dir.path(),
        "[[campaigns]]\nname = \"broken\"\nchannel = \"sms\"\nrule = \"no_such_column > 1\"\nrank_by = \"clv\"\nreason = \"'x'\"\n",
    );
    let w = dir.path().join("warehouse");
    let out = cvm().arg("run").arg(&job).args(["--as-of", AS_OF]).arg("--warehouse").arg(&w).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("campaign broken") && err.contains("no_such_column"), "{err}");
    assert!(!w.join("customer_value").exists(), "a failed run publishes nothing");
}

/// A rule is planned against customer_value only: a subquery that reaches for
/// the staged subscribers (msisdn in clear) is refused as a bad job (exit 2),
/// naming the campaign and the table, and nothing is published.
#[test]
fn a_campaign_rule_that_reads_beyond_customer_value_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (table, reason) in [
        ("stg_subscribers", "(SELECT max(msisdn) FROM stg_subscribers)"),
        ("int_subscriber_features", "(SELECT max(subscriber_id) FROM int_subscriber_features)"),
    ] {
        let job = demo_job_with(
            dir.path(),
            &format!(
                "[exports]\nmsisdn = \"allow\"\n[[campaigns]]\nname = \"peek\"\nchannel = \"sms\"\nrule = \"true\"\n\
                 rank_by = \"clv\"\nreason = \"{reason}\"\n"
            ),
        );
        let w = dir.path().join("warehouse");
        let out = cvm().arg("run").arg(&job).args(["--as-of", AS_OF]).arg("--warehouse").arg(&w).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("campaign peek") && err.contains(&format!("reads {table}")), "{err}");
        assert!(!w.join("customer_value").exists(), "a refused run publishes nothing");
    }
}
