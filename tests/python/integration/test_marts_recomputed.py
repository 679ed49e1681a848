"""An independent check of the DuckDB usage marts.

`fct_site_daily_usage`, `fct_area_daily_usage` and `fct_site_monthly_usage` are
recomputed here from the landed raw Parquet files with pandas alone, following
the rules the docs state (models/_columns__docs.md, models/_concepts__docs.md,
the column descriptions, the `site_types` seed): our own parsing of the
delivered text, local wall-clock timestamps repaired on DST days, quarantine,
deduplication, local days and hours with zoneinfo. No SQL of the project is
used, so a mistake in a model is not repeated in its check. Every row and every
column of the marts must match, except `restated_at_utc` (when the run started).

Two builds are checked: the fixture lake as simulated (spring DST change,
duplicates, gaps, a malformed line, Wh readings, a local-time batch), and the
same lake after a head-end delivery written here lands late and is transformed
incrementally: the autumn DST day in local time with its repeated hour, readings
no site can draw (`out_of_range`), a negative reading of an import meter,
corrections of earlier days, and one reading for each other quarantine reason.
"""

from __future__ import annotations

import calendar
import csv
import gzip
import json
import shutil
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from pipeline import PROJECT_DIR, mart, run_cli

pytestmark = pytest.mark.slow

VALID_INTERVALS = {5, 10, 15, 30, 60}
UNITS = ("kWh", "Wh", "kW")
# the head-end writes a UTC offset as Z, +HH:MM or +HHMM
HAS_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
NIGHT_HOURS = (1, 2, 3, 4)  # local 01:00-05:00
NOT_COMPARED = {
    "restated_at_utc": "when the dbt run that wrote the row started: not a result"
}


# ---------------------------------------------------------------- raw input


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


def site_types() -> pd.DataFrame:
    """The `site_types` seed: plausibility limit and opening hours per type."""
    seed = pd.read_csv(PROJECT_DIR / "seeds" / "site_types.csv").set_index("site_type")
    return seed[
        [
            "max_plausible_w_per_m2",
            "opens_at_hour",
            "closes_at_hour",
            "opens_on_weekends",
        ]
    ]


def registry(lake: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(meters, sites) of the latest registry, typed; sites carry their type's seed row."""
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
    sites = sites.join(site_types(), on="site_type")
    # the highest average demand a site of its type can draw
    sites["max_plausible_kw"] = (
        sites["floor_area_m2"] * sites["max_plausible_w_per_m2"] / 1000
    )
    return meters, sites


# ---------------------------------------------------------------- local time


@cache
def day_minutes(zone: str, day: date) -> int:
    """Length of a local calendar day in minutes (1380 or 1500 when the clocks change)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return int((end.astimezone(UTC) - start).total_seconds() // 60)


def local_wall_clock(instants: pd.Series, zones: pd.Series) -> pd.Series:
    """UTC instants as naive local wall-clock times in each row's zone."""
    local = pd.Series(pd.NaT, index=instants.index, dtype="datetime64[ns]")
    for zone, rows in instants.groupby(zones):
        converted = rows.dt.tz_convert(ZoneInfo(zone)).dt.tz_localize(None)
        local[rows.index] = converted.astype("datetime64[ns]")
    return local


def repair_local_time(readings: pd.DataFrame) -> pd.Series:
    """Which readings were written in local wall-clock time, moved to UTC in place.

    A timestamp without UTC offset is UTC by contract, except on a day the
    clocks change in the site's zone: there the head-end wrote local time. In
    the autumn the repeated local hour is told apart by line order: a meter's
    first copy of a label in a batch is the earlier instant, later copies the
    later one.
    """
    candidates = (
        ~readings["has_offset"]
        & readings["start_utc"].notna()
        & readings["time_zone"].notna()
    )
    labels = readings.loc[candidates, "start_utc"].dt.tz_localize(None)
    zones = readings.loc[candidates, "time_zone"]
    change_day = pd.Series(
        [
            day_minutes(zone, label.date()) != 24 * 60
            for zone, label in zip(zones, labels, strict=True)
        ],
        index=labels.index,
        dtype=bool,
    )
    shifted = readings.loc[change_day[change_day].index].sort_values("source_line")
    copy_number = shifted.groupby(["batch_id", "meter_id", "start_utc"]).cumcount()
    repaired = [
        pd.Timestamp(
            label.to_pydatetime()
            .replace(tzinfo=ZoneInfo(zone), fold=min(copy, 1))
            .astimezone(UTC)
        )
        for label, zone, copy in zip(
            shifted["start_utc"].dt.tz_localize(None),
            shifted["time_zone"],
            copy_number,
            strict=True,
        )
    ]
    readings.loc[shifted.index, "start_utc"] = pd.Series(
        repaired, index=shifted.index, dtype=readings["start_utc"].dtype
    )
    return readings.index.isin(shifted.index)


# ---------------------------------------------------------------- readings


def typed_readings(lake: Path, meters: pd.DataFrame, sites: pd.DataFrame):
    """Every landed reading, typed, with its meter's site and the site's type."""
    raw = read_raw(lake, "readings")
    delivered_start = text(raw["reading_start"])
    readings = pd.DataFrame(
        {
            "meter_id": text(raw["meter_id"]),
            # ISO 8601 with Z, an offset, or none (UTC by contract)
            "start_utc": pd.to_datetime(
                delivered_start, utc=True, format="ISO8601", errors="coerce"
            ),
            "has_offset": delivered_start.str.contains(HAS_OFFSET, na=False).astype(
                bool
            ),
            "interval_minutes": whole_number(raw["interval_minutes"]),
            "value": pd.to_numeric(text(raw["value"]), errors="coerce"),
            "unit": text(raw["unit"]),
            "parse_error": raw["parse_error"],
            "batch_id": raw["batch_id"],
            "source_line": raw["source_line"],
            "received_at": raw["received_at"],
        }
    )
    # kWh per interval: Wh / 1000; kW is an average demand, so x hours
    readings["energy_kwh"] = readings["value"] * readings["unit"].map(
        {"kWh": 1.0, "Wh": 0.001}
    )
    is_kw = readings["unit"] == "kW"
    readings.loc[is_kw, "energy_kwh"] = (
        readings["value"] * readings["interval_minutes"] / 60
    )[is_kw]
    readings["registered"] = readings["meter_id"].isin(meters.index)
    readings = readings.join(meters, on="meter_id")
    readings["site_known"] = readings["site_id"].isin(sites.index)
    return readings.join(sites, on="site_id")


def quarantined(readings: pd.DataFrame) -> pd.Series:
    """Readings that cannot be used, whatever the reason (quarantine_reason doc)."""
    demand_kw = readings["energy_kwh"] * 60 / readings["interval_minutes"]
    return ~(
        readings["parse_error"].isna()
        & readings["meter_id"].notna()
        & readings["start_utc"].notna()
        & readings["interval_minutes"].isin(VALID_INTERVALS)
        & readings["unit"].isin(UNITS)
        & readings["energy_kwh"].notna()
        & readings["registered"]
        # a negative reading is an export on a net meter, a fault on any other
        & ((readings["energy_kwh"] >= 0) | (readings["meter_type"] == "net"))
        & readings["site_known"]
        & readings["time_zone"].notna()
        # no site of its type can draw this (no limit: no check)
        & ~(demand_kw.abs() > readings["max_plausible_kw"])
    )


def clean_readings(lake: Path, meters: pd.DataFrame, sites: pd.DataFrame):
    """The readings the marts may use, one per meter and interval, and counts of each rule."""
    readings = typed_readings(lake, meters, sites)
    shifted = repair_local_time(readings)
    bad = quarantined(readings)
    demand_kw = readings["energy_kwh"] * 60 / readings["interval_minutes"]
    rules = {
        "dst_shifted": int((shifted & ~bad).sum()),
        "out_of_range": int(
            (bad & (demand_kw.abs() > readings["max_plausible_kw"])).sum()
        ),
        "quarantined": int(bad.sum()),
    }
    usable = readings[~bad]
    # copies of a meter's interval: the latest received wins, then the higher
    # batch id, then the later line
    usable = usable.sort_values(["received_at", "batch_id", "source_line"])
    clean = usable.drop_duplicates(["meter_id", "start_utc"], keep="last").copy()
    rules["duplicates"] = len(usable) - len(clean)
    return clean, rules


# ---------------------------------------------------------------- marts


def site_hours(readings: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """One row per site, UTC clock hour and local date, with its local hour."""
    readings["reading_date_local"] = local_wall_clock(
        readings["start_utc"], readings["time_zone"]
    ).dt.date
    readings["hour_start_utc"] = readings["start_utc"].dt.floor("h")
    hour_keys = ["site_id", "hour_start_utc", "reading_date_local"]
    meter_hours = readings.groupby([*hour_keys, "meter_id"]).agg(
        energy_kwh=("energy_kwh", "sum"),
        minutes_reported=("interval_minutes", "sum"),
        interval_count=("energy_kwh", "size"),
    )
    # a meter's demand over the minutes it reported; meters of a site draw at once
    meter_hours["demand_kw"] = (
        meter_hours["energy_kwh"] * 60 / meter_hours["minutes_reported"]
    )
    hours = meter_hours.groupby(hour_keys).agg(
        energy_kwh=("energy_kwh", "sum"),
        demand_kw=("demand_kw", "sum"),
        minutes_reported=("minutes_reported", "sum"),
        interval_count=("interval_count", "sum"),
        meter_count=("demand_kw", "size"),
    )
    hours = hours.reset_index().join(sites, on="site_id")
    hours["hour_start_local"] = local_wall_clock(
        hours["hour_start_utc"], hours["time_zone"]
    )
    hour_of_day = hours["hour_start_local"].dt.hour
    weekend = pd.to_datetime(hours["reading_date_local"]).dt.dayofweek >= 5
    has_hours = hours["opens_at_hour"].notna()
    hours["is_after_hours"] = has_hours & (
        (weekend & ~hours["opens_on_weekends"].eq(True))
        | (hour_of_day < hours["opens_at_hour"])
        | (hour_of_day >= hours["closes_at_hour"])
    )
    hours["is_night"] = hour_of_day.isin(NIGHT_HOURS)
    hours["has_opening_hours"] = has_hours
    return hours


def peak_hours(hours: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group: the highest hourly demand and the local start of the first such hour."""
    ordered = hours.sort_values("hour_start_utc", kind="stable")
    top = ordered.loc[ordered.groupby(keys)["demand_kw"].idxmax()]
    return top.set_index(keys)[["demand_kw", "hour_start_local"]].rename(
        columns={
            "demand_kw": "peak_hourly_demand_kw",
            "hour_start_local": "peak_hour_start_local",
        }
    )


def first_of_month(days: pd.Series) -> pd.Series:
    return days.map(lambda day: day.replace(day=1))


def site_daily(hours: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """fct_site_daily_usage, from the site hours."""
    keys = ["site_id", "reading_date_local"]
    hours = hours.assign(
        after_hours_kwh=hours["energy_kwh"].where(hours["is_after_hours"], 0.0),
        night_kw=hours["demand_kw"].where(hours["is_night"]),
    )
    days = hours.groupby(keys).agg(
        energy_kwh=("energy_kwh", "sum"),
        night_base_load_kw=("night_kw", "mean"),
        after_hours_energy_kwh=("after_hours_kwh", "sum"),
        has_opening_hours=("has_opening_hours", "first"),
        hour_count=("energy_kwh", "size"),
        interval_count=("interval_count", "sum"),
        minutes_reported=("minutes_reported", "sum"),
        meters_at_once=("meter_count", "max"),
    )
    days = days.join(peak_hours(hours, keys)).reset_index().join(sites, on="site_id")
    days["after_hours_energy_kwh"] = days["after_hours_energy_kwh"].where(
        days["has_opening_hours"]
    )
    minutes_in_day = pd.Series(
        [
            day_minutes(zone, day)
            for zone, day in zip(
                days["time_zone"], days["reading_date_local"], strict=True
            )
        ],
        index=days.index,
    )
    days["hours_in_day"] = minutes_in_day // 60
    # average demand over the whole local day, over the peak
    days["load_factor"] = (
        days["energy_kwh"]
        / (minutes_in_day / 60)
        / days["peak_hourly_demand_kw"].replace(0, np.nan)
    )
    days["energy_kwh_per_m2"] = days["energy_kwh"] / days["floor_area_m2"].replace(
        0, np.nan
    )
    days["coverage_pct"] = (
        100 * days["minutes_reported"] / (minutes_in_day * days["meters_at_once"])
    )
    days["reading_month_local"] = first_of_month(days["reading_date_local"])
    return days


def area_daily(
    site_days: pd.DataFrame, hours: pd.DataFrame, sites: pd.DataFrame
) -> pd.DataFrame:
    """fct_area_daily_usage: sites draw at the same time, so hourly demands add up."""
    keys = ["area_id", "reading_date_local"]
    area_hours = hours.groupby([*keys, "hour_start_utc"]).agg(
        demand_kw=("demand_kw", "sum"), hour_start_local=("hour_start_local", "min")
    )
    days = site_days.groupby(keys).agg(
        energy_kwh=("energy_kwh", "sum"),
        night_base_load_kw=("night_base_load_kw", lambda kw: kw.sum(min_count=1)),
        after_hours_energy_kwh=(
            "after_hours_energy_kwh",
            lambda kwh: kwh.sum(min_count=1),
        ),
        floor_area_m2=("floor_area_m2", "sum"),
        site_count=("site_id", "size"),
        hours_in_day=("hours_in_day", "max"),
        coverage_pct=("coverage_pct", "mean"),
        reading_month_local=("reading_month_local", "first"),
    )
    days = days.join(peak_hours(area_hours.reset_index(), keys)).reset_index()
    days["load_factor"] = (
        days["energy_kwh"]
        / days["hours_in_day"]
        / days["peak_hourly_demand_kw"].replace(0, np.nan)
    )
    days["energy_kwh_per_m2"] = days["energy_kwh"] / days["floor_area_m2"].replace(
        0, np.nan
    )
    return days


def site_monthly(site_days: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """fct_site_monthly_usage, from the site days."""
    keys = ["site_id", "reading_month_local"]
    ordered = site_days.sort_values("reading_date_local", kind="stable")
    peak_days = ordered.loc[
        ordered.groupby(keys)["peak_hourly_demand_kw"].idxmax()
    ].set_index(keys)
    months = site_days.groupby(keys).agg(
        energy_kwh=("energy_kwh", "sum"),
        peak_hourly_demand_kw=("peak_hourly_demand_kw", "max"),
        night_base_load_kw=("night_base_load_kw", "mean"),
        after_hours_energy_kwh=(
            "after_hours_energy_kwh",
            lambda kwh: kwh.sum(min_count=1),
        ),
        day_count=("reading_date_local", "size"),
        minutes_reported=("minutes_reported", "sum"),
        meters_at_once=("meters_at_once", "max"),
    )
    months["peak_hour_start_local"] = peak_days["peak_hour_start_local"]
    months = months.reset_index().join(sites, on="site_id")
    months["days_in_month"] = [
        calendar.monthrange(month.year, month.month)[1]
        for month in months["reading_month_local"]
    ]
    minutes_in_month = pd.Series(
        [
            sum(
                day_minutes(zone, month + timedelta(days=offset))
                for offset in range(days)
            )
            for zone, month, days in zip(
                months["time_zone"],
                months["reading_month_local"],
                months["days_in_month"],
                strict=True,
            )
        ],
        index=months.index,
    )
    months["minutes_in_month"] = minutes_in_month
    months["energy_kwh_per_m2"] = months["energy_kwh"] / months[
        "floor_area_m2"
    ].replace(0, np.nan)
    # load factor and coverage: over the month's local hours, missing days included
    months["load_factor"] = (
        months["energy_kwh"]
        / (minutes_in_month / 60)
        / months["peak_hourly_demand_kw"].replace(0, np.nan)
    )
    months["coverage_pct"] = (
        100 * months["minutes_reported"] / (minutes_in_month * months["meters_at_once"])
    )
    return months


SITE_DAILY_COLUMNS = [
    "site_id",
    "area_id",
    "site_type",
    "reading_date_local",
    "energy_kwh",
    "peak_hourly_demand_kw",
    "peak_hour_start_local",
    "load_factor",
    "night_base_load_kw",
    "after_hours_energy_kwh",
    "energy_kwh_per_m2",
    "hour_count",
    "hours_in_day",
    "interval_count",
    "minutes_reported",
    "coverage_pct",
    "reading_month_local",
]
AREA_DAILY_COLUMNS = [
    "area_id",
    "reading_date_local",
    "energy_kwh",
    "peak_hourly_demand_kw",
    "peak_hour_start_local",
    "load_factor",
    "night_base_load_kw",
    "after_hours_energy_kwh",
    "energy_kwh_per_m2",
    "site_count",
    "hours_in_day",
    "coverage_pct",
    "reading_month_local",
]


def recompute(lake: Path) -> dict[str, pd.DataFrame | dict[str, int]]:
    """The usage marts recomputed from the raw files, and how often each rule applied."""
    meters, sites = registry(lake)
    readings, rules = clean_readings(lake, meters, sites)
    hours = site_hours(readings, sites)
    site_days = site_daily(hours, sites)
    return {
        "fct_site_daily_usage": site_days[SITE_DAILY_COLUMNS],
        "fct_area_daily_usage": area_daily(site_days, hours, sites)[AREA_DAILY_COLUMNS],
        "fct_site_monthly_usage": site_monthly(site_days, sites),
        "rules": rules,
    }


# ---------------------------------------------------------------- comparison


def assert_same_rows(
    built: pd.DataFrame,
    recomputed: pd.DataFrame,
    keys: list[str],
    name: str,
    not_compared: dict[str, str],
) -> None:
    """Every row and every column of the mart, except those named, equals the recomputed one."""
    compared = [column for column in built.columns if column not in not_compared]
    assert set(not_compared) <= set(built.columns), (
        f"{name}: no column {sorted(set(not_compared) - set(built.columns))} to leave out"
    )
    unknown = sorted(set(compared) - set(recomputed.columns))
    assert not unknown, (
        f"{name}: columns {unknown} are not recomputed by this test; add them"
    )
    built = built.set_index(keys).sort_index()
    recomputed = recomputed.set_index(keys).sort_index()
    assert built.index.is_unique and recomputed.index.is_unique
    missing = recomputed.index.difference(built.index)
    extra = built.index.difference(recomputed.index)
    assert missing.empty and extra.empty, (
        f"{name}: rows missing from the mart {list(missing)[:5]}, "
        f"rows the recomputation does not have {list(extra)[:5]}"
    )
    recomputed = recomputed.loc[built.index]
    for column in [column for column in compared if column not in keys]:
        mine, theirs = recomputed[column], built[column]
        if pd.api.types.is_float_dtype(theirs):
            close = np.isclose(
                mine.astype(float), theirs.astype(float), rtol=1e-9, atol=1e-9
            ) | (mine.isna().to_numpy() & theirs.isna().to_numpy())
        else:
            close = (
                mine.astype(object).to_numpy() == theirs.astype(object).to_numpy()
            ) | (mine.isna().to_numpy() & theirs.isna().to_numpy())
        differing = built.index[~np.asarray(close)]
        assert differing.empty, (
            f"{name}.{column} differs on {len(differing)} rows, e.g. "
            f"{differing[0]}: mart {theirs[differing[0]]!r}, "
            f"recomputed {mine[differing[0]]!r}"
        )


# ---------------------------------------------------------------- a late head-end delivery

FAULTS_BATCH = "readings_headend_faults_20251027"
LONDON = ZoneInfo("Europe/London")


def local_label(day: date, minutes: int) -> str:
    """Local wall-clock text without offset, `minutes` after local midnight."""
    return (datetime.combine(day, time()) + timedelta(minutes=minutes)).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )


def headend_faults() -> list[dict[str, str]]:
    """A head-end delivery with the faults the rules exist for (fixture registry ids).

    Europe/London ends summer time on Sunday 2025-10-26 at 02:00 BST: 01:00-02:00
    happens twice. SITE-000001 and SITE-000002 are homes in one area (downtown,
    154.8 and 61.3 m2: at most 154.8 and 61.3 kW at 1000 W/m2).
    """
    rows: list[dict[str, str]] = []

    def reading(meter, start, value, unit="kWh", interval="15", code="A"):
        rows.append(
            {
                "meter_id": meter,
                "reading_start": start,
                "interval_minutes": interval,
                "value": value,
                "unit": unit,
                "quality_code": code,
            }
        )

    autumn = date(2025, 10, 26)
    # SITE-000001 writes local wall-clock time all day: 00:00-00:45, 01:00-01:45
    # BST, 01:00-01:45 GMT (the same labels again), then 02:00-23:45 GMT. The
    # first copy of the repeated hour draws 4 kW, the second 1 kW.
    for minutes in range(0, 24 * 60, 15):
        label = local_label(autumn, minutes)
        if 60 <= minutes < 120:
            reading("MTR-000001-1", label, "1.0")
        else:
            reading("MTR-000001-1", label, "0.1")
    for minutes in range(60, 120, 15):
        reading("MTR-000001-1", local_label(autumn, minutes), "0.25")
    # SITE-000002 states offsets (UTC by contract): its own day 00:00 BST
    # (23:00 UTC on the 25th) to 23:45 GMT, 1 kW in 00:00-01:00 UTC and 3.5 kW in
    # 01:00-02:00 UTC. With SITE-000001 the area draws 5 kW then 4.5 kW (peak
    # 01:00 local); with the repeated hour swapped, 2 kW then 7.5 kW.
    start = datetime(2025, 10, 25, 23, tzinfo=UTC)
    for step in range(25 * 4):
        instant = start + timedelta(minutes=15 * step)
        if step % 3 == 0:
            stamp = instant.astimezone(LONDON).isoformat()  # +01:00 / +00:00
        else:
            stamp = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
        if instant.hour == 0:
            value = "0.25"
        elif instant.hour == 1:
            value = "0.875"
        elif instant == datetime(2025, 10, 26, 3, 15, tzinfo=UTC):
            continue  # a gap at night: the hour's demand is over its 45 minutes
        else:
            value = "0.1"
        reading("MTR-000002-1", stamp, value)
    # Saturday 2025-10-25 is not a change day: text without offset is UTC, even
    # from a head-end that writes local time on change days (12:00 UTC, 13:00 BST)
    for minutes in range(12 * 60, 13 * 60, 15):
        reading("MTR-000001-1", local_label(date(2025, 10, 25), minutes), "2.0")
    # Monday 2025-10-27, SITE-000002: out_of_range is 80 kW at a 61.3 kW home,
    # sent as a later copy of an interval (it would win as the later line if it
    # were kept); 60 kW is plausible. In kW: 70 kW is out of range, 50 kW (12.5
    # kWh in 15 minutes) is not.
    for step in range(12):
        instant = datetime(2025, 10, 27, 12, tzinfo=UTC) + timedelta(minutes=15 * step)
        reading("MTR-000002-1", instant.strftime("%Y-%m-%dT%H:%M:%SZ"), "0.1")
    reading("MTR-000002-1", "2025-10-27T12:00:00Z", "20.0")
    reading("MTR-000002-1", "2025-10-27T13:00:00Z", "15.0")
    reading("MTR-000002-1", "2025-10-27T14:00:00Z", "70", unit="kW")
    reading("MTR-000002-1", "2025-10-27T14:15:00Z", "50", unit="kW")
    # a negative reading on an import meter: a fault, the earlier copy stands
    reading("MTR-000001-1", "2025-10-26T15:00:00Z", "-0.5")
    # late corrections of the fixture's days: a Wh value sent as kWh (x1000:
    # 4000 kW at a 48.2 m2 home) is quarantined, a plausible one replaces
    # the reading it corrects
    reading("MTR-000004-1", "2025-03-31T10:00:00Z", "1000.0")
    reading("MTR-000004-1", "2025-03-31T11:00:00Z", "0.5")
    reading("MTR-000010-1", "2025-04-01T19:00:00Z", "500", unit="Wh")
    # one reading for each other reason
    reading("MTR-999999-1", "2025-10-26T12:00:00Z", "0.1")  # unknown meter
    reading("MTR-000002-1", "2025-10-26T16:00:00Z", "0.1", interval="7")
    reading("MTR-000002-1", "2025-10-26T16:00:00Z", "0.1", unit="MWh")
    reading("MTR-000002-1", "2025-10-26T16:00:00Z", "n/a")
    reading("MTR-000002-1", "26/10/2025 16:00Z", "0.1")
    reading("", "2025-10-26T16:00:00Z", "0.1")
    return rows


def deliver_csv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# ---------------------------------------------------------------- fixtures and tests


@pytest.fixture(scope="module")
def faults_build(fixture_build: Path, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the fixture build after the head-end's faulty delivery landed late."""
    tmp = tmp_path_factory.mktemp("faults-build")
    shutil.copytree(fixture_build / "lake", tmp / "lake")
    shutil.copytree(fixture_build / "warehouse", tmp / "warehouse")
    # the copied warehouse belongs to the copied lake (else transform rebuilds it)
    marker = tmp / "warehouse" / "wattlake.duckdb.lake.json"
    assert marker.exists(), "transform no longer records the lake it built from"
    recorded = json.loads(marker.read_text())
    marker.write_text(json.dumps({**recorded, "lake": str(tmp / "lake")}) + "\n")
    deliver_csv(
        tmp / "lake" / "landing" / "metering" / f"{FAULTS_BATCH}.csv.gz",
        headend_faults(),
    )
    run_cli(["land"], tmp)
    transformed = run_cli(["transform"], tmp)
    assert "--full-refresh" not in transformed.stderr, "expected an incremental run"
    return tmp


@pytest.fixture(scope="module", params=["fixture", "faults"])
def build(request, fixture_build: Path, faults_build: Path):
    """(folder of a build, its marts recomputed from its raw files)."""
    folder = fixture_build if request.param == "fixture" else faults_build
    return folder, recompute(folder / "lake")


def built_mart(folder: Path, name: str) -> pd.DataFrame:
    frame = mart(folder / "warehouse" / "wattlake.duckdb", name)
    assert len(frame) > 0, f"{name} is empty"
    return frame


def test_site_daily_usage_matches_an_independent_recomputation(build) -> None:
    folder, recomputed = build
    assert_same_rows(
        built_mart(folder, "fct_site_daily_usage"),
        recomputed["fct_site_daily_usage"],
        ["site_id", "reading_date_local"],
        "fct_site_daily_usage",
        NOT_COMPARED,
    )


def test_area_daily_usage_matches_an_independent_recomputation(build) -> None:
    folder, recomputed = build
    assert_same_rows(
        built_mart(folder, "fct_area_daily_usage"),
        recomputed["fct_area_daily_usage"],
        ["area_id", "reading_date_local"],
        "fct_area_daily_usage",
        NOT_COMPARED,
    )


def test_site_monthly_usage_matches_an_independent_recomputation(build) -> None:
    """Load factor and coverage are over the month's local hours (743 in a March
    with the spring change, 745 in an October), as the docs say."""
    folder, recomputed = build
    months = recomputed["fct_site_monthly_usage"]
    assert_same_rows(
        built_mart(folder, "fct_site_monthly_usage"),
        months,
        ["site_id", "reading_month_local"],
        "fct_site_monthly_usage",
        NOT_COMPARED,
    )


def test_the_recomputation_sees_the_cases_the_rules_exist_for(build) -> None:
    """The lakes hold the cases the rules are for, so a match means something."""
    folder, recomputed = build
    raw = read_raw(folder / "lake", "readings")
    rules = recomputed["rules"]
    days = recomputed["fct_site_daily_usage"]
    assert raw["parse_error"].notna().any(), "no malformed line to skip"
    assert (raw["unit"] == "Wh").any(), "no Wh reading to convert"
    assert rules["duplicates"] > 0, "no interval delivered twice"
    assert rules["dst_shifted"] > 0, "no local-time reading to repair"
    assert 23 in set(days["hours_in_day"]), "no 23-hour DST day"
    assert (days["after_hours_energy_kwh"] > 0).any(), "no after-hours energy"
    assert days["after_hours_energy_kwh"].isna().any(), "no site without hours"
    if folder.name.startswith("faults-build"):
        assert 25 in set(days["hours_in_day"]), "no 25-hour DST day"
        assert rules["out_of_range"] >= 3, "no reading out of range"
