"""Reads a cvm warehouse the way analysts do, with DuckDB and pyarrow, and
prints what it found as JSON for tests/it/analysts.rs to check.

    python read_outputs.py WAREHOUSE SNAPSHOT_DATE
"""
import glob
import json
import sys

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

warehouse, snapshot = sys.argv[1], sys.argv[2]
con = duckdb.connect()

# the README's recipe: the files the latest commit lists, hive partitions as typed columns
con.execute(f"SET VARIABLE cvm_commit = (SELECT max(file) FROM glob('{warehouse}/_commits/*.json'))")
con.execute(
    f"""CREATE MACRO published(t) AS TABLE
        SELECT '{warehouse}/' || f.path AS file
        FROM (SELECT unnest(files) AS f FROM read_json(getvariable('cvm_commit')))
        WHERE f."table" = t"""
)


def table(name):
    con.execute(f"SET VARIABLE {name}_files = (SELECT list(file) FROM published('{name}'))")
    return f"read_parquet(getvariable('{name}_files'), hive_partitioning = true)"


def one(sql):
    return con.execute(sql).fetchone()


out = {}
out["customer_value_rows"], out["revenue_12m_sum"] = one(
    f"SELECT count(*), CAST(sum(revenue_12m) AS VARCHAR) FROM {table('customer_value')} "
    f"WHERE snapshot_date = DATE '{snapshot}'"
)
out["types"] = dict(
    con.execute(
        f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {table('customer_value')}) "
        "WHERE column_name IN ('snapshot_date', 'revenue_12m', 'churn_risk', 'is_active', 'subscriber_id')"
    ).fetchall()
)
out["top_revenue_share_12m"] = one(
    f"SELECT top_revenue_share_12m FROM {table('kpi')} "
    f"WHERE snapshot_date = DATE '{snapshot}' AND dimension = 'total' AND subscribers_12m IS NOT NULL"
)[0]
out["campaign_sizes"] = dict(
    con.execute(
        f"SELECT campaign, count(*) FROM {table('campaigns')} WHERE snapshot_date = DATE '{snapshot}' GROUP BY 1"
    ).fetchall()
)
out["usage_date_type"] = one(f"SELECT typeof(event_date) FROM {table('usage_daily')} LIMIT 1")[0]

# pyarrow: the latest commit's files; declare the partition types once and get a typed date
latest = max(glob.glob(f"{warehouse}/_commits/*.json"))
files = [f"{warehouse}/{f['path']}" for f in json.load(open(latest))["files"] if f["table"] == "customer_value"]
partitioning = ds.partitioning(pa.schema([("snapshot_date", pa.date32())]), flavor="hive")
dataset = ds.dataset(
    files, format="parquet", partitioning=partitioning, partition_base_dir=f"{warehouse}/customer_value"
)
arrow_table = dataset.to_table()
out["pyarrow_rows"] = arrow_table.num_rows
out["pyarrow_types"] = {
    name: str(arrow_table.schema.field(name).type) for name in ["snapshot_date", "revenue_12m", "clv", "tenure_days"]
}
print(json.dumps(out, default=str))
