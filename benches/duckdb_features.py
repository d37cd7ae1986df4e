#!/usr/bin/env python3
"""The feature step in DuckDB: the same intermediate SQL on the same files, timed against cvm.

    python3 benches/duckdb_features.py --scratch DIR --warehouse DIR --as-of T

cvm's feature step evaluates sql/intermediate/int_subscriber_features.sql (and the files it
reads: tenure, distinct billing lines, revenue windows, usage windows, complaints) over the staging
tables and usage_daily, and writes the result as Parquet. This script runs exactly those SQL
files in DuckDB over the same Parquet files:

- the staging tables a cvm run kept in --scratch (run it with CVM_KEEP_SCRATCH=DIR;
  `cvm bench` does),
- usage_daily as published in --warehouse (the files its latest commit lists),

and writes the same result as Parquet, three times; it prints DuckDB's best time, cvm's
time for the step (from the run manifest in the warehouse) and the ratio cvm / DuckDB
(below 1: cvm is faster).

The SQL is cvm's own, with four mechanical translations: `$param` placeholders become
literals (DuckDB views cannot hold parameters), `arrow_cast(x, 'Utf8')` becomes
`CAST(x AS VARCHAR)`, a date cast to its day number (`CAST(d AS INT)`) becomes
`(d - DATE '1970-01-01')`, and DuckDB's threads are set to the machine's cores, as DataFusion's are.

DuckDB comes from PyPI: without it, the script creates a virtual environment in
~/.cache/cvm/duckdb-venv, installs duckdb there and runs itself again with it.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time
from datetime import date, timedelta

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DUCKDB_VERSION = "1.4.2"
# the feature step's SQL files, in dependency order
FEATURE_FILES = [
    "int_tenure_computed",
    "int_billing_lines",
    "int_revenue_windows",
    "int_usage_windows",
    "int_complaints_counted",
    "int_subscriber_features",
]
STAGING = ["stg_subscribers", "stg_billing", "stg_tickets"]
# the date expressions the feature SQL casts to day numbers
DATE_TO_DAY_NUMBER = ["tenure_end", "activation_date", "CAST($as_of AS DATE)", "MAX(event_date)"]


def ensure_duckdb():
    try:
        import duckdb  # noqa: F401
        return
    except ImportError:
        pass
    venv = os.path.expanduser("~/.cache/cvm/duckdb-venv")
    python = os.path.join(venv, "bin", "python3")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", f"duckdb=={DUCKDB_VERSION}"], check=True)
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        sys.exit("duckdb is not importable even in its own virtual environment")
    os.execv(python, [python] + sys.argv)


def window_end_month(as_of):
    first = as_of.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def sql_for_duckdb(name, params):
    text = open(os.path.join(REPO, "sql", "intermediate", name + ".sql"), encoding="utf-8").read()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    # DataFusion casts a date to its day number; DuckDB subtracts dates instead
    for date_expr in DATE_TO_DAY_NUMBER:
        body = body.replace(f"CAST({date_expr} AS INT)", f"({date_expr} - DATE '1970-01-01')")
    for key, value in params.items():
        body = re.sub(r"\$" + key + r"\b", value, body)
    if "$" in re.sub(r"'[^']*'", "", body):
        sys.exit(f"{name}.sql has a parameter this script does not bind: {re.findall(r'[$][a-z_]+', body)}")
    body = re.sub(r"arrow_cast\(([^,()]+), 'Utf8'\)", r"CAST(\1 AS VARCHAR)", body)
    return body


def latest_commit(warehouse):
    commits = sorted(glob.glob(os.path.join(warehouse, "_commits", "*.json")))
    if not commits:
        sys.exit(f"{warehouse}: nothing published (no _commits/)")
    return json.load(open(commits[-1]))


def cvm_feature_seconds(warehouse, as_of):
    manifests = [
        m for m in glob.glob(os.path.join(warehouse, "_manifests", "*", f"snapshot_date={as_of}", "*.json"))
        if not re.search(r"\.(models|report)\.json$", m)
    ]
    runs = [json.load(open(m)) for m in manifests]
    runs = [r for r in runs if r.get("status") == "succeeded"]
    if not runs:
        return None
    run = max(runs, key=lambda r: r["started_at"])
    return next((s["seconds"] for s in run["steps"] if s["name"] == "features"), None)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scratch", required=True, help="the staging tables a run kept (CVM_KEEP_SCRATCH)")
    p.add_argument("--warehouse", required=True, help="the run's warehouse (a local folder)")
    p.add_argument("--as-of", required=True, help="the run's snapshot date T")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    ensure_duckdb()
    import duckdb

    as_of = date.fromisoformat(args.as_of)
    params = {
        "as_of": f"DATE '{as_of}'",
        "window_end_month": f"DATE '{window_end_month(as_of)}'",
    }
    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    for table in STAGING:
        path = os.path.join(args.scratch, table + ".parquet")
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run cvm with CVM_KEEP_SCRATCH={args.scratch}")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")
    files = [
        os.path.join(args.warehouse, f["path"])
        for f in latest_commit(args.warehouse)["files"]
        if f["table"] == "usage_daily"
    ]
    con.execute("SET VARIABLE files = ?", [files])
    con.execute(
        "CREATE VIEW usage_daily AS SELECT * FROM read_parquet(getvariable('files'), "
        "hive_partitioning = true, hive_types = {'event_date': DATE})"
    )
    for name in FEATURE_FILES:
        con.execute(f"CREATE VIEW {name} AS {sql_for_duckdb(name, params)}")
    out = os.path.join(args.scratch, "duckdb_features.parquet")
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        con.execute(f"COPY (SELECT * FROM int_subscriber_features) TO '{out}' (FORMAT parquet)")
        times.append(time.perf_counter() - started)
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    best = min(times)
    cvm = cvm_feature_seconds(args.warehouse, args.as_of)
    print(f"duckdb {duckdb.__version__}: int_subscriber_features, {rows} rows, best of {args.repeat}: {best:.3f} s")
    if cvm is None:
        print("cvm: no succeeded run manifest with a features step for this snapshot")
        return
    print(f"cvm: {cvm:.3f} s")
    print(f"ratio cvm/duckdb (features step): {cvm / best:.2f}")


if __name__ == "__main__":
    main()
