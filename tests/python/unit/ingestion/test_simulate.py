"""The simulator's deliveries: formats, batches, registry history, determinism."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from simulated import CITY, SMALL, city, deliveries, simulated_lake, truth

from wattlake.ingestion.formats import parse_delivery
from wattlake.ingestion.land import land_pending
from wattlake.ingestion.simulate import SimulationConflict, simulate
from wattlake.storage import Lake

ZONES = {area.area_id: ZoneInfo(area.time_zone) for area in CITY.areas}
DELAY = timedelta(minutes=5)  # "a few minutes" after a period ends


def on_time(batch_id: str) -> datetime:
    """When a delivery is due: a few minutes after the period it covers ends."""
    day = re.search(r"_(\d{8})", batch_id).group(1)
    first = date(int(day[:4]), int(day[4:6]), int(day[6:]))
    following = first + timedelta(days=1)
    if batch_id.startswith("readings_"):
        area = batch_id.split("_")[1]
        hour = re.search(r"T(\d\d)$", batch_id)
        if hour:  # an hourly head-end: the UTC hour
            start = datetime(*first.timetuple()[:3], int(hour.group(1)), tzinfo=UTC)
            return start + timedelta(hours=1) + DELAY
        # a daily head-end: the area's local day, 23 to 25 hours long
        return datetime(*following.timetuple()[:3], tzinfo=ZONES[area]) + DELAY
    if batch_id.startswith("weather_"):  # hourly observations of a UTC day
        return datetime(*following.timetuple()[:3], tzinfo=UTC) + DELAY
    # a registry snapshot: as of the start of its local day
    zone = ZONES[CITY.areas[0].area_id]
    return datetime(*first.timetuple()[:3], tzinfo=zone) + DELAY


def files(lake: Lake) -> dict[str, bytes]:
    return {
        uri.removeprefix(lake.root): lake.read_bytes(uri)
        for uri in lake.list(lake.root)
    }


def test_same_seed_same_bytes_whatever_the_number_of_workers(tmp_path: Path) -> None:
    one = Lake(str(tmp_path / "one"))
    two = Lake(str(tmp_path / "two"))
    the_city = city(anomaly_rate=5.0, faults=city().faults)
    simulate(one, SMALL, 3, the_city, workers=1)
    simulate(two, SMALL, 3, the_city, workers=2)
    assert files(one) == files(two)


def test_rerun_writes_nothing_and_another_seed_is_refused(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    first = simulate(lake, SMALL, 3, city(), workers=1)
    again = simulate(lake, SMALL, 3, city(), workers=1)
    assert first.deliveries_written > 0
    assert (again.deliveries_written, again.deliveries_unchanged) == (
        0,
        first.deliveries_written,
    )
    with pytest.raises(
        SimulationConflict, match="simulated with another seed, scale or city"
    ):
        simulate(lake, SMALL, 4, city(), workers=1)


def test_each_area_delivers_in_its_own_format_and_batch_size(tmp_path: Path) -> None:
    lake = simulated_lake(tmp_path, city())
    by_area: dict[str, set[tuple[str, int]]] = {}
    for delivery in lake.deliveries():
        if delivery.source == "metering":
            area, stamp = delivery.batch_id.split("_")[1:3]
            by_area.setdefault(area, set()).add((delivery.fmt, len(stamp)))
    # downtown: JSON Lines per UTC hour (YYYYMMDDTHH); others one batch a day
    assert by_area == {
        "downtown": {("jsonl.gz", 11)},
        "suburbs": {("csv.gz", 8)},
        "industrial": {("parquet", 8)},
        "campus": {("csv.gz", 8)},
    }
    every = deliveries(lake)
    sites = truth(lake, "sites")
    assert (
        every["meter_id"]
        .str.replace(r"MTR-(\d+)-\d", r"SITE-\1", regex=True)
        .isin(sites["site_id"])
        .all()
    )
    # every meter reports every interval: 6 local days around the spring change
    assert every.groupby("meter_id").size().eq(96 * 5 + 92).all()


def test_weather_is_delivered_hourly_per_area(tmp_path: Path) -> None:
    lake = simulated_lake(tmp_path, city())
    weather = [d for d in lake.deliveries() if d.source == "weather"]
    assert len(weather) == SMALL.days
    table = parse_delivery(
        lake.read_bytes(weather[0].uri), weather[0].fmt, "weather", "w"
    ).table
    assert table.num_rows == 24 * 4
    temperatures = pd.to_numeric(table["air_temperature_c"].to_pandas())
    assert temperatures.between(-15, 30).all() and temperatures.std() > 0.3


def test_the_registry_records_replacements_and_corrections(tmp_path: Path) -> None:
    busy = city(meter_replacements_per_year=20.0, reclassified_sites_per_year=20.0)
    lake = simulated_lake(tmp_path, busy)
    changes = truth(lake, "registry_changes")
    assert set(changes["change_type"]) == {"meter_replaced", "site_reclassified"}
    snapshots = {
        d.batch_id: parse_delivery(
            lake.read_bytes(d.uri), d.fmt, d.table, d.uri
        ).table.to_pandas()
        for d in lake.deliveries()
        if d.source == "registry"
    }
    first_day = f"{SMALL.start:%Y%m%d}"
    readings = deliveries(lake)
    for _, change in changes.iterrows():
        day = f"{change['effective_on']:%Y%m%d}"
        assert f"sites_{day}" in snapshots and f"meters_{day}" in snapshots
        if change["change_type"] == "site_reclassified":
            before = (
                snapshots[f"sites_{first_day}"]
                .set_index("site_id")
                .loc[change["site_id"], "site_type"]
            )
            after = (
                snapshots[f"sites_{day}"]
                .set_index("site_id")
                .loc[change["site_id"], "site_type"]
            )
            assert (before, after) == (
                change["before"],
                change["after"],
            ) and before != after
        else:
            meters = snapshots[f"meters_{day}"].set_index("meter_id")
            assert meters.loc[change["before"], "removed_on"] == str(
                change["effective_on"]
            )
            assert meters.loc[change["after"], "installed_on"] == str(
                change["effective_on"]
            )
            switch = pd.Timestamp(change["effective_on"])
            old = readings[readings["meter_id"] == change["before"]]["start"]
            new = readings[readings["meter_id"] == change["after"]]["start"]
            # midnight local (Europe/London) is at most an hour from midnight UTC
            assert (
                old.max()
                < switch + pd.Timedelta(hours=1)
                <= new.min() + pd.Timedelta(hours=2)
            )


def test_solar_homes_have_net_meters_in_the_registry(tmp_path: Path) -> None:
    lake = simulated_lake(tmp_path, replace(city(), solar_share=0.5))
    sites = truth(lake, "sites").set_index("site_id")
    meters_delivery = next(
        d for d in lake.deliveries() if d.batch_id.startswith("meters_")
    )
    meters = parse_delivery(
        lake.read_bytes(meters_delivery.uri), "csv.gz", "meters", "m"
    ).table.to_pandas()
    net = meters.set_index("site_id")["meter_type"] == "net"
    assert net.any()
    assert (net == sites.loc[net.index, "is_net_metered"]).all()


def test_deliveries_arrive_a_few_minutes_after_their_period_ends(
    tmp_path: Path,
) -> None:
    lake = simulated_lake(tmp_path, city())
    report = land_pending(lake, workers=1)
    assert not report.problems
    received = {
        m.batch_id: datetime.fromisoformat(m.received_at) for m in report.landed
    }
    assert len(received) == len(lake.deliveries()) > SMALL.days * 24
    for batch_id, moment in received.items():
        assert moment == on_time(batch_id), batch_id
    # around the spring change (Europe/London, 2025-03-30: a 23-hour day)
    assert received["readings_suburbs_20250329"] == datetime(
        2025, 3, 30, 0, 5, tzinfo=UTC
    )
    assert received["readings_suburbs_20250330"] == datetime(
        2025, 3, 30, 23, 5, tzinfo=UTC
    )
    assert received["readings_downtown_20250330T23"] == datetime(
        2025, 3, 31, 0, 5, tzinfo=UTC
    )
    # a replay spreads over the days the deliveries arrived
    ingest_dates = {m.raw.split("/")[-2] for m in report.landed}
    assert ingest_dates == {
        f"ingest_date={SMALL.start + timedelta(days=n)}" for n in range(SMALL.days + 1)
    }


@pytest.mark.aws
def test_on_s3_the_arrival_time_travels_in_metadata(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    """S3 sets LastModified at upload: landing reads the simulator's sent-at."""
    tiny = replace(SMALL, sites=4, days=2)
    faults = replace(city().faults, late_batch_share=1.0)
    on_disk = simulated_lake(tmp_path, city(faults=faults), tiny)
    on_s3 = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    simulate(on_s3, tiny, 5, city(faults=faults), workers=1)
    received = {}
    for lake in (on_disk, on_s3):
        report = land_pending(lake, workers=1)
        assert not report.problems
        received[lake.is_s3] = {m.batch_id: m.received_at for m in report.landed}
    assert received[True] == received[False]
    late = {b: t for b, t in received[True].items() if "_late" in b}
    # noon in London on the late day (still GMT on 2025-03-29)
    assert late and set(late.values()) == {"2025-03-29T12:00:00+00:00"}
