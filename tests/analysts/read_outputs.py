"""Reads a cvm warehouse the way analysts do, as Delta Lake tables: with the
`deltalake` package (pyarrow), Polars and DuckDB, and prints what it found
as JSON for tests/it/analysts.rs to check.

    python read_outputs.py WAREHOUSE SNAPSHOT_DATE EARLIER_SNAPSHOT_DATE
"""
import datetime
import json
import sys

import duckdb
import polars as pl
from deltalake import DeltaTable

warehouse, snapshot, earlier = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}

# deltalake (delta-rs) and pyarrow: the latest version, typed partition columns
customer_value = DeltaTable(f"{warehouse}/customer_value")
out["delta_version"] = customer_value.version()
out["partition_columns"] = customer_value.metadata().partition_columns
arrow_table = customer_value.to_pyarrow_table(
    filters=[("snapshot_date", "=", datetime.date.fromisoformat(snapshot))]
)
out["pyarrow_rows"] = arrow_table.num_rows
out["pyarrow_types"] = {
    name: str(arrow_table.schema.field(name).type) for name in ["snapshot_date", "revenue_12m", "clv", "tenure_days"]
}

# time travel: version 0 is the first run's table, before the snapshot was published
first = DeltaTable(f"{warehouse}/customer_value", version=0).to_pyarrow_table()
out["version_0_snapshots"] = sorted({str(d) for d in first.column("snapshot_date").to_pylist()})

# Polars: scan_delta, with partition pruning and exact decimals
by_snapshot = (
    pl.scan_delta(f"{warehouse}/customer_value")
    .group_by("snapshot_date")
    .agg(pl.len().alias("rows"), pl.col("revenue_12m").sum().alias("revenue_12m"))
    .sort("snapshot_date")
    .collect()
)
out["polars_rows_by_snapshot"] = {str(r["snapshot_date"]): r["rows"] for r in by_snapshot.to_dicts()}
out["polars_revenue_12m"] = str(
    by_snapshot.filter(pl.col("snapshot_date") == pl.lit(snapshot).str.to_date())["revenue_12m"][0]
)
out["polars_version_0_rows"] = pl.scan_delta(f"{warehouse}/customer_value", version=0).select(pl.len()).collect().item()
campaigns = pl.scan_delta(f"{warehouse}/campaigns").filter(pl.col("snapshot_date") == pl.lit(snapshot).str.to_date())
out["campaign_sizes"] = {r["campaign"]: r["len"] for r in campaigns.group_by("campaign").len().collect().to_dicts()}

# DuckDB: delta_scan where the delta extension can be installed (it downloads
# on first use); otherwise over the table's current files, as delta-rs lists them
con = duckdb.connect()
try:
    con.execute("INSTALL delta; LOAD delta;")
    out["duckdb_via"] = "delta_scan"

    def table(name):
        return f"delta_scan('{warehouse}/{name}')"

except duckdb.Error:
    out["duckdb_via"] = "file_uris"

    def table(name):
        files = DeltaTable(f"{warehouse}/{name}").file_uris()
        return f"read_parquet({files!r}, hive_partitioning = true)"


def one(sql):
    return con.execute(sql).fetchone()


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
out["usage_date_type"] = one(f"SELECT typeof(event_date) FROM {table('usage_daily')} LIMIT 1")[0]
print(json.dumps(out, default=str))
