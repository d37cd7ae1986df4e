#!/usr/bin/env python3
"""The whole first night against the alternative a user would build: cvm run vs DuckDB, and
cvm's ingest vs a plain DataFusion read, on the same landing, back to back, best of 3.

    target/release/cvm generate --subscribers 100000 --days 7 --format parquet --out /tmp/wr/landing
    python3 benches/whole_run.py --cvm target/release/cvm --landing /tmp/wr/landing --format parquet

1. cvm: `cvm run` of the generated job's first night (a fresh warehouse each time), wall time
   and peak RSS of the process; its ingest step's seconds from the run manifest.
2. DuckDB: the deterministic customer_value columns (tenure, revenue and ARPU windows,
   historical value, recency, active days, minutes, data, sms, complaints) computed from the
   same extract files in one SQL script an analyst would write, typed with TRY_CAST, rows with
   an unknown subscriber dropped, the result written as Parquet.
3. A plain DataFusion read (datafusion-python) of the same files with no checks: every
   contract column of every source decoded (a COUNT of each, under a filter that keeps the
   Parquet reader from answering from its statistics), nothing written.

Prints each figure and the ratios cvm/DuckDB (whole run) and cvm ingest/plain read. duckdb and
datafusion come from PyPI into ~/.cache/cvm/duckdb-venv on first use.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

DUCKDB_VERSION = "1.4.2"
DATAFUSION_VERSION = "50.1.0"
VENV = os.path.expanduser("~/.cache/cvm/duckdb-venv")

COLUMNS = {
    "subscribers": ["subscriber_id", "activation_date", "deactivation_date", "deactivation_reason", "plan_type",
                    "plan_id", "segment", "region", "channel", "birth_year"],
    "billing": ["subscriber_id", "bill_month", "invoice_id", "charge_type", "net_amount", "currency"],
    "cdr": ["subscriber_id", "event_time", "event_type", "direction", "duration_s", "volume_bytes",
            "charged_amount", "roaming"],
    "recharges": ["subscriber_id", "recharge_time", "amount", "channel"],
    "tickets": ["subscriber_id", "opened_at", "category", "resolved_at"],
}


def ensure_packages():
    try:
        import duckdb  # noqa: F401
        import datafusion  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python3")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", f"duckdb=={DUCKDB_VERSION}",
                    f"datafusion=={DATAFUSION_VERSION}", "pyarrow"], check=True)
    os.execv(python, [python] + sys.argv)


def files(landing, source, fmt):
    pattern = "*.parquet" if fmt == "parquet" else "*.csv*"
    return f"{landing}/{source}/*/{pattern}"


def read(source, landing, fmt):
    """DuckDB's reader of a source, every column as text for CSV (as an extract arrives)."""
    if fmt == "parquet":
        return f"read_parquet('{files(landing, source, fmt)}', union_by_name = true)"
    return f"read_csv('{files(landing, source, fmt)}', all_varchar = true, header = true, union_by_name = true)"


def duckdb_sql(landing, fmt, as_of, out):
    t = f"DATE '{as_of}'"
    r = lambda s: read(s, landing, fmt)  # noqa: E731
    return f"""
CREATE TEMP TABLE subs AS
SELECT trim(subscriber_id) AS subscriber_id, TRY_CAST(activation_date AS DATE) AS activation_date,
       TRY_CAST(deactivation_date AS DATE) AS deactivation_date, lower(plan_type) AS plan_type, segment, region
FROM {r('subscribers')}
WHERE subscriber_id IS NOT NULL AND TRY_CAST(activation_date AS DATE) <= {t};

CREATE TEMP TABLE months AS
SELECT b.subscriber_id, date_trunc('month', TRY_CAST(b.bill_month || '-01' AS DATE)) AS month,
       SUM(TRY_CAST(b.net_amount AS DECIMAL(18, 4))) AS revenue
FROM {r('billing')} b SEMI JOIN subs s ON s.subscriber_id = b.subscriber_id
GROUP BY ALL;

CREATE TEMP TABLE usage AS
SELECT c.subscriber_id, CAST(TRY_CAST(c.event_time AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS DATE) AS day,
       COUNT(*) FILTER (WHERE c.event_type = 'voice') AS calls,
       SUM(TRY_CAST(c.duration_s AS BIGINT)) FILTER (WHERE c.event_type = 'voice') AS voice_s,
       SUM(TRY_CAST(c.volume_bytes AS BIGINT)) FILTER (WHERE c.event_type = 'data') AS data_b,
       COUNT(*) FILTER (WHERE c.event_type = 'sms') AS sms
FROM {r('cdr')} c SEMI JOIN subs s ON s.subscriber_id = c.subscriber_id
GROUP BY ALL;

CREATE TEMP TABLE complaints AS
SELECT t.subscriber_id, COUNT(*) AS n
FROM {r('tickets')} t SEMI JOIN subs s ON s.subscriber_id = t.subscriber_id
WHERE lower(t.category) = 'complaint'
  AND CAST(TRY_CAST(t.opened_at AS TIMESTAMPTZ) AS DATE) > {t} - INTERVAL 90 DAY
GROUP BY ALL;

COPY (
WITH last_month AS (SELECT date_trunc('month', {t} - INTERVAL 1 MONTH) AS l),
span AS (
    SELECT s.*, least({t}, coalesce(s.deactivation_date, {t})) AS tenure_end,
           s.deactivation_date IS NULL OR s.deactivation_date > {t} AS is_active
    FROM subs s
),
revenue AS (
    SELECT m.subscriber_id,
           SUM(revenue) FILTER (WHERE month = l) AS revenue_1m,
           SUM(revenue) FILTER (WHERE month > l - INTERVAL 3 MONTH AND month <= l) AS revenue_3m,
           SUM(revenue) FILTER (WHERE month > l - INTERVAL 12 MONTH AND month <= l) AS revenue_12m,
           SUM(revenue) FILTER (WHERE month <= l) AS historical_value
    FROM months m, last_month GROUP BY ALL
),
use AS (
    SELECT subscriber_id, {t} - MAX(day) AS recency_days,
           COUNT(*) FILTER (WHERE day > {t} - INTERVAL 30 DAY) AS active_days_30d,
           SUM(voice_s) FILTER (WHERE day > {t} - INTERVAL 30 DAY) / 60.0 AS mou_30d,
           SUM(voice_s) FILTER (WHERE day > {t} - INTERVAL 90 DAY) / 60.0 AS mou_90d,
           SUM(data_b) FILTER (WHERE day > {t} - INTERVAL 30 DAY) / 1048576.0 AS data_mb_30d,
           SUM(sms) FILTER (WHERE day > {t} - INTERVAL 30 DAY) AS sms_30d
    FROM usage WHERE day <= {t} GROUP BY ALL
)
SELECT s.subscriber_id, s.plan_type, s.segment, s.region, s.is_active,
       s.tenure_end - s.activation_date AS tenure_days,
       datediff('month', s.activation_date, s.tenure_end) AS tenure_months,
       coalesce(r.revenue_1m, 0) AS revenue_1m, coalesce(r.revenue_3m, 0) AS revenue_3m,
       coalesce(r.revenue_12m, 0) AS revenue_12m,
       r.revenue_3m / nullif(least(3, datediff('month', s.activation_date, s.tenure_end) + 1), 0) AS arpu_3m,
       r.revenue_12m / nullif(least(12, datediff('month', s.activation_date, s.tenure_end) + 1), 0) AS arpu_12m,
       coalesce(r.historical_value, 0) AS historical_value, u.recency_days,
       coalesce(u.active_days_30d, 0) AS active_days_30d, coalesce(u.mou_30d, 0) AS mou_30d,
       coalesce(u.mou_90d, 0) AS mou_90d, coalesce(u.data_mb_30d, 0) AS data_mb_30d,
       coalesce(u.sms_30d, 0) AS sms_30d, coalesce(c.n, 0) AS complaints_90d
FROM span s
LEFT JOIN revenue r USING (subscriber_id)
LEFT JOIN use u USING (subscriber_id)
LEFT JOIN complaints c USING (subscriber_id)
) TO '{out}' (FORMAT parquet);
"""


def best_of(n, run):
    results = [run() for _ in range(n)]
    return min(results, key=lambda r: r[0])


def run_cvm(cvm, job, landing, as_of):
    def once():
        warehouse = tempfile.mkdtemp(prefix="cvm-wr-")
        started = time.monotonic()
        proc = subprocess.run([cvm, "--quiet", "run", job, "--as-of", as_of, "--input-root", landing,
                               "--warehouse", warehouse], capture_output=True, text=True)
        seconds = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
        if proc.returncode != 0:
            sys.exit(f"cvm run failed ({proc.returncode}): {proc.stderr[-2000:]}")
        manifests = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(warehouse, "_manifests"))
                     for f in fs if f.endswith(".json") and not f.endswith(".models.json")]
        manifest = json.load(open(manifests[0]))
        steps = {s["name"]: s for s in manifest["steps"]}
        sources = manifest.get("sources", {})
        shutil.rmtree(warehouse)
        return seconds, steps["ingest"]["seconds"], peak, sources
    return best_of(3, once)


def run_duckdb(landing, fmt, as_of):
    import duckdb
    def once():
        out = tempfile.mktemp(suffix=".parquet")
        con = duckdb.connect()
        con.execute(f"SET threads = {os.cpu_count()}")
        started = time.monotonic()
        con.execute(duckdb_sql(landing, fmt, as_of, out))
        seconds = time.monotonic() - started
        rows = con.execute(f"SELECT COUNT(*) FROM '{out}'").fetchone()[0]
        os.remove(out)
        return seconds, rows
    return best_of(3, once)


def run_datafusion(landing, fmt):
    import datafusion
    def once():
        ctx = datafusion.SessionContext()
        started = time.monotonic()
        counts = {}
        for source, columns in COLUMNS.items():
            path = os.path.join(landing, source)
            if not os.path.isdir(path):
                continue
            if fmt == "parquet":
                ctx.register_parquet(source, path, file_extension=".parquet")
            else:
                ext = ".csv.gz" if any(f.endswith(".gz") for _, _, fs in os.walk(path) for f in fs) else ".csv"
                ctx.register_csv(source, path, file_extension=ext,
                                 file_compression_type="gzip" if ext.endswith(".gz") else None)
            names = {f.name for f in ctx.table(source).schema()}
            present = [c for c in columns if c in names]
            # the filter keeps a Parquet reader from answering the counts from its statistics:
            # every value is decoded
            sql = ("SELECT COUNT(*), " + ", ".join(f"COUNT({c})" for c in present)
                   + f" FROM {source} WHERE random() >= 0")
            counts[source] = ctx.sql(sql).collect()[0].column(0)[0].as_py()
        return time.monotonic() - started, counts
    return best_of(3, once)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cvm", required=True)
    p.add_argument("--landing", required=True)
    p.add_argument("--format", choices=["csv", "parquet"], required=True)
    p.add_argument("--as-of", default="2026-11-22")
    p.add_argument("--job", help="the job file (default: a job of the landing's format, written here)")
    a = p.parse_args()
    ensure_packages()
    landing = os.path.abspath(a.landing)
    job = a.job
    if job is None:
        job = os.path.join(tempfile.mkdtemp(prefix="cvm-wr-job-"), "job.toml")
        sources = "".join(f"\n[sources.{s}]\nformat = \"{a.format}\"\n"
                          for s in ["subscribers", "billing", "cdr", "recharges", "tickets", "optouts",
                                    "strategic_fit"])
        open(job, "w").write(f'name = "bench"\ninput_root = "{landing}"\nwarehouse = "/tmp/unused"\n{sources}')

    cvm_s, ingest_s, peak, sources = run_cvm(a.cvm, job, landing, a.as_of)
    duck_s, rows = run_duckdb(landing, a.format, a.as_of)
    df_s, counts = run_datafusion(landing, a.format)
    print(f"landing: {landing} ({a.format}); rows read by source: "
          + ", ".join(f"{k} {v['rows_read']:,}" for k, v in sorted(sources.items()) if v.get("rows_read")))
    for name, s in sorted(sources.items()):
        if s.get("rows_read") and s.get("seconds"):
            print(f"  cvm ingest {name}: {s['rows_read']:,} rows in {s['seconds']:.2f} s, "
                  f"{s['rows_read'] / s['seconds']:,.0f} rows/s")
    print(f"cvm run (whole first night), best of 3: {cvm_s:.2f} s, peak RSS {peak:,} MiB; its ingest step {ingest_s:.2f} s")
    print(f"DuckDB, deterministic customer_value columns ({rows:,} rows), best of 3: {duck_s:.2f} s")
    print(f"plain DataFusion read of every contract column, best of 3: {df_s:.2f} s")
    print(f"ratio whole run cvm / DuckDB: {cvm_s / duck_s:.2f}")
    print(f"ratio cvm ingest / plain DataFusion read: {ingest_s / df_s:.2f}")


if __name__ == "__main__":
    main()
