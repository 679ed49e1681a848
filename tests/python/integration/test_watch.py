"""`wattlake watch` on a local lake: a batch dropped in ends in updated marts.

A fixture lake is simulated, landed and transformed by the real CLI (its
own: a lake copied elsewhere reads as new batches to the dbt ledger, which
restates everything); a corrected delivery for one meter's midday on 2025-03-29 is dropped
into `landing/`, and `wattlake watch --once` lands it and runs the refresh
DAG (dbt lake_clean, Spark features for the dates whose features that
date's readings reach, dbt marts, the export).
Exactly that site and day change in the daily mart, only that day is
restated, and dropping the same file again changes nothing.
"""

from __future__ import annotations

import gzip
import re
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pipeline import run_cli

from wattlake.ingestion.manifest import read_manifest
from wattlake.refresh import pending_batches
from wattlake.storage import Lake

pytestmark = [pytest.mark.slow, pytest.mark.spark]

BATCH = "readings_fix_20250329"
METER, SITE, DAY = "MTR-000001-1", "SITE-000001", date(2025, 3, 29)
CORRECTION = (
    "meter_id,reading_start,interval_minutes,value,unit,quality_code\n"
    + "".join(
        f"{METER},2025-03-29T12:{minute:02d}:00Z,15,1.5,kWh,A\n"
        for minute in (0, 15, 30, 45)
    )
)
# Spark on the tiny fixture: fewer shuffle partitions, less overhead
WATCH_ENV = {"WATTLAKE_SPARK_SHUFFLE_PARTITIONS": "2"}


def daily(warehouse: Path) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        frame = connection.execute("select * from main.fct_site_daily_usage").df()
    frame["reading_date_local"] = pd.to_datetime(frame["reading_date_local"]).dt.date
    return frame.set_index(["site_id", "reading_date_local"]).sort_index()


def drop(lake: Path) -> None:
    target = lake / "landing" / "metering" / f"{BATCH}.csv.gz"
    target.write_bytes(gzip.compress(CORRECTION.encode(), mtime=0))


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("watch")
    for stage in ("simulate", "land", "transform"):
        run_cli([stage], tmp)
    warehouse = tmp / "warehouse" / "wattlake.duckdb"
    before = daily(warehouse)

    drop(tmp / "lake")
    first = run_cli(
        ["watch", "--once", "--debounce", "0", "--interval", "0.2"], tmp, WATCH_ENV
    )
    after = daily(warehouse)

    drop(tmp / "lake")  # the same bytes again (a new modification time)
    second = run_cli(
        ["watch", "--once", "--debounce", "0", "--interval", "0.2"], tmp, WATCH_ENV
    )
    return {
        "tmp": tmp,
        "before": before,
        "after": after,
        "again": daily(warehouse),
        "first": first.stderr + first.stdout,
        "second": second.stderr + second.stdout,
    }


def test_the_dropped_batch_is_landed_and_refreshed(watched: dict) -> None:
    lake = Lake(str(watched["tmp"] / "lake"))
    manifest = read_manifest(lake, BATCH)
    assert manifest is not None and manifest.status == "landed" and manifest.rows == 4
    assert pending_batches(lake) == []
    assert "refresh: starting" in watched["first"]
    for stage in ("transform [lake_clean]", "features", "transform [marts]", "export"):
        assert f"{stage}:" in watched["first"], stage
    # the features were computed from the day before the new readings' date
    # to the lake's last date (the readings are in the baselines of the weeks
    # after them), and for no date before
    lake_dir = watched["tmp"] / "lake"
    curated = lake_dir / "curated" / "anomaly_features"
    clean = lake_dir / "clean" / "readings"
    assert sorted(p.name for p in curated.iterdir()) == sorted(
        p.name for p in clean.iterdir() if p.name >= "reading_date=2025-03-28"
    )
    assert len(list(curated.iterdir())) == 5  # 2025-03-28 to 2025-04-01


def test_exactly_the_affected_day_changes_in_the_daily_mart(watched: dict) -> None:
    before, after = watched["before"], watched["after"]
    assert before.index.equals(after.index)
    energy = after["energy_kwh"] - before["energy_kwh"]
    changed = energy[energy.abs() > 1e-9]
    assert list(changed.index) == [(SITE, DAY)]
    # four quarter hours replaced by 1.5 kWh each: the day's energy moves by
    # 6 kWh minus what they held, and the peak hour is 6 kW
    assert after.loc[(SITE, DAY), "peak_hourly_demand_kw"] == pytest.approx(6.0)
    restated = after.index[after["restated_at_utc"] != before["restated_at_utc"]]
    assert {day for _, day in restated} == {DAY}


def test_dropping_the_same_batch_again_changes_nothing(watched: dict) -> None:
    # every delivery is read again (--once checks them all), none is new
    assert re.search(
        r"new or rewritten: 0 landed, \d+ unchanged, 0 quarantined", watched["second"]
    )
    assert "refresh: starting" not in watched["second"]
    pd.testing.assert_frame_equal(watched["again"], watched["after"])
