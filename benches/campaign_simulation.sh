#!/usr/bin/env bash
# A campaign whose effect is known, at any size: how close campaign_effect
# comes to the uplift cvm generate planted, and how the uplift model's
# ranking compares with ranking by churn risk on its back-test.
#
#   benches/campaign_simulation.sh [SUBSCRIBERS] [TREATMENT_SCALE]    (default 100000 1)
#
# Night A = 2026-08-01 lists retention_priority (half held out, ranked by
# uplift once it can be); cvm generate observes the same world 60 days on,
# the contacts treated (--campaigns-from); night T = 2026-09-30 measures
# wave A and fits the uplift model on it. Prints campaign_effect, the planted
# uplift from _truth/treatment_truth.csv, the uplift model's model_metrics,
# and night T's list judged against the truth: the true uplift (true 30-day
# hazard from _truth/churn_truth.csv x the segment's planted share) gathered
# going down the list, over the random line, ranked by the model and by
# churn risk. Needs a release build (cargo build --release) and python3.
# SEED (default 5) picks the world.
set -euo pipefail
N=${1:-100000}
SCALE=${2:-1}
CVM=${CVM:-$(dirname "$0")/../target/release/cvm}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/job.toml" <<JOB
name = "simulation"
input_root = "$DIR/a"
warehouse = "$DIR/wh"

# wider cut-offs than the defaults, so that the list is large enough to measure
[churn]
bands = { mode = "percentile", medium = 0.30, high = 0.15 }

[tiers]
percentile = { diamond = 0.01, gold = 0.05, silver = 0.90, vip = 0.95 }

[control]
share = 0.5

[[campaigns]]
name = "retention_priority"
sql = "retention_priority"
channel = "call"
ranking = "uplift"
uplift_horizon_days = 60
JOB
generate() { "$CVM" generate --subscribers "$N" --days 35 --seed "${SEED:-5}" --world-date 2026-08-01 "$@" > /dev/null; }
generate --as-of 2026-08-01 --out "$DIR/a"
"$CVM" run "$DIR/job.toml" --as-of 2026-08-01 > /dev/null 2>&1
generate --as-of 2026-09-30 --treatment-scale "$SCALE" --campaigns-from "$DIR/wh" --out "$DIR/t"
"$CVM" run "$DIR/job.toml" --as-of 2026-09-30 --input-root "$DIR/t" > /dev/null 2>&1
"$CVM" query --warehouse "$DIR/wh" "SELECT horizon_days AS days, contact_lines AS contacts, control_lines AS control, \
    round(contact_churn_rate, 4) AS contact_churn, round(control_churn_rate, 4) AS control_churn, \
    round(uplift, 4) AS uplift, round(uplift_ci_low, 4) AS ci_low, round(uplift_ci_high, 4) AS ci_high, \
    round(response_rate, 3) AS reached, round(acceptance_rate, 3) AS accepted FROM campaign_effect ORDER BY 1"
python3 - "$DIR/t/_truth/treatment_truth.csv" "$SCALE" <<'PY'
import csv, datetime as dt, sys
effect = {"consumer": 0.4, "youth": 0.1, "business": 0.7}  # cvm::generate::EFFECT
rows, scale, wave = list(csv.DictReader(open(sys.argv[1]))), float(sys.argv[2]), dt.date(2026, 8, 1)
for days in (30, 60):
    end = wave + dt.timedelta(days=days)
    ends = lambda r: r["would_end_90d"] == "1" and wave < dt.date.fromisoformat(r["end_date"]) <= end
    contacts = [r for r in rows if r["group"] == "contact"]
    control = [r for r in rows if r["group"] == "control"]
    p0 = sum(map(ends, control)) / len(control)
    p1 = sum(1 - min(1.0, effect[r["segment"]] * scale) for r in contacts if ends(r)) / len(contacts)
    print(f"{days} days: planted uplift {p0 - p1:.4f}")
PY
"$CVM" query --warehouse "$DIR/wh" "SELECT metric, round(value, 5) AS value, rows FROM model_metrics \
    WHERE model = 'uplift' ORDER BY metric"
"$CVM" query --warehouse "$DIR/wh" --format csv "SELECT c.subscriber_id, c.score, v.churn_risk, v.segment \
    FROM campaigns c JOIN customer_value v ON v.subscriber_id = c.subscriber_id \
    AND v.snapshot_date = c.snapshot_date WHERE c.snapshot_date = DATE '2026-09-30'" > "$DIR/list.csv"
python3 - "$DIR/list.csv" "$DIR/t/_truth/churn_truth.csv" "$SCALE" <<'PY'
import csv, sys
effect = {"consumer": 0.4, "youth": 0.1, "business": 0.7}  # cvm::generate::EFFECT
hazard = {r["subscriber_id"]: float(r["hazard_30d"]) for r in csv.DictReader(open(sys.argv[2]))}
scale = float(sys.argv[3])
rows = [(float(r["score"]), float(r["churn_risk"]), hazard[r["subscriber_id"]] * min(1.0, effect[r["segment"]] * scale))
        for r in csv.DictReader(open(sys.argv[1]))]
def gain(key):
    ranked, total = sorted(rows, key=key, reverse=True), sum(r[2] for r in rows)
    so_far = area = 0.0
    for k, r in enumerate(ranked):
        so_far += r[2]
        area += so_far / total - (k + 1) / len(ranked)
    return area / len(ranked)
print(f"night T's list ({len(rows)} lines), true uplift gathered over the random line: "
      f"by predicted uplift {gain(lambda r: r[0]):.4f}, by churn risk {gain(lambda r: r[1]):.4f}, "
      f"by the truth {gain(lambda r: r[2]):.4f}")
PY
