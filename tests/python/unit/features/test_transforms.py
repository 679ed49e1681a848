"""The Spark features on small hand-made series, checked against pandas."""

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from wattlake.features.job import run_features
from wattlake.features.transforms import anomaly_features, utc_hour
from wattlake.storage import Lake

pytestmark = pytest.mark.spark
START = datetime(2025, 1, 6)  # a Monday, UTC (winter: London is on UTC)
QUARTER = timedelta(minutes=15)


def quarter_hours(values: dict[str, list[float | None]], start: datetime = START):
    """Readings of 15-minute values per meter from `start` (None: not read)."""
    rows = [
        (meter, start + i * QUARTER, 15, value)
        for meter, series in values.items()
        for i, value in enumerate(series)
        if value is not None
    ]
    return pd.DataFrame(
        rows,
        columns=["meter_id", "reading_start_utc", "interval_minutes", "energy_kwh"],
    )


def meter_sites(meters, site_type="office", area="a1", time_zone="Europe/London"):
    return pd.DataFrame(
        {
            "meter_id": list(meters),
            "version_number": 1,
            "valid_from": date(2025, 1, 1),
            "valid_to": None,
            "site_id": [f"site-{m}" for m in meters],
            "site_type": site_type,
            "area_id": area,
            "floor_area_m2": 100.0,
            "time_zone": time_zone,
        }
    )


def no_weather():
    return pd.DataFrame(
        {
            "area_id": pd.Series([], dtype=str),
            "hour_start_utc": pd.Series([], dtype="datetime64[us]"),
            "air_temperature_c": pd.Series([], dtype=float),
        }
    )


def features(spark, readings, sites=None, weather=None) -> pd.DataFrame:
    sites = (
        meter_sites(sorted(readings["meter_id"].unique())) if sites is None else sites
    )
    weather = no_weather() if weather is None else weather
    frame = anomaly_features(
        spark.createDataFrame(readings),
        spark.createDataFrame(
            sites,
            "meter_id string, version_number int, valid_from date, valid_to date, site_id string, site_type string, area_id string, floor_area_m2 double, time_zone string",
        ),
        spark.createDataFrame(
            weather,
            "area_id string, hour_start_utc timestamp, air_temperature_c double",
        ),
    )
    return (
        frame.toPandas()
        .sort_values(["meter_id", "hour_start_utc"])
        .reset_index(drop=True)
    )


def hourly(values) -> list[float | None]:
    """Four equal 15-minute values per hourly value (None: an hour not read)."""
    return [None if v is None else v / 4 for v in values for _ in range(4)]


# The hand-made series of one meter each. They run as the meters of one job
# (`one_meter_each`): a Spark job takes seconds whatever its size, and no
# feature of a meter reads another meter's rows (the peers, which do, are
# tested on jobs of their own).
def gamma_hours(
    seed: int, shape: float, scale: float, hours: int
) -> list[float | None]:
    return list(np.random.default_rng(seed).gamma(shape, scale, hours).round(3))


def profile_hours() -> list[float | None]:
    return gamma_hours(1, 4.0, 2.0, 24 * 7 * 5)


def gap_hours() -> list[float | None]:
    values = gamma_hours(2, 3.0, 1.0, 24 * 10)
    values[50:53] = [None] * 3  # three hours not read: a gap, not zeros
    return values


def missing_hours() -> list[float | None]:
    values = gamma_hours(5, 4.0, 2.0, 24 * 7 * 3)
    values[30:54] = [None] * 24  # a day not read in the first week
    values[400:406] = [0.0, 0.0, 0.0, None, 0.0, 0.0]  # zeros, an hour missing
    return values


def runs_quarters() -> list[float | None]:
    values: list[float | None] = [1.0 + 0.1 * (i % 7) for i in range(4 * 48)]
    values[4 * 10 : 4 * 15] = [0.8] * 20  # hours 10-14: the meter repeats 0.8
    values[4 * 30 : 4 * 33] = [0.0] * 12  # hours 30-32: zeros
    return values


SPIKE_HOUR = 24 * 7 + 12  # day 8, 12:00


def spike_quarters() -> list[float | None]:
    values = list(np.random.default_rng(3).uniform(0.9, 1.1, 4 * 24 * 8))
    values[4 * SPIKE_HOUR + 1] += 10.0  # 12:15
    return values


def drift_factors() -> list[float]:
    """Flat weeks, then use rising by 5 % of expected a day for two weeks."""
    days = 8 * 7
    return [1.0] * (days - 14) + [1.0 + 0.05 * (d + 1) for d in range(14)]


DST_START = datetime(2025, 3, 29)  # 2025-03-30 in London: 01:00 GMT is 02:00 BST

ONE_METER_EACH = {  # meter: (its first reading, its 15-minute values)
    "profile": (START, hourly(profile_hours())),
    "gap": (START, hourly(gap_hours())),
    "missing": (START, hourly(missing_hours())),
    "runs": (START, runs_quarters()),
    "spike": (START, spike_quarters()),
    "drift": (START, [0.25 * factor for factor in drift_factors() for _ in range(96)]),
    "dst": (DST_START, [0.25] * (4 * 24 * 3)),
}


@pytest.fixture(scope="module")
def one_meter_each(spark) -> dict[str, pd.DataFrame]:
    """The features of each series of ONE_METER_EACH, computed in one job."""
    readings = pd.concat(
        [
            quarter_hours({meter: values}, start)
            for meter, (start, values) in ONE_METER_EACH.items()
        ],
        ignore_index=True,
    )
    got = features(spark, readings)
    return {
        meter: rows.reset_index(drop=True) for meter, rows in got.groupby("meter_id")
    }


def test_expected_value_is_the_median_of_the_same_hour_in_earlier_weeks(
    one_meter_each,
) -> None:
    values = np.array(profile_hours())
    got = one_meter_each["profile"]
    assert got["energy_kwh"].to_numpy() == pytest.approx(values)
    series = pd.Series(values)
    same_hour = pd.concat([series.shift(168 * w) for w in range(1, 9)], axis=1)
    counts = same_hour.notna().sum(axis=1)
    expected = same_hour.median(axis=1).where(counts >= 2)
    assert np.allclose(got["expected_kwh"], expected, equal_nan=True)
    mad = same_hour.sub(expected, axis=0).abs().median(axis=1).where(counts >= 2)
    assert np.allclose(got["mad_kwh"], mad, equal_nan=True)
    scale = np.maximum(1.4826 * mad, 0.05 * expected.abs())
    zscore = (series - expected) / scale
    assert np.allclose(got["robust_zscore"], zscore, equal_nan=True)
    assert got["expected_kwh"][: 2 * 168].isna().all()  # fewer than 2 weeks before


def test_rolling_statistics_match_pandas_across_a_gap(one_meter_each) -> None:
    got = one_meter_each["gap"]
    series = pd.Series(gap_hours(), dtype=float)
    present = series.notna().to_numpy()
    assert len(got) == present.sum()  # hours without readings have no row
    for label, hours in (("24h", 24), ("7d", 168)):
        rolling = series.rolling(hours, min_periods=1)
        assert np.allclose(got[f"mean_{label}_kwh"], rolling.mean()[present])
        assert np.allclose(got[f"stddev_{label}_kwh"], rolling.std(ddof=0)[present])


def test_look_backs_count_hours_not_rows_across_missing_hours(one_meter_each) -> None:
    got = one_meter_each["missing"]
    series = pd.Series(missing_hours(), dtype=float)
    present = series.notna().to_numpy()
    assert len(got) == present.sum()
    # the same hour 1..8 weeks back is 168 k hours back, whatever is missing
    same_hour = pd.concat([series.shift(168 * w) for w in range(1, 9)], axis=1)
    counts = same_hour.notna().sum(axis=1)
    expected = same_hour.median(axis=1).where(counts >= 2)[present]
    assert expected.notna().sum() > 100
    assert np.allclose(got["expected_kwh"], expected, equal_nan=True)
    # a missing hour ends a zero run: the zeros after it start a new one
    runs = got.set_index("hour_start_utc")["zero_run_hours"]
    hour = [pd.Timestamp(START + timedelta(hours=h)) for h in (400, 401, 402, 404, 405)]
    assert runs[hour].tolist() == [1, 2, 3, 1, 2]


def test_a_flatline_and_a_zero_run_are_counted_in_hours(one_meter_each) -> None:
    got = one_meter_each["runs"]
    assert got["flat_run_hours"].tolist()[8:17] == [0, 0, 1, 2, 3, 4, 5, 0, 0]
    assert got["zero_run_hours"].tolist()[29:35] == [0, 1, 2, 3, 0, 0]
    # a repeated value is not a zero run, and zeros are not a flatline
    assert got["zero_run_hours"][10:15].eq(0).all()
    assert got["flat_run_hours"][30:33].eq(0).all()


def test_a_spike_stands_out_against_the_usual_interval(one_meter_each) -> None:
    ratio = one_meter_each["spike"]["max_interval_ratio"]
    assert ratio[SPIKE_HOUR] > 8
    assert ratio.drop(index=SPIKE_HOUR).max() < 1.5


def test_a_drift_gives_the_slope_of_the_daily_ratio(one_meter_each) -> None:
    daily_factor = drift_factors()
    got = one_meter_each["drift"]
    last = got[got["local_date"] == got["local_date"].max()].iloc[0]
    assert last["day_ratio"] == pytest.approx(daily_factor[-1])
    assert last["drift_slope_per_day"] == pytest.approx(0.05)
    steady = got[got["local_date"] == (START + timedelta(days=30)).date()].iloc[0]
    assert steady["drift_slope_per_day"] == pytest.approx(0.0)
    # the last 7 days against the 28 before them
    recent = np.mean(daily_factor[-7:])
    assert last["level_shift_ratio"] == pytest.approx(
        recent / np.mean(daily_factor[-35:-7])
    )


def test_a_dst_day_has_23_local_hours_and_its_own_night(one_meter_each) -> None:
    got = one_meter_each["dst"]
    day = got[got["local_date"] == date(2025, 3, 30)]
    assert len(day) == 23
    assert day["day_kwh"].iloc[0] == pytest.approx(23.0)
    assert day["hour_start_utc"].min() == pd.Timestamp("2025-03-30 00:00")
    assert day["hour_start_utc"].max() == pd.Timestamp("2025-03-30 22:00")
    # the next local day starts at 23:00 UTC
    after = got[got["local_date"] == date(2025, 3, 31)]
    assert after["hour_start_utc"].min() == pd.Timestamp("2025-03-30 23:00")
    # 00:00-06:00 local on the DST day is five hours of 1 kWh
    assert day["night_kwh_per_hour"].iloc[0] == pytest.approx(1.0)


def test_the_temperature_fit_explains_heating(spark) -> None:
    rng = np.random.default_rng(4)
    days = 40
    temperature = rng.uniform(0.0, 14.0, days)
    heating = 15.5 - temperature  # every day is below 15.5 degrees
    daily = 10.0 + 2.0 * heating
    values = [d / 96 for d in daily for _ in range(96)]
    weather = pd.DataFrame(
        {
            "area_id": "a1",
            "hour_start_utc": [START + timedelta(hours=h) for h in range(24 * days)],
            "air_temperature_c": np.repeat(temperature, 24),
        }
    )
    got = features(spark, quarter_hours({"m1": values}), weather=weather)
    last = got[got["local_date"] == got["local_date"].max()].iloc[0]
    assert last["heating_degrees"] == pytest.approx(heating[-1])
    assert last["temperature_expected_kwh"] == pytest.approx(daily[-1], rel=1e-6)
    assert last["temperature_residual_kwh"] == pytest.approx(0.0, abs=1e-6)


def test_peers_compare_sites_of_the_same_type_and_area(spark) -> None:
    meters = {f"m{i}": [0.25 * (i + 1)] * (96 * 2) for i in range(4)}
    sites = meter_sites(list(meters))
    got = features(spark, quarter_hours(meters), sites=sites)
    day = got[got["hour_start_utc"] == pd.Timestamp(START)].set_index("meter_id")
    assert day["kwh_per_m2"].tolist() == pytest.approx([0.24, 0.48, 0.72, 0.96])
    assert day["peer_percentile"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    # no site has two weeks of history yet: no day ratio to compare
    assert (day["peer_site_count"] == 0).all()
    assert day["peer_day_ratio"].isna().all()


def write_clean(
    lake: Lake,
    values: dict[str, list[float]],
    days: int,
    time_zone: str = "Europe/London",
) -> None:
    frame = quarter_hours(values)
    frame["reading_date"] = frame["reading_start_utc"].dt.date.astype(str)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # microseconds, as dbt writes them (Spark refuses nanosecond Parquet timestamps)
    table = table.set_column(
        table.schema.get_field_index("reading_start_utc"),
        "reading_start_utc",
        table["reading_start_utc"].cast(pa.timestamp("us")),
    )
    pq.write_to_dataset(
        table, lake.clean_readings_prefix(), partition_cols=["reading_date"]
    )
    inputs = lake.feature_inputs()
    Path(inputs["meter_sites"]).mkdir(parents=True)
    schema = pa.schema(
        [
            ("meter_id", pa.string()),
            ("version_number", pa.int32()),
            ("valid_from", pa.date32()),
            ("valid_to", pa.date32()),
            ("site_id", pa.string()),
            ("site_type", pa.string()),
            ("area_id", pa.string()),
            ("floor_area_m2", pa.float64()),
            ("time_zone", pa.string()),
        ]
    )
    pq.write_table(
        pa.Table.from_pandas(
            meter_sites(list(values), time_zone=time_zone),
            schema=schema,
            preserve_index=False,
        ),
        f"{inputs['meter_sites']}/part_0.parquet",
    )
    Path(inputs["weather_hourly"]).mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pandas(no_weather(), preserve_index=False),
        f"{inputs['weather_hourly']}/part_0.parquet",
    )


def test_rerunning_a_date_overwrites_only_that_partition(spark, tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    days = 14
    write_clean(
        lake,
        {
            "m1": [0.25 * (1 + i // 96) for i in range(96 * days)],
            "m2": [0.5] * (96 * days),
        },
        days,
    )
    first = run_features(spark, lake)
    assert first.rows == 2 * 24 * days and first.first_date == START.date()
    output = Path(lake.anomaly_features_prefix())
    before = {p: p.stat().st_mtime_ns for p in output.glob("reading_date=*/*.parquet")}
    assert len({p.parent for p in before}) == days
    # the partitions hold Parquet files only (no hidden .crc beside each)
    assert set(output.glob("reading_date=*/*")) == set(before)
    rerun_day = START.date() + timedelta(days=10)
    again = run_features(spark, lake, start=rerun_day, end=rerun_day)
    assert again.rows == 2 * 24
    after = {p: p.stat().st_mtime_ns for p in output.glob("reading_date=*/*.parquet")}
    changed = {p.parent.name for p in set(after) ^ set(before)}
    assert changed == {f"reading_date={rerun_day}"}
    untouched = [p for p in before if p.parent.name != f"reading_date={rerun_day}"]
    assert all(after[p] == before[p] for p in untouched)
    result = spark.read.parquet(str(output)).toPandas()
    assert len(result) == 2 * 24 * days  # no duplicates after the rerun
    day = result[result.reading_date == rerun_day].sort_values(
        ["meter_id", "hour_start_utc"]
    )
    # the rerun still reads the history before its start date: the 7-day mean
    # of m1 (1, 2, ... kWh per hour on days 1, 2, ...) at the end of day 11
    assert day["mean_7d_kwh"].iloc[23] == pytest.approx(np.mean(range(5, 12)))


def test_a_dated_run_gives_the_features_a_run_of_every_date_gives(
    spark, tmp_path: Path
) -> None:
    # sites an hour ahead of UTC: a date's last UTC hour is the first hour of
    # the next local day, whose day features need the next date's readings
    lake = Lake(str(tmp_path / "lake"))
    days = 14
    write_clean(
        lake,
        {
            "m1": [0.25 * (1 + (i // 4) % 24 / 10) for i in range(96 * days)],
            "m2": [0.5 + 0.1 * ((i // 96) % 3) for i in range(96 * days)],
        },
        days,
        time_zone="Europe/Paris",
    )
    output = Path(lake.anomaly_features_prefix())
    day = START.date() + timedelta(days=10)

    def features_of_the_day() -> pd.DataFrame:
        frame = pd.read_parquet(output / f"reading_date={day}")
        return frame.sort_values(["meter_id", "hour_start_utc"]).reset_index(drop=True)

    run_features(spark, lake)
    every_date = features_of_the_day()
    assert every_date["day_kwh"].notna().all()
    run_features(spark, lake, start=day, end=day)
    pd.testing.assert_frame_equal(features_of_the_day(), every_date, rtol=1e-9)


def test_dates_after_the_readings_compute_nothing(spark, tmp_path: Path) -> None:
    # their history holds readings, the dates asked for none, and nothing
    # was computed before: no output to read back
    lake = Lake(str(tmp_path / "lake"))
    write_clean(lake, {"m1": [0.25] * (96 * 3)}, 3)
    later = START.date() + timedelta(days=20)
    report = run_features(spark, lake, start=later, end=later)
    assert report.rows == 0 and report.first_date is None


def test_an_area_with_few_peers_compares_with_the_whole_city(spark) -> None:
    # two offices in each of two areas: too few per area, so the city's four
    days = 22
    meters = {f"m{i}": [0.25] * (96 * days) for i in range(4)}
    for meter in ("m0", "m1", "m2"):  # the last day doubles, except on m3
        meters[meter][-96:] = [0.5] * 96
    sites = pd.concat(
        [
            meter_sites(["m0", "m1"], area="a1"),
            meter_sites(["m2", "m3"], area="a2"),
        ]
    )
    got = features(spark, quarter_hours(meters), sites=sites)
    last = got[got["local_date"] == got["local_date"].max()]
    last = last.groupby("meter_id").first()
    assert last["day_ratio"].tolist() == pytest.approx([2.0, 2.0, 2.0, 1.0])
    assert (last["peer_site_count"] == 4).all()
    assert last["peer_day_ratio"].tolist() == pytest.approx([2.0] * 4)


def test_utc_hour_is_the_hour_date_trunc_gives(spark, tmp_path: Path) -> None:
    # instants around midnight, a leap day and London's clock change, written
    # as dbt writes them (microseconds, no zone) and read by the job's session
    instants = [
        datetime(2024, 2, 29, 23, 59, 59, 999999),
        datetime(2024, 12, 31, 23, 45),
        datetime(2025, 1, 1, 0, 0),
        datetime(2025, 3, 30, 0, 59, 59),
        datetime(2025, 3, 30, 1, 0, 0, 1),
        datetime(1969, 12, 31, 23, 30),
    ]
    path = tmp_path / "instants.parquet"
    pq.write_table(pa.table({"at": pa.array(instants, pa.timestamp("us"))}), path)
    read = spark.read.parquet(str(path))
    # the session reads them as instants (TIMESTAMP), so the hour needs no cast
    assert dict(read.dtypes)["at"] == "timestamp"
    ntz = read.select(F.col("at").cast("timestamp_ntz").alias("at"))
    expected = [f"{instant:%Y-%m-%d %H}:00:00" for instant in instants]
    for frame in (read, ntz):
        got = frame.select(
            F.date_format(utc_hour("at"), "yyyy-MM-dd HH:mm:ss").alias("hour"),
            (utc_hour("at") == F.date_trunc("hour", "at")).alias("same"),
        ).collect()
        assert [row["hour"] for row in got] == expected
        assert all(row["same"] for row in got)
