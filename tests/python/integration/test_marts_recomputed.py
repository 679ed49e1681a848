"""An independent check of the DuckDB usage marts.

`fct_site_daily_usage` and `fct_area_daily_usage` are recomputed here from the
landed raw Parquet files with pandas alone: our own parsing of the delivered
text, our own deduplication (the latest received copy of a meter's interval
wins), our own UTC-to-local dates with zoneinfo. No SQL of the project is
used, so a mistake in a model is not repeated in its check. Every row and every
column of both marts must match.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from pipeline import mart

pytestmark = pytest.mark.slow

VALID_INTERVALS = {5, 10, 15, 30, 60}
KWH_PER_UNIT = {"kWh": 1.0, "Wh": 0.001}  # kW is a demand: kWh = kW x hours


def read_raw(lake: Path, table: str) -> pd.DataFrame:
    """Every landed row of a raw table, fields as delivered text."""
    files = sorted((lake / "raw" / table).glob("ingest_date=*/*.parquet"))
    assert files, f"nothing landed under {lake / 'raw' / table}"
    return pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)


def text(column: pd.Series) -> pd.Series:
    """Delivered text, trimmed; blank is missing."""
    stripped = column.astype(object).str.strip()
    return stripped.where(stripped != "")


def whole_number(column: pd.Series) -> pd.Series:
    """Delivered text that is a whole number, as a float; anything else is missing."""
    values = text(column)
    whole = values.str.fullmatch(r"[+-]?\d+", na=False).astype(bool)
    return pd.to_numeric(values.where(whole), errors="coerce")


def latest_registry(lake: Path, table: str, key: str) -> pd.DataFrame:
    """Each registry record as the latest landed snapshot has it."""
    raw = read_raw(lake, table)
    raw[key] = text(raw[key])
    raw = raw[raw["parse_error"].isna() & raw[key].notna()]
    raw = raw.sort_values(["received_at", "batch_id", "source_line"])
    return raw.drop_duplicates(key, keep="last").set_index(key)


def registry(lake: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(meters, sites) of the latest registry, typed."""
    meters = latest_registry(lake, "meters", "meter_id")
    meters = pd.DataFrame(
        {
            "site_id": text(meters["site_id"]),
            "meter_type": text(meters["meter_type"]).str.lower().fillna("import"),
        }
    )
    sites = latest_registry(lake, "sites", "site_id")
    sites = pd.DataFrame(
        {
            "area_id": text(sites["area_id"]),
            "site_type": text(sites["site_type"]).str.lower(),
            "floor_area_m2": pd.to_numeric(text(sites["floor_area_m2"]), "coerce"),
            "time_zone": text(sites["time_zone"]),
        }
    )
    return meters, sites


def usable_readings(lake: Path, meters: pd.DataFrame, sites: pd.DataFrame):
    """The readings the marts may use, one per meter and interval, with their site."""
    raw = read_raw(lake, "readings")
    readings = pd.DataFrame(
        {
            "meter_id": text(raw["meter_id"]),
            # ISO 8601 with Z, an offset, or none (UTC by contract)
            "start_utc": pd.to_datetime(
                text(raw["reading_start"]), utc=True, format="ISO8601", errors="coerce"
            ),
            "interval_minutes": whole_number(raw["interval_minutes"]),
            "value": pd.to_numeric(text(raw["value"]), errors="coerce"),
            "unit": text(raw["unit"]),
            "batch_id": raw["batch_id"],
            "source_line": raw["source_line"],
            "received_at": raw["received_at"],
        }
    )
    hours = readings["interval_minutes"] / 60
    per_unit = readings["unit"].map(KWH_PER_UNIT)
    readings["energy_kwh"] = np.where(
        readings["unit"] == "kW",
        readings["value"] * hours,
        readings["value"] * per_unit,
    )
    readings = readings.join(meters, on="meter_id").join(sites, on="site_id")
    usable = (
        raw["parse_error"].isna()
        & readings["meter_id"].notna()
        & readings["start_utc"].notna()
        & readings["interval_minutes"].isin(VALID_INTERVALS)
        & readings["unit"].isin(["kWh", "Wh", "kW"])
        & readings["energy_kwh"].notna()
        & readings["site_id"].notna()
        # a negative reading is an export on a net meter, a fault on any other
        & ((readings["energy_kwh"] >= 0) | (readings["meter_type"] == "net"))
        & readings["area_id"].notna()
        & readings["time_zone"].notna()
    )
    readings = readings[usable]
    # several copies of a meter's interval: the latest received one wins
    readings = readings.sort_values(["received_at", "batch_id", "source_line"])
    return readings.drop_duplicates(["meter_id", "start_utc"], keep="last")


def local_dates(readings: pd.DataFrame) -> pd.Series:
    """Each reading's calendar date in its site's time zone."""
    dates = pd.Series(index=readings.index, dtype=object)
    for zone, rows in readings.groupby("time_zone"):
        local = rows["start_utc"].dt.tz_convert(ZoneInfo(zone))
        dates[rows.index] = local.dt.date
    return dates


def recompute(lake: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(site daily, area daily) usage from the raw files."""
    meters, sites = registry(lake)
    readings = usable_readings(lake, meters, sites)
    readings["reading_date_local"] = local_dates(readings)
    readings["hour_utc"] = readings["start_utc"].dt.floor("h")

    # a meter's demand in an hour: its energy over the minutes it reported
    meter_hours = readings.groupby(
        ["site_id", "area_id", "reading_date_local", "hour_utc", "meter_id"]
    ).agg(energy_kwh=("energy_kwh", "sum"), minutes=("interval_minutes", "sum"))
    meter_hours["demand_kw"] = meter_hours["energy_kwh"] * 60 / meter_hours["minutes"]
    # meters of a site, and sites of an area, draw at the same time: demands add up
    site_hours = meter_hours.groupby(
        ["site_id", "area_id", "reading_date_local", "hour_utc"]
    )["demand_kw"].sum()
    area_hours = site_hours.groupby(["area_id", "reading_date_local", "hour_utc"]).sum()

    site_days = readings.groupby(["site_id", "reading_date_local"]).agg(
        energy_kwh=("energy_kwh", "sum"),
        hour_count=("hour_utc", "nunique"),
        interval_count=("energy_kwh", "size"),
    )
    site_days["peak_hourly_demand_kw"] = site_hours.groupby(
        ["site_id", "reading_date_local"]
    ).max()
    site_days = site_days.reset_index().join(sites, on="site_id")
    site_days["energy_kwh_per_m2"] = site_days["energy_kwh"] / site_days[
        "floor_area_m2"
    ].replace(0, np.nan)

    area_days = site_days.groupby(["area_id", "reading_date_local"]).agg(
        energy_kwh=("energy_kwh", "sum"),
        site_count=("site_id", "size"),
        floor_area_m2=("floor_area_m2", "sum"),
    )
    area_days["peak_hourly_demand_kw"] = area_hours.groupby(
        ["area_id", "reading_date_local"]
    ).max()
    area_days["hour_count"] = (
        area_hours.reset_index()
        .groupby(["area_id", "reading_date_local"])["hour_utc"]
        .nunique()
    )
    area_days["energy_kwh_per_m2"] = area_days["energy_kwh"] / area_days[
        "floor_area_m2"
    ].replace(0, np.nan)
    return site_days, area_days.reset_index()


def assert_same_rows(
    built: pd.DataFrame, recomputed: pd.DataFrame, keys: list[str], name: str
) -> None:
    """Every row and column of the mart equals the recomputed one."""
    unknown = sorted(set(built.columns) - set(recomputed.columns))
    assert not unknown, (
        f"{name}: columns {unknown} are not recomputed by this test; add them"
    )
    built = built.set_index(keys).sort_index()
    recomputed = recomputed.set_index(keys).sort_index()[built.columns]
    missing = recomputed.index.difference(built.index)
    extra = built.index.difference(recomputed.index)
    assert missing.empty and extra.empty, (
        f"{name}: rows missing from the mart {list(missing)[:5]}, "
        f"rows the recomputation does not have {list(extra)[:5]}"
    )
    for column in built.columns:
        mine, theirs = recomputed[column], built[column]
        if pd.api.types.is_float_dtype(theirs):
            close = np.isclose(
                mine.astype(float), theirs.astype(float), rtol=1e-9, atol=1e-9
            ) | (mine.isna() & theirs.isna())
        else:
            close = mine.astype(object).to_numpy() == theirs.astype(object).to_numpy()
        differing = built.index[~np.asarray(close)]
        assert differing.empty, (
            f"{name}.{column} differs on {len(differing)} rows, e.g. "
            f"{differing[0]}: mart {theirs[differing[0]]!r}, "
            f"recomputed {mine[differing[0]]!r}"
        )


@pytest.fixture(scope="module")
def recomputed(fixture_build: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return recompute(fixture_build / "lake")


def test_site_daily_usage_matches_an_independent_recomputation(
    fixture_build: Path, recomputed
) -> None:
    site_days, _ = recomputed
    built = mart(
        fixture_build / "warehouse" / "wattlake.duckdb", "fct_site_daily_usage"
    )
    assert len(built) > 0
    assert_same_rows(
        built, site_days, ["site_id", "reading_date_local"], "fct_site_daily_usage"
    )


def test_area_daily_usage_matches_an_independent_recomputation(
    fixture_build: Path, recomputed
) -> None:
    _, area_days = recomputed
    built = mart(
        fixture_build / "warehouse" / "wattlake.duckdb", "fct_area_daily_usage"
    )
    assert len(built) > 0
    assert_same_rows(
        built, area_days, ["area_id", "reading_date_local"], "fct_area_daily_usage"
    )


def test_the_recomputation_sees_the_faults_it_must_handle(
    fixture_build: Path, recomputed
) -> None:
    """The fixture lake has the cases the rules exist for, so the match means something."""
    raw = read_raw(fixture_build / "lake", "readings")
    site_days, _ = recomputed
    assert raw["parse_error"].notna().any(), "no malformed line to skip"
    assert (raw["unit"] == "Wh").any(), "no Wh reading to convert"
    copies = raw.groupby(["meter_id", "reading_start"]).size()
    assert (copies > 1).any(), "no interval delivered twice"
    assert set(site_days["hour_count"]) >= {23, 24}, "no 23-hour DST day"
