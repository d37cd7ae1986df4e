//! Control groups: every campaign holds out a reproducible share of the
//! subscribers it selects (campaigns."group" = 'control'), drawn from the
//! same ranks as its contacts, never exported, and never given to another
//! campaign. Contact history: every night's lists are kept in
//! contacts_history, and a campaign's cool-down keeps whom it listed off its
//! lists until the cool-down ends. campaign_effect compares each wave's
//! contacts with its control group: churn, ARPU change, and the answers the
//! responses source records.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::*;

/// A generated landing of 1,000 lines with 3 days of CDR.
fn landing(dir: &Path) -> PathBuf {
    let out = dir.join("landing");
    let output = cvm()
        .args(["generate", "--subscribers", "1000", "--days", "3", "--as-of", AS_OF, "--seed", "11", "--out"])
        .arg(&out)
        .output()
        .expect("cvm generate runs");
    assert!(output.status.success(), "generate failed: {}", String::from_utf8_lossy(&output.stderr));
    out
}

/// Two campaigns: every active prepaid line with a third held out, then every
/// other active line, capped at 100 contacts, with the job's default share.
fn job(dir: &Path, landing: &Path, control: &str) -> PathBuf {
    let text = format!(
        "name = \"t\"\ninput_root = \"{}\"\nwarehouse = \"warehouse\"\n{control}\n\
         [exports]\non_run = true\n\n\
         [[campaigns]]\nname = \"prepaid\"\nchannel = \"sms\"\nrule = \"is_active AND plan_type = 'prepaid'\"\n\
         rank_by = \"tenure_days\"\nreason = \"'prepaid'\"\ncontrol_share = 0.3\n\n\
         [[campaigns]]\nname = \"rest\"\nchannel = \"email\"\nrule = \"is_active\"\nrank_by = \"tenure_days\"\n\
         reason = \"'in service'\"\ncap = 100\n",
        landing.display()
    );
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// (campaign, group) -> subscribers with their rank and score, in rank order.
fn lists(warehouse: &Path) -> BTreeMap<(String, String), Vec<(String, i64, f64)>> {
    let (_, rows) = parse_csv(&query_csv(
        warehouse,
        "SELECT campaign, \"group\", subscriber_id, rank, score FROM campaigns ORDER BY campaign, \"group\", rank",
    ));
    let mut out: BTreeMap<(String, String), Vec<(String, i64, f64)>> = BTreeMap::new();
    for r in rows {
        let entry = out.entry((r[0].clone(), r[1].clone())).or_default();
        entry.push((r[2].clone(), r[3].parse().unwrap(), r[4].parse().unwrap()));
    }
    out
}

fn ids(list: &[(String, i64, f64)]) -> BTreeSet<String> {
    list.iter().map(|(id, _, _)| id.clone()).collect()
}

/// Subscriber ids in one exported CSV (its subscriber_id column).
fn exported_ids(file: &Path) -> BTreeSet<String> {
    let (header, rows) = parse_csv(&std::fs::read_to_string(file).expect("the export is written"));
    let at = header.iter().position(|h| h == "subscriber_id").expect("a subscriber_id column");
    rows.into_iter().map(|r| r[at].clone()).collect()
}

#[test]
fn control_groups_hold_out_their_share_from_the_same_ranks_and_are_never_exported() {
    let dir = tempfile::tempdir().unwrap();
    let landing = landing(dir.path());
    let job = job(dir.path(), &landing, "");
    let w = dir.path().join("wh");
    let summary = run_ok(&job, AS_OF, &w);
    let got = lists(&w);
    let list = |c: &str, g: &str| got.get(&(c.to_string(), g.to_string())).cloned().unwrap_or_default();

    // the prepaid campaign: a third held out, within sampling error
    let (contact, control) = (list("prepaid", "contact"), list("prepaid", "control"));
    let n = (contact.len() + control.len()) as f64;
    assert!(n >= 200.0, "too few prepaid lines ({n}) for the share to say anything");
    let sd = (n * 0.3 * 0.7).sqrt();
    assert!(
        (control.len() as f64 - 0.3 * n).abs() < 4.0 * sd,
        "{} of {n} held out, expected 30% within 4 sd ({sd:.1})",
        control.len()
    );
    // the other campaign: its cap counts contacts; its control group (the job's default
    // tenth) comes from the ranks the contacts come from, and ranks count within a group
    let (contact, control) = (list("rest", "contact"), list("rest", "control"));
    assert_eq!(contact.len(), 100, "the cap is a number of contacts");
    assert!(!control.is_empty() && control.len() < 40, "{} held out beside 100 contacts", control.len());
    let last_contact = contact.last().unwrap().2;
    assert!(control.iter().all(|c| c.2 >= last_contact), "a control ranked below the last contact: {control:?}");
    for group in [&contact, &control] {
        let ranks: Vec<i64> = group.iter().map(|c| c.1).collect();
        assert_eq!(ranks, (1..=group.len() as i64).collect::<Vec<_>>());
    }
    // a held-out subscriber is not the next campaign's
    let prepaid = ids(&list("prepaid", "contact")).union(&ids(&list("prepaid", "control"))).cloned().collect();
    let rest: BTreeSet<String> = ids(&contact).union(&ids(&control)).cloned().collect();
    assert!(rest.is_disjoint(&prepaid), "a subscriber in two campaigns");

    // the run's exports and `cvm campaign export` carry the contacts only
    let exports = w.join(format!("_exports/snapshot_date={AS_OF}"));
    for campaign in ["prepaid", "rest"] {
        let (contacts, held_out) = (ids(&list(campaign, "contact")), ids(&list(campaign, "control")));
        assert_eq!(exported_ids(&exports.join(format!("{campaign}.csv"))), contacts, "{campaign}'s run export");
        let out_file = w.join(format!("_exports/{campaign}-by-hand.csv"));
        let out = cvm()
            .args(["campaign", "export"])
            .arg(&job)
            .args(["--as-of", AS_OF, "--campaign", campaign, "--output"])
            .arg(&out_file)
            .arg("--warehouse")
            .arg(&w)
            .output()
            .unwrap();
        assert!(out.status.success(), "export failed: {}", String::from_utf8_lossy(&out.stderr));
        let by_hand = exported_ids(&out_file);
        assert_eq!(by_hand, contacts, "{campaign}'s export by hand");
        assert!(by_hand.is_disjoint(&held_out));
    }
    let listed = cvm().args(["campaign", "list"]).arg(&job).args(["--as-of", AS_OF, "--warehouse"]).arg(&w).output();
    let listed = String::from_utf8(listed.unwrap().stdout).unwrap();
    let rest_line = listed.lines().find(|l| l.starts_with("rest ")).expect("rest is listed");
    assert_eq!(rest_line.split_whitespace().collect::<Vec<_>>(), ["rest", "email", "100", &control.len().to_string()]);
    assert!(summary.contains(&format!("rest 100 of cap 100 (email) + {} control", control.len())), "{summary}");

    // a re-run draws the same groups; another seed draws others; a share of 0 holds no one out
    let again = dir.path().join("wh-again");
    run_ok(&job, AS_OF, &again);
    assert_eq!(lists(&again), got, "a re-run drew other groups");
    let reseeded = dir.path().join("reseeded");
    std::fs::create_dir_all(&reseeded).unwrap();
    let other_seed = job_with(&reseeded, &landing, "[control]\nseed = 2\n");
    let drawn = lists(&other_seed);
    let control_of = |l: &BTreeMap<(String, String), Vec<(String, i64, f64)>>| {
        ids(l.get(&("prepaid".to_string(), "control".to_string())).map_or(&[][..], |v| v))
    };
    assert_ne!(control_of(&drawn), control_of(&got), "seed 2 drew the same control group as seed 1");
    let none = dir.path().join("none");
    std::fs::create_dir_all(&none).unwrap();
    let drawn = lists(&job_with(&none, &landing, "[control]\nshare = 0\n"));
    assert!(!drawn.contains_key(&("rest".to_string(), "control".to_string())), "share 0 held someone out of rest");
    assert!(drawn.contains_key(&("prepaid".to_string(), "control".to_string())), "prepaid sets its own share");
}

/// Runs [`job`] with `control` in `dir`; returns the warehouse.
fn job_with(dir: &Path, landing: &Path, control: &str) -> PathBuf {
    let w = dir.join("wh");
    run_ok(&job(dir, landing, control), AS_OF, &w);
    w
}

/// (campaign, subscriber, group, rank) of one snapshot in `table`, sorted.
fn listed(warehouse: &Path, table: &str, as_of: &str) -> Vec<Vec<String>> {
    let (_, rows) = parse_csv(&query_csv(
        warehouse,
        &format!(
            "SELECT campaign, subscriber_id, \"group\", rank FROM {table} \
             WHERE snapshot_date = DATE '{as_of}' ORDER BY campaign, subscriber_id"
        ),
    ));
    rows
}

fn of_campaign(rows: &[Vec<String>], campaign: &str) -> BTreeSet<String> {
    rows.iter().filter(|r| r[0] == campaign).map(|r| r[1].clone()).collect()
}

#[test]
fn a_cool_down_keeps_a_listed_subscriber_off_the_campaign_until_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let landing = landing(dir.path());
    // two campaigns over disjoint lines: a week's cool-down, and one of a day
    let text = format!(
        "name = \"t\"\ninput_root = \"{}\"\nwarehouse = \"warehouse\"\n\
         [control]\nshare = 0.2\n\n\
         [[campaigns]]\nname = \"weekly\"\nchannel = \"sms\"\nrule = \"is_active AND plan_type = 'prepaid'\"\n\
         rank_by = \"tenure_days\"\nreason = \"'prepaid'\"\ncap = 40\ncooldown_days = 7\n\n\
         [[campaigns]]\nname = \"daily\"\nchannel = \"sms\"\nrule = \"is_active AND plan_type = 'postpaid'\"\n\
         rank_by = \"tenure_days\"\nreason = \"'postpaid'\"\ncap = 40\ncooldown_days = 1\n",
        landing.display()
    );
    let job = dir.path().join("job.toml");
    std::fs::write(&job, text).unwrap();
    let day_before = "2026-11-21";
    let w = dir.path().join("wh");
    run_ok(&job, day_before, &w);
    run_ok(&job, AS_OF, &w);

    // the history holds each night's lists as the campaigns table does, with when each may return
    for night in [day_before, AS_OF] {
        assert_eq!(listed(&w, "contacts_history", night), listed(&w, "campaigns", night), "{night}");
    }
    let (_, until) = parse_csv(&query_csv(
        &w,
        "SELECT campaign, min(cooldown_until) AS a, max(cooldown_until) AS b FROM contacts_history \
         WHERE snapshot_date = DATE '2026-11-21' GROUP BY campaign ORDER BY campaign",
    ));
    assert_eq!(until, [["daily", "2026-11-22", "2026-11-22"], ["weekly", "2026-11-28", "2026-11-28"]]);

    // a week's cool-down: nobody listed the night before (contact or control) is listed again;
    // a day's has ended by the next night, so the same best-ranked lines return
    let (before, now) = (listed(&w, "campaigns", day_before), listed(&w, "campaigns", AS_OF));
    let weekly = (of_campaign(&before, "weekly"), of_campaign(&now, "weekly"));
    assert!(weekly.0.len() >= 40 && weekly.1.len() >= 40, "{weekly:?}");
    assert!(
        weekly.0.is_disjoint(&weekly.1),
        "listed again within the cool-down: {:?}",
        weekly.0.intersection(&weekly.1)
    );
    let daily = (of_campaign(&before, "daily"), of_campaign(&now, "daily"));
    assert!(daily.0.intersection(&daily.1).count() >= 30, "the day's cool-down did not end: {daily:?}");

    // a re-run of the night gives its lists again: the history of the night itself does not count
    run_ok(&job, AS_OF, &w);
    assert_eq!(listed(&w, "campaigns", AS_OF), now);
}

#[test]
fn campaign_effect_counts_each_groups_churn_per_wave_and_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let landing = landing(dir.path());
    // half held out; a month earlier some lines were not yet active (rejected as activated after T)
    let text = format!(
        "name = \"t\"\ninput_root = \"{}\"\nwarehouse = \"warehouse\"\n[rejects]\nmax_rate = 0.2\n\
         [control]\nshare = 0.5\n\n\
         [[campaigns]]\nname = \"all\"\nchannel = \"sms\"\nrule = \"is_active\"\nrank_by = \"tenure_days\"\n\
         reason = \"'in service'\"\n",
        landing.display()
    );
    let job = dir.path().join("job.toml");
    std::fs::write(&job, text).unwrap();
    // a wave two months before T: the 30- and 60-day windows have ended, and October is billed
    let (wave, w) = ("2026-09-15", dir.path().join("wh"));
    run_ok(&job, wave, &w);
    let effect = "SELECT wave_date, horizon_days, observed_until, complete, contact_lines, control_lines, \
                  contact_churned, control_churned, uplift, uplift_ci_low, uplift_ci_high FROM campaign_effect";
    assert_eq!(parse_csv(&query_csv(&w, effect)).1.len(), 0, "a first night has no wave to measure");
    let printed = |as_of: &str| {
        let out = cvm().args(["campaign", "effect"]).arg(&job).args(["--as-of", as_of, "--warehouse"]).arg(&w).output();
        let out = out.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(printed(wave).starts_with(&format!("no wave measured at {wave}")), "{}", printed(wave));
    let (_, listed) = parse_csv(&query_csv(
        &w,
        &format!("SELECT subscriber_id, \"group\" FROM campaigns WHERE snapshot_date = DATE '{wave}' ORDER BY rank"),
    ));
    let answered = write_responses(&landing, &listed);
    run_ok(&job, AS_OF, &w);
    // the run's report shows the wave
    let reports = w.join(format!("_manifests/t/snapshot_date={AS_OF}"));
    let report = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".report.html"))
        .expect("the run writes its report");
    let html = std::fs::read_to_string(report).unwrap();
    let section = &html[html.find("<h2>Campaign effect</h2>").expect("a campaign effect section")..];
    assert!(section.contains(&format!("<td>{wave}</td>")), "the wave is not in the report's section");

    // the reference: the wave's groups from campaigns, the outcomes from the landing's subscribers
    let extract = std::fs::read_dir(landing.join(format!("subscribers/dt={AS_OF}"))).unwrap();
    let mut ended: BTreeMap<String, (String, String)> = BTreeMap::new();
    for file in extract {
        let (header, rows) = parse_csv(&std::fs::read_to_string(file.unwrap().path()).unwrap());
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        for r in rows {
            ended.insert(
                r[at("subscriber_id")].clone(),
                (r[at("deactivation_date")].clone(), r[at("deactivation_reason")].clone()),
            );
        }
    }
    let (_, rows) = parse_csv(&query_csv(&w, &format!("{effect} ORDER BY horizon_days")));
    assert_eq!(rows.len(), 3, "one row per horizon: {rows:?}");
    for (row, horizon) in rows.iter().zip([30i64, 60, 90]) {
        let end = chrono::NaiveDate::parse_from_str(wave, "%Y-%m-%d").unwrap() + chrono::Duration::days(horizon);
        let until = end.min(chrono::NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap()).to_string();
        let complete = end <= chrono::NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap();
        assert_eq!(row[..4], [wave.to_string(), horizon.to_string(), until.clone(), complete.to_string()]);
        let mut n = BTreeMap::<(&str, bool), i64>::new();
        for r in &listed {
            let (date, reason) = &ended[&r[0]];
            let churned = !date.is_empty() && date.as_str() > wave && *date <= until && reason != "involuntary";
            *n.entry((r[1].as_str(), false)).or_default() += 1;
            *n.entry((r[1].as_str(), true)).or_default() += i64::from(churned);
        }
        let count = |group, churned| n.get(&(group, churned)).copied().unwrap_or(0);
        let want = [count("contact", false), count("control", false), count("contact", true), count("control", true)];
        let got: Vec<i64> = row[4..8].iter().map(|v| v.parse().unwrap()).collect();
        assert_eq!(got, want, "horizon {horizon}: lines and churned, contact then control");
        // `cvm campaign effect` prints the row: wave, horizon, window, the two groups' sizes
        let window = if complete { "complete".to_string() } else { format!("open to {until}") };
        let cells = [
            "all".to_string(),
            wave.to_string(),
            horizon.to_string(),
            window,
            want[0].to_string(),
            want[1].to_string(),
        ];
        let printed = printed(AS_OF);
        assert!(
            printed.lines().any(|l| l.split('|').map(str::trim).skip(1).take(6).eq(cells.iter().map(String::as_str))),
            "{cells:?} not in:\n{printed}"
        );
        assert!(want[2] + want[3] > 0, "no churn in the wave: the test would prove nothing");
        let (p1, p0) = (want[2] as f64 / want[0] as f64, want[3] as f64 / want[1] as f64);
        let half = 1.96 * (p1 * (1.0 - p1) / want[0] as f64 + p0 * (1.0 - p0) / want[1] as f64).sqrt();
        let figures: Vec<f64> = row[8..11].iter().map(|v| v.parse().unwrap()).collect();
        for (got, want) in figures.iter().zip([p0 - p1, p0 - p1 - half, p0 - p1 + half]) {
            assert!((got - want).abs() < 1e-12, "horizon {horizon}: {figures:?}");
        }
    }
    arpu_change_is_measured_over_the_billed_months_after_the_wave(&w, &landing, wave, &listed);
    answers_count_by_window_and_bad_responses_are_rejected(&w, &answered);
}

/// The responses source for the wave's lists (landing/responses), with
/// four bad rows; returns what each horizon must count.
///
/// Contacts by rank: every fourth accepts (Sep 16), the next declines (Sep
/// 17), the next is not reached on Sep 16 and reached on Oct 20 (after the
/// 30-day window), the next answered only before the wave (Sep 10: no wave
/// had listed it). Two control lines were reached anyway.
fn write_responses(landing: &Path, listed: &[Vec<String>]) -> Answered {
    let mut rows = vec!["subscriber_id,campaign,contacted_at,outcome,channel".to_string()];
    let mut answered = Answered::default();
    let contacts: Vec<&String> = listed.iter().filter(|r| r[1] == "contact").map(|r| &r[0]).collect();
    for (i, id) in contacts.iter().enumerate() {
        let mut add = |at: &str, outcome: &str| rows.push(format!("{id},all,{at},{outcome},SMS"));
        match i % 4 {
            0 => add("2026-09-16T10:00:00+02:00", "accepted"),
            1 => add("2026-09-17T18:30:00+02:00", "Declined"),
            2 => {
                add("2026-09-16T11:00:00+02:00", "no_answer");
                add("2026-10-20T12:00:00+02:00", "reached");
            }
            _ => add("2026-09-10T09:00:00+02:00", "accepted"),
        }
        answered.contacts += 1;
        answered.accepted += i64::from(i % 4 == 0);
        answered.reached_by_30 += i64::from(i % 4 < 2);
        answered.reached_later += i64::from(i % 4 == 2);
    }
    for id in listed.iter().filter(|r| r[1] == "control").take(2).map(|r| &r[0]) {
        rows.push(format!("{id},all,2026-09-16T10:00:00+02:00,reached,call"));
    }
    let first = contacts[0];
    rows.push(format!("{first},,2026-09-16T10:00:00+02:00,accepted,sms")); // campaign_missing
    rows.push(format!("{first},all,2026-09-16T10:00:00+02:00,maybe,sms")); // outcome_invalid
    rows.push(format!("{first},all,yesterday,accepted,sms")); // contacted_at_invalid
    rows.push("S99999999,all,2026-09-16T10:00:00+02:00,accepted,sms".to_string()); // unknown_subscriber
    answered.reject_rows = [
        (rows.len() as i64 - 3, "campaign_missing"),
        (rows.len() as i64 - 2, "outcome_invalid"),
        (rows.len() as i64 - 1, "contacted_at_invalid"),
        (rows.len() as i64, "unknown_subscriber"),
    ];
    let dir = landing.join(format!("responses/dt={AS_OF}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("part-00000.csv"), rows.join("\n") + "\n").unwrap();
    answered
}

/// What the responses written by [`write_responses`] must count.
#[derive(Default)]
struct Answered {
    contacts: i64,
    accepted: i64,
    /// reached within 30 days of the wave
    reached_by_30: i64,
    /// reached between 30 and 60 days after it
    reached_later: i64,
    /// (line in the file, rule)
    reject_rows: [(i64, &'static str); 4],
}

fn answers_count_by_window_and_bad_responses_are_rejected(w: &Path, answered: &Answered) {
    let (_, rows) = parse_csv(&query_csv(
        w,
        "SELECT horizon_days, contact_reached, contact_accepted, response_rate, acceptance_rate, control_contacted \
         FROM campaign_effect ORDER BY horizon_days",
    ));
    for row in rows {
        let reached = answered.reached_by_30 + if row[0] == "30" { 0 } else { answered.reached_later };
        let counts: Vec<i64> = [&row[1], &row[2], &row[5]].iter().map(|v| v.parse().unwrap()).collect();
        assert_eq!(counts, [reached, answered.accepted, 2], "horizon {}: reached, accepted, control contacted", row[0]);
        let rates: Vec<f64> = row[3..5].iter().map(|v| v.parse().unwrap()).collect();
        let want = [reached as f64 / answered.contacts as f64, answered.accepted as f64 / answered.contacts as f64];
        assert!(rates.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-12), "horizon {}: {rates:?}", row[0]);
    }
    let (_, rejects) = parse_csv(&query_csv(
        w,
        &format!(
            "SELECT row_number, rule FROM rejects WHERE source = 'responses' AND snapshot_date = DATE '{AS_OF}' \
             ORDER BY row_number"
        ),
    ));
    let want: Vec<Vec<String>> =
        answered.reject_rows.iter().map(|(row, rule)| vec![row.to_string(), rule.to_string()]).collect();
    assert_eq!(rejects, want);
}

/// Per listed line: its October bill (the one bill month after the wave
/// billed by T) less the mean of June, July and August; averaged per group.
fn arpu_change_is_measured_over_the_billed_months_after_the_wave(
    w: &Path,
    landing: &Path,
    wave: &str,
    listed: &[Vec<String>],
) {
    let mut bills: BTreeMap<(String, String), f64> = BTreeMap::new();
    for file in std::fs::read_dir(landing.join(format!("billing/dt={AS_OF}"))).unwrap() {
        let (header, rows) = parse_csv(&std::fs::read_to_string(file.unwrap().path()).unwrap());
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        for r in rows {
            let amount: f64 = r[at("net_amount")].parse().unwrap();
            *bills.entry((r[at("subscriber_id")].clone(), r[at("bill_month")].clone())).or_default() += amount;
        }
    }
    let bill = |id: &str, month: &str| bills.get(&(id.to_string(), month.to_string())).copied().unwrap_or(0.0);
    let mean_change = |group: &str| {
        let changes: Vec<f64> = listed
            .iter()
            .filter(|r| r[1] == group)
            .map(|r| {
                bill(&r[0], "2026-10")
                    - (bill(&r[0], "2026-06") + bill(&r[0], "2026-07") + bill(&r[0], "2026-08")) / 3.0
            })
            .collect();
        changes.iter().sum::<f64>() / changes.len() as f64
    };
    let (_, rows) = parse_csv(&query_csv(
        w,
        &format!(
            "SELECT horizon_days, arpu_months, contact_arpu_change, control_arpu_change, arpu_uplift, \
             arpu_uplift_ci_low, arpu_uplift_ci_high FROM campaign_effect WHERE wave_date = DATE '{wave}' \
             ORDER BY horizon_days"
        ),
    ));
    // 30 days: September ended, but began before the wave; 60 and 90: October, billed by T (November is not)
    assert_eq!(rows[0][1..], ["0", "", "", "", "", ""].map(String::from), "no bill month has ended in 30 days");
    let (contact, control) = (mean_change("contact"), mean_change("control"));
    for row in &rows[1..] {
        assert_eq!(row[1], "1", "horizon {}: October only", row[0]);
        let got: Vec<f64> = row[2..5].iter().map(|v| v.parse().unwrap()).collect();
        for (g, want) in got.iter().zip([contact, control, contact - control]) {
            assert!((g - want).abs() < 1e-4, "horizon {}: {got:?} against {contact}, {control}", row[0]);
        }
        let (low, high): (f64, f64) = (row[5].parse().unwrap(), row[6].parse().unwrap());
        assert!(low < got[2] && got[2] < high, "horizon {}: the interval [{low}, {high}] holds the uplift", row[0]);
    }
}
