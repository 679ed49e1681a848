"""The simulator's deliveries: formats, batches, registry history, determinism."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from simulated import SMALL, city, deliveries, simulated_lake, truth

from wattlake.ingestion.formats import parse_delivery
from wattlake.ingestion.simulate import SimulationConflict, simulate
from wattlake.storage import Lake


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
