"""The tariffs source on DuckDB: a lake with no tariff delivery still builds.

DuckDB's read_parquet fails on a glob that matches no file; the staging model
reads the source through `delivered_source`, which reads an empty, typed
relation instead until the first tariff delivery lands.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pipeline import PROJECT_DIR

from wattlake.ingestion.land import land_pending
from wattlake.storage import Lake

pytestmark = [pytest.mark.slow]


def test_the_tariff_source_reads_as_empty_until_a_delivery_lands(
    tmp_path: Path,
) -> None:
    """dbt builds the tariff staging model over a lake with no tariff file."""
    lake = Lake(str(tmp_path / "lake"))
    warehouse = tmp_path / "warehouse.duckdb"
    env = {
        **os.environ,
        "WATTLAKE_LAKE": lake.root,
        "WATTLAKE_WAREHOUSE": str(warehouse),
        "WATTLAKE_TARGET": "local",
    }

    def staged() -> pd.DataFrame:
        subprocess.run(
            [
                str(Path(sys.executable).with_name("dbt")),
                "run",
                "--quiet",
                "--select",
                "stg_tariffs__site_tariffs",
                "--profiles-dir",
                "profiles",
                "--target-path",
                str(tmp_path / "target"),
            ],
            cwd=PROJECT_DIR,
            env=env,
            check=True,
        )
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            return connection.execute(
                "select * from main.stg_tariffs__site_tariffs"
            ).df()

    empty = staged()
    assert empty.empty
    assert list(empty.columns) == [
        "site_id",
        "tariff_id",
        "batch_id",
        "valid_from_local",
        "received_at_utc",
        "parse_error",
        "source_line",
    ]
    lake.write_bytes(
        lake.landing("tariffs", "tariffs_20250401", "csv.gz"),
        gzip.compress(b"site_id,tariff_id,valid_from\ns1,dom_e7,2025-04-15\n", mtime=0),
    )
    land_pending(lake, received_at=datetime(2025, 4, 1, 6, tzinfo=UTC), workers=1)
    rows = staged()
    assert rows[["site_id", "tariff_id"]].values.tolist() == [["s1", "dom_e7"]]
    assert str(rows["valid_from_local"].iloc[0])[:10] == "2025-04-15"
