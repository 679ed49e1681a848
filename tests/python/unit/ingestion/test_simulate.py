import gzip
import io
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.csv as pa_csv
import pytest

from wattlake.config import Scale
from wattlake.ingestion.simulate import (
    SimulationConflict,
    build_sites,
    day_intervals,
    deliveries,
    simulate,
)
from wattlake.storage import Lake

SMALL = Scale(name="t", sites=9, start=date(2025, 3, 29), days=3, interval_minutes=15)


def test_a_local_day_has_23_24_or_25_hours_of_intervals() -> None:
    # Europe/London: clocks go forward on 2025-03-30 and back on 2025-10-26
    assert len(day_intervals(date(2025, 3, 29), "Europe/London", 15)) == 96
    assert len(day_intervals(date(2025, 3, 30), "Europe/London", 15)) == 92
    assert len(day_intervals(date(2025, 10, 26), "Europe/London", 15)) == 100
    starts = day_intervals(date(2025, 3, 31), "Europe/London", 15)
    # local midnight in BST is 23:00 UTC the day before
    assert str(starts[0]) == "2025-03-30T23:00:00"


def test_same_seed_same_deliveries_other_seed_other_readings() -> None:
    first = [(s, b, t) for s, b, t in deliveries(SMALL, seed=1)]
    again = [(s, b, t) for s, b, t in deliveries(SMALL, seed=1)]
    other = [(s, b, t) for s, b, t in deliveries(SMALL, seed=2)]
    assert [b for _, b, _ in first] == [b for _, b, _ in again]
    assert all(a.equals(b) for (_, _, a), (_, _, b) in zip(first, again, strict=True))
    readings = [t for s, _, t in first if s == "metering"]
    readings_other = [t for s, _, t in other if s == "metering"]
    assert any(not a.equals(b) for a, b in zip(readings, readings_other, strict=False))


def test_every_meter_reports_every_interval_of_every_local_day() -> None:
    sites = build_sites(SMALL.sites, seed=3)
    per_meter: dict[str, int] = {}
    for source, _, table in deliveries(SMALL, seed=3):
        if source == "metering":
            for meter in table["meter_id"].to_pylist():
                per_meter[meter] = per_meter.get(meter, 0) + 1
    assert sorted(per_meter) == sorted(sites.meter_id.tolist())
    assert set(per_meter.values()) == {96 + 92 + 96}


def test_offices_use_more_on_weekdays_than_at_weekends() -> None:
    scale = Scale(
        name="t", sites=60, start=date(2025, 3, 3), days=7, interval_minutes=15
    )
    sites = build_sites(scale.sites, seed=5)
    offices = set(sites.meter_id[sites.site_type == "office"].tolist())
    assert offices
    weekday, weekend = [], []
    for source, batch_id, table in deliveries(scale, seed=5):
        if source != "metering":
            continue
        day = date.fromisoformat(
            batch_id.rsplit("_", 1)[1][:4] + "-" + batch_id[-4:-2] + "-" + batch_id[-2:]
        )
        values = np.array(table["value"].to_pylist(), dtype=float)
        mask = np.isin(np.array(table["meter_id"].to_pylist()), list(offices))
        (weekend if day.weekday() >= 5 else weekday).append(values[mask].sum())
    assert np.mean(weekday) > 1.3 * np.mean(weekend)


def test_simulate_writes_gzip_csv_and_refuses_other_data(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    report = simulate(lake, SMALL, seed=1)
    assert report.deliveries_written == 2 + 3 * 3
    assert report.readings == 9 * (96 + 92 + 96)
    uri = lake.landing("metering", "readings_downtown_20250330", "csv.gz")
    table = pa_csv.read_csv(io.BytesIO(gzip.decompress(lake.read_bytes(uri))))
    assert table.column_names == [
        "meter_id",
        "reading_start",
        "interval_minutes",
        "value",
        "unit",
        "quality_code",
    ]
    again = simulate(lake, SMALL, seed=1)
    assert (again.deliveries_written, again.deliveries_unchanged) == (0, 11)
    with pytest.raises(
        SimulationConflict, match="simulated with another seed or scale"
    ):
        simulate(lake, SMALL, seed=2)
