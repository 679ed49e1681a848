from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wattlake.features.job import run_features
from wattlake.features.transforms import MIN_TRAILING_DAYS, anomaly_features
from wattlake.storage import Lake

pytestmark = pytest.mark.spark
START = date(2025, 3, 1)


def readings_frame(daily: dict[str, list[float | None]]) -> pd.DataFrame:
    """Four 15-minute readings per day adding up to each day's kWh (None: no readings)."""
    rows = []
    for meter, values in daily.items():
        for offset, value in enumerate(values):
            if value is None:
                continue
            for quarter in range(4):
                rows.append((meter, value / 4, START + timedelta(days=offset), quarter))
    return pd.DataFrame(
        rows, columns=["meter_id", "energy_kwh", "reading_date", "quarter"]
    )


def features(
    spark, daily: dict[str, list[float | None]], days: int = 28
) -> pd.DataFrame:
    frame = spark.createDataFrame(readings_frame(daily).drop(columns="quarter"))
    return (
        anomaly_features(frame, days)
        .toPandas()
        .sort_values(["meter_id", "reading_date"])
    )


def test_trailing_statistics_match_an_independent_calculation(spark) -> None:
    rng = np.random.default_rng(0)
    values: list[float | None] = list(rng.gamma(5.0, 2.0, 40))
    values[12] = None  # a day with no readings: a gap, not a zero
    got = features(spark, {"m1": values}, days=7).reset_index(drop=True)
    series = pd.Series(values, dtype=float)
    trailing = series.shift(1).rolling(7, min_periods=1)
    expected_mean = trailing.mean()
    expected_std = trailing.std(ddof=0)
    expected_count = series.shift(1).notna().astype(int).rolling(7, min_periods=1).sum()
    present = series.notna().to_numpy()
    assert len(got) == present.sum()  # the gap day has no feature row
    assert np.allclose(got["trailing_mean_kwh"][1:], expected_mean[present][1:])
    assert np.allclose(got["trailing_stddev_kwh"][1:], expected_std[present][1:])
    assert (
        got["trailing_day_count"].tolist()[1:]
        == expected_count[present].astype(int).tolist()[1:]
    )
    zscore = (series - expected_mean) / expected_std
    ready = (expected_count >= MIN_TRAILING_DAYS)[present].to_numpy()
    assert np.allclose(got["energy_zscore"][ready], zscore[present][ready])
    assert got["energy_zscore"][~ready].isna().all()


def test_a_spike_stands_out_and_a_flatline_gives_no_score(spark) -> None:
    spiky = [10.0 + (day % 3) for day in range(20)] + [40.0]
    flat = [5.0] * 21
    got = features(spark, {"spiky": spiky, "flat": flat})
    spike = got[
        (got.meter_id == "spiky") & (got.reading_date == START + timedelta(days=20))
    ]
    assert spike["energy_zscore"].item() > 10
    assert got[got.meter_id == "flat"]["energy_zscore"].isna().all()
    daily = got[got.meter_id == "spiky"]["energy_kwh"].tolist()
    assert daily == pytest.approx(spiky)  # quarter-hours add up to the day


def write_clean(lake: Lake, daily: dict[str, list[float | None]]) -> None:
    frame = readings_frame(daily)
    frame["reading_start_utc"] = pd.to_datetime(
        frame["reading_date"]
    ) + pd.to_timedelta(frame["quarter"] * 15, "min")
    frame = frame.drop(columns="quarter")
    frame["reading_date"] = frame["reading_date"].astype(str)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # microseconds, as dbt writes them (Spark refuses nanosecond Parquet timestamps)
    table = table.set_column(
        table.schema.get_field_index("reading_start_utc"),
        "reading_start_utc",
        table["reading_start_utc"].cast(pa.timestamp("us")),
    )
    pq.write_to_dataset(
        table,
        lake.clean_readings_prefix(),
        partition_cols=["reading_date"],
    )


def test_rerunning_a_date_overwrites_only_that_partition(spark, tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    write_clean(lake, {"m1": [float(v) for v in range(1, 15)], "m2": [2.0] * 14})
    first = run_features(spark, lake)
    assert first.rows == 28 and first.first_date == START
    output = Path(lake.anomaly_features_prefix())
    before = {p: p.stat().st_mtime_ns for p in output.glob("reading_date=*/*.parquet")}
    assert len({p.parent for p in before}) == 14
    rerun_day = START + timedelta(days=10)
    again = run_features(spark, lake, start=rerun_day, end=rerun_day)
    assert again.rows == 2
    after = {p: p.stat().st_mtime_ns for p in output.glob("reading_date=*/*.parquet")}
    changed = {p.parent.name for p in set(after) ^ set(before)}
    assert changed == {f"reading_date={rerun_day}"}
    untouched = [p for p in before if p.parent.name != f"reading_date={rerun_day}"]
    assert all(after[p] == before[p] for p in untouched)
    result = spark.read.parquet(str(output)).toPandas()
    assert len(result) == 28  # no duplicates after the rerun
    day = result[result.reading_date == rerun_day].sort_values("meter_id")
    # the rerun still sees the history before its start date
    assert day["trailing_mean_kwh"].tolist() == pytest.approx([5.5, 2.0])
