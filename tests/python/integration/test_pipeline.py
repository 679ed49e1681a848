"""`wattlake run` end to end on the fixture scale, through the real CLI."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from pipeline import mart, run_cli

from wattlake.config import load_scales

pytestmark = [pytest.mark.slow, pytest.mark.spark]
MARTS = ("dim_sites", "fct_site_daily_usage", "fct_area_daily_usage")
STAMP = "restated_at_utc"  # when the run that wrote a row started: differs by design


def unstamped(frame: pd.DataFrame) -> pd.DataFrame:
    """A mart's rows without the run stamp, for comparing two runs."""
    return frame.drop(columns=[STAMP], errors="ignore")


@pytest.fixture(scope="module")
def first_run(pipeline_run):
    tmp, completed = pipeline_run
    marts = {
        table: mart(tmp / "warehouse" / "wattlake.duckdb", table) for table in MARTS
    }
    return tmp, completed, marts


def test_run_prints_where_everything_is(first_run) -> None:
    tmp, completed, _ = first_run
    log = completed.stderr
    for stage in (
        "simulate",
        "land",
        "transform [lake_clean]",
        "features",
        "transform [marts]",
        "evaluate",
        "export",
        "docs",
    ):
        assert f"ok  {stage}" in log
    assert str(tmp / "warehouse" / "wattlake.duckdb") in log
    assert str(tmp / "build" / "tableau" / "wattlake.hyper") in log
    assert str(tmp / "build" / "tableau" / "wattlake.twbx") in log
    assert "wattlake dashboard" in log and "http://127.0.0.1:8501/" in log
    assert str(tmp / "build" / "docs" / "index.html") in log
    assert (tmp / "build" / "docs" / "index.html").stat().st_size > 100_000
    # Spark logs warnings only, without its start-up notices (log4j2.properties)
    assert "Using Spark's default log4j profile" not in log
    assert "NativeCodeLoader" not in log


def affected_site_days(lake: Path) -> set[tuple[str, date]]:
    """Site-days whose reading count a delivery fault or a clock skew changes."""
    faults = pd.read_parquet(lake / "_truth" / "faults.parquet")
    anomalies = pd.read_parquet(lake / "_truth" / "anomalies.parquet")
    sites = pd.read_parquet(lake / "_truth" / "sites.parquet")
    local = lambda stamps: stamps.dt.tz_convert("Europe/London").dt.date  # noqa: E731
    affected = set()
    lost = faults[faults["fault_type"].isin(["missing_interval", "malformed_row"])]
    site_of = lost["meter_id"].str.replace(r"MTR-(\d+)-\d", r"SITE-\1", regex=True)
    affected |= set(zip(site_of, local(lost["reading_start_utc"]), strict=True))
    for batch_id in faults.loc[faults["fault_type"] == "local_time_export", "batch_id"]:
        area, stamp = batch_id.split("_")[1:3]
        day = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]))
        for site in sites.loc[sites["area_id"] == area, "site_id"]:
            affected |= {(site, day), (site, day + timedelta(days=1))}
    # negative readings of a faulty (import) meter are quarantined
    for _, event in anomalies[anomalies["anomaly_type"] == "negative"].iterrows():
        for day in pd.date_range(event["start_utc"], event["end_utc"], freq="h"):
            affected.add((event["site_id"], day.tz_convert("Europe/London").date()))
    for _, skew in anomalies[anomalies["anomaly_type"] == "clock_skew"].iterrows():
        for day in pd.date_range(
            skew["start_utc"] - pd.Timedelta(hours=2),
            skew["end_utc"] + pd.Timedelta(hours=2),
            freq="h",
        ):
            affected.add((skew["site_id"], day.tz_convert("Europe/London").date()))
    return affected


def test_daily_mart_has_one_row_per_site_per_local_day(
    first_run, project_dir: Path
) -> None:
    tmp, _, marts = first_run
    scale = load_scales(project_dir)["fixture"]
    days = [scale.start + timedelta(days=offset) for offset in range(scale.days)]
    daily = marts["fct_site_daily_usage"]
    sites = marts["dim_sites"]["site_id"]
    assert len(sites) == scale.sites
    expected = {(site, day) for site in sites for day in days}
    got = {(row.site_id, row.reading_date_local) for row in daily.itertuples()}
    assert got == expected and len(daily) == len(expected)
    # Europe/London: 2025-03-30 has 23 hours, the other fixture days 24, wherever
    # no delivery fault or clock skew took readings away or moved them
    affected = affected_site_days(tmp / "lake")
    clean = daily[
        [(r.site_id, r.reading_date_local) not in affected for r in daily.itertuples()]
    ]
    assert len(clean) >= 0.6 * len(daily)
    spring = clean["reading_date_local"] == date(2025, 3, 30)
    assert set(clean.loc[spring, "hour_count"]) == {23}
    assert set(clean.loc[~spring, "hour_count"]) == {24}
    assert (clean["interval_count"] == clean["hour_count"] * 4).all()


def test_area_mart_adds_up_the_sites(first_run) -> None:
    _, _, marts = first_run
    daily = marts["fct_site_daily_usage"]
    area = marts["fct_area_daily_usage"].set_index(["area_id", "reading_date_local"])
    totals = daily.groupby(["area_id", "reading_date_local"])["energy_kwh"].sum()
    assert area["energy_kwh"].to_dict() == pytest.approx(totals.to_dict())
    assert (
        area["site_count"] == daily.groupby(["area_id", "reading_date_local"]).size()
    ).all()


def test_clean_readings_and_features_are_in_the_lake(first_run) -> None:
    tmp, _, marts = first_run
    lake = tmp / "lake"
    clean = pq.read_table(lake / "clean" / "readings").to_pandas()
    # every reading date is written whole by one run, which stamps it (the
    # partition column is categorical: group by the dates present)
    stamps = clean.groupby("reading_date", observed=True)["restated_at_utc"].nunique()
    assert (stamps == 1).all()
    assert clean["energy_kwh"].sum() == pytest.approx(
        marts["fct_site_daily_usage"]["energy_kwh"].sum()
    )
    assert not clean.duplicated(["meter_id", "reading_start_utc"]).any()
    features = pq.read_table(lake / "curated" / "anomaly_features").to_pandas()
    # one row per meter and UTC hour with clean readings, adding up to them
    hours = clean.assign(hour=clean["reading_start_utc"].dt.floor("h"))
    assert len(features) == len(hours.drop_duplicates(["meter_id", "hour"]))
    assert features["energy_kwh"].sum() == pytest.approx(clean["energy_kwh"].sum())
    assert not features.duplicated(["meter_id", "hour_start_utc"]).any()
    assert (lake / "_truth" / "evaluation.json").is_file()


def test_running_again_with_the_same_seed_changes_nothing(first_run) -> None:
    tmp, _, marts = first_run
    completed = run_cli(["run"], tmp)
    assert (
        "0 new deliveries" in completed.stderr and "0 new batches" in completed.stderr
    )
    # the features' inputs and outputs are as the first run left them: no Spark
    assert "unchanged since computed: not computed again" in completed.stderr
    assert "starting Spark" not in completed.stderr
    # the Tableau export replaces only the mart that changed: freshness is
    # measured at each run (hours since the last delivery)
    assert "1 changed and replaced: fct_source_freshness" in completed.stderr
    for table, frame in marts.items():  # stamps too: nothing was restated
        pd.testing.assert_frame_equal(
            mart(tmp / "warehouse" / "wattlake.duckdb", table), frame
        )


def test_a_fresh_lake_with_the_same_seed_gives_the_same_marts(
    first_run, tmp_path: Path
) -> None:
    _, _, marts = first_run
    run_cli(["simulate"], tmp_path)
    run_cli(["land"], tmp_path)
    run_cli(["transform"], tmp_path)
    for table, frame in marts.items():
        fresh = unstamped(mart(tmp_path / "warehouse" / "wattlake.duckdb", table))
        fresh = fresh.sort_values(list(fresh.columns)).reset_index(drop=True)
        frame = unstamped(frame)
        frame = frame.sort_values(list(frame.columns)).reset_index(drop=True)
        pd.testing.assert_frame_equal(fresh, frame)
