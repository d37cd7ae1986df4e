"""Reads a Delta table whose log has a checkpoint (cvm writes one every ten
versions) with the `deltalake` package and Polars, and prints what it found
as JSON for tests/it/analysts.rs to check.

    python read_checkpointed.py TABLE EARLIER_VERSION
"""
import json
import sys

import polars as pl
from deltalake import DeltaTable

table, earlier = sys.argv[1], int(sys.argv[2])
latest = DeltaTable(table)
out = {
    "version": latest.version(),
    "files": len(latest.file_uris()),
    "rows": latest.to_pyarrow_table().num_rows,
    "rows_by_partition": {
        str(k): v
        for k, v in pl.scan_delta(table)
        .group_by("snapshot_date")
        .len()
        .collect()
        .sort("snapshot_date")
        .iter_rows()
    },
    "earlier_rows": DeltaTable(table, version=earlier).to_pyarrow_table().num_rows,
    "polars_earlier_rows": pl.scan_delta(table, version=earlier).select(pl.len()).collect().item(),
}
print(json.dumps(out))
