#!/usr/bin/env bash
# Two builds of cvm on the same first night, back to back: did a change make the run slower, or
# change what it publishes?
#
#   benches/compare_binaries.sh OLD_CVM NEW_CVM JOB AS_OF [ROUNDS]
#
# Runs OLD and NEW alternately ROUNDS times (default 3), each on a fresh warehouse (the job's
# `warehouse`, removed before every run), and prints wall seconds and peak RSS per run; take the
# best of each. Then compares every published table of the last two warehouses row for row
# (DuckDB EXCEPT ALL both ways; DuckDB from PyPI into ~/.cache/cvm/duckdb-venv).
set -euo pipefail
old=$1 new=$2 job=$3 as_of=$4 rounds=${5:-3}
warehouse=$(sed -n 's/^warehouse *= *"\(.*\)"/\1/p' "$job")
[ -n "$warehouse" ] || { echo "$job: no warehouse = \"...\" line" >&2; exit 2; }
keep=$(mktemp -d)
for round in $(seq 1 "$rounds"); do
  for which in old new; do
    bin=$old; [ "$which" = new ] && bin=$new
    rm -rf "$warehouse"
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$keep/rss" "$bin" run "$job" --as-of "$as_of" >/dev/null 2>"$keep/log-$which"
    end=$(date +%s.%N)
    printf '%s round %s: %.2f s, peak RSS %s KiB\n' "$which" "$round" "$(echo "$end - $start" | bc)" "$(cat "$keep/rss")"
    rm -rf "$keep/$which" && cp -a "$warehouse" "$keep/$which"
  done
done
venv=~/.cache/cvm/duckdb-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q duckdb==1.4.2; }
"$venv/bin/python" - "$keep/old" "$keep/new" <<'PY'
import sys, duckdb
old, new = sys.argv[1], sys.argv[2]
con = duckdb.connect()
tables = ["customer_value", "kpi", "campaigns", "contacts_history", "campaign_effect", "model_metrics",
          "rejects", "usage_daily", "_usage_by_file"]
differ = 0
for t in tables:
    a = f"read_parquet('{old}/{t}/**/*.parquet', hive_partitioning=true, union_by_name=true)"
    b = f"read_parquet('{new}/{t}/**/*.parquet', hive_partitioning=true, union_by_name=true)"
    rows = con.sql(f"select count(*) from {a}").fetchone()[0]
    only_old = con.sql(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[0]
    only_new = con.sql(f"select count(*) from (select * from {b} except all select * from {a})").fetchone()[0]
    differ += only_old + only_new
    print(f"{t}: {rows} rows, {only_old} only in old, {only_new} only in new")
sys.exit(1 if differ else 0)
PY
rm -rf "$keep"
