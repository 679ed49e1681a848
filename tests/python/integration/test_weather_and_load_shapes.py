"""Calendar, weather and load-shape marts checked against Python on the fixture
lake, and a lake without any weather (a London export) that still builds."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import holidays
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pipeline import run_cli

from wattlake.ingestion.simulate import default_city

pytestmark = [pytest.mark.slow]
ZONE = ZoneInfo("Europe/London")
SEASONS = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring"}
SEASONS |= {5: "spring", 6: "summer", 7: "summer", 8: "summer"}
SEASONS |= {9: "autumn", 10: "autumn", 11: "autumn"}


def table(tmp: Path, name: str) -> pd.DataFrame:
    """A model of the test's warehouse (table or view)."""
    warehouse = tmp / "warehouse" / "wattlake.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(f"select * from main.{name}").df()


@pytest.fixture(scope="module")
def built(fixture_build: Path) -> Path:
    """The fixture lake and warehouse the integration tests share (conftest.py)."""
    return fixture_build


def test_dim_date_agrees_with_python_and_the_holidays_package(
    built: Path, project_dir: Path
) -> None:
    dim = table(built, "dim_date").sort_values("date_day").reset_index(drop=True)
    days = [d.date() for d in pd.to_datetime(dim["date_day"])]
    assert days[0] == date(2010, 1, 1) and days[-1] == date(2035, 12, 31)
    assert len(days) == (days[-1] - days[0]).days + 1 == len(set(days))
    city = default_city(project_dir)
    public = holidays.country_holidays(
        city.country, subdiv=city.subdivision, years=range(2010, 2036), language="en_GB"
    )
    for day, row in zip(days, dim.itertuples(), strict=True):
        iso = day.isocalendar()
        assert (row.iso_year, row.iso_week_of_year, row.iso_weekday) == tuple(iso)
        assert row.weekday_name == calendar.day_name[day.weekday()]
        assert row.month_name == calendar.month_name[day.month]
        assert (row.calendar_year, row.month_of_year, row.day_of_month) == (
            day.year,
            day.month,
            day.day,
        )
        assert row.quarter_of_year == (day.month - 1) // 3 + 1
        assert row.day_of_year == day.timetuple().tm_yday
        assert row.month_start_date == pd.Timestamp(day.replace(day=1))
        assert row.meteorological_season == SEASONS[day.month]
        assert row.is_weekend == (day.weekday() >= 5)
        assert row.is_public_holiday == (day in public)
        assert (row.public_holiday_name if row.is_public_holiday else None) == (
            public.get(day)
        )
        assert row.is_working_day == (day.weekday() < 5 and day not in public)


def test_degree_days_follow_the_landed_hourly_temperatures(built: Path) -> None:
    raw = pq.read_table(built / "lake" / "raw" / "weather").to_pandas()
    hours = pd.to_datetime(raw["observed_at"], utc=True).dt.floor("h")
    hourly = (
        raw.assign(hour=hours, temperature=raw["air_temperature_c"].astype(float))
        .groupby(["area_id", "hour"])["temperature"]
        .mean()
        .reset_index()
    )
    hourly["day"] = hourly["hour"].dt.tz_convert(ZONE).dt.date
    hourly["heating"] = (15.5 - hourly["temperature"]).clip(lower=0)
    hourly["cooling"] = (hourly["temperature"] - 22.0).clip(lower=0)
    daily = hourly.groupby(["area_id", "day"]).agg(
        heating=("heating", "mean"), cooling=("cooling", "mean"), hours=("hour", "size")
    )

    def day_hours(day: date) -> int:
        start = datetime(day.year, day.month, day.day, tzinfo=ZONE)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), ZONE)
        # aware datetimes in one zone subtract as wall clocks: compare in UTC
        elapsed = end.astimezone(UTC) - start.astimezone(UTC)
        return int(elapsed.total_seconds() // 3600)

    lengths = np.array([day_hours(day) for _, day in daily.index])
    mart = table(built, "fct_area_daily_degree_days")
    mart["day"] = pd.to_datetime(mart["reading_date_local"]).dt.date
    mart = mart.set_index(["area_id", "day"])
    assert sorted(mart.index) == sorted(daily.index)
    mart = mart.loc[daily.index]
    assert mart["hours_in_day"].to_numpy() == pytest.approx(lengths)
    assert mart["hour_count"].to_numpy() == pytest.approx(daily["hours"].to_numpy())
    assert mart["heating_degree_days"].to_numpy() == pytest.approx(
        daily["heating"].to_numpy() * lengths / 24
    )
    assert mart["cooling_degree_days"].to_numpy() == pytest.approx(
        daily["cooling"].to_numpy() * lengths / 24
    )
    # the spring DST day of the fixture has 23 hours, and all of them have weather
    spring = mart.xs(date(2025, 3, 30), level=1)
    assert set(spring["hours_in_day"]) == {23} and spring["is_complete_day"].all()
    assert (mart["heating_degree_days"] > 0).all()  # late March in London


def test_weekday_profile_averages_each_area_hour_over_the_hours_that_exist(
    built: Path,
) -> None:
    hourly = table(built, "int_readings_rolled_up_to_hour")
    area_hours = (
        hourly.groupby(["area_id", "hour_start_utc", "hour_start_local"])
        .agg(kw=("energy_kwh", "sum"), sites=("site_id", "nunique"))
        .reset_index()
    )
    local = pd.to_datetime(area_hours["hour_start_local"])
    area_hours["weekday"] = local.dt.isocalendar().day.astype(int)
    area_hours["local_hour"] = local.dt.hour
    area_hours["per_site"] = area_hours["kw"] / area_hours["sites"]
    expected = area_hours.groupby(["area_id", "weekday", "local_hour"]).agg(
        avg=("kw", "mean"),
        per_site=("per_site", "mean"),
        peak=("kw", "max"),
        hours=("kw", "size"),
    )
    mart = table(built, "fct_area_load_profile_weekday_hour").set_index(
        ["area_id", "iso_weekday_local", "hour_of_day_local"]
    )
    assert sorted(mart.index) == sorted(expected.index)
    mart = mart.loc[expected.index]
    assert mart["avg_demand_kw"].to_numpy() == pytest.approx(expected["avg"])
    assert mart["avg_demand_kw_per_site"].to_numpy() == pytest.approx(
        expected["per_site"]
    )
    assert mart["peak_hourly_demand_kw"].to_numpy() == pytest.approx(expected["peak"])
    assert (mart["hour_count"].to_numpy() == expected["hours"].to_numpy()).all()
    # the fixture's only Sunday is 2025-03-30: local 01:00 never happened
    sunday = {(area, hour) for area, day, hour in mart.index if day == 7}
    assert {hour for _, hour in sunday} == set(range(24)) - {1}


def test_month_comparison_adds_up_the_daily_mart(built: Path) -> None:
    daily = table(built, "fct_site_daily_usage")
    month = pd.to_datetime(daily["reading_date_local"]).dt.to_period("M")
    totals = daily.assign(month=month).groupby(["site_type", "month"])["energy_kwh"]
    totals = totals.sum()
    mart = table(built, "fct_site_type_monthly_usage_comparison")
    mart["month"] = pd.to_datetime(mart["reading_month_local"]).dt.to_period("M")
    mart = mart.set_index(["site_type", "month"]).sort_index()
    assert mart["energy_kwh"].to_dict() == pytest.approx(totals.to_dict())
    # the fixture runs from March into April 2025: April compares with March
    april = mart.xs(pd.Period("2025-04", "M"), level=1)
    march = mart.xs(pd.Period("2025-03", "M"), level=1)
    assert april["previous_month_energy_kwh"].to_dict() == pytest.approx(
        march["energy_kwh"].to_dict()
    )
    assert march["previous_month_energy_kwh"].isna().all()
    assert mart["same_month_last_year_energy_kwh"].isna().all()
    change = 100 * (april["energy_kwh"] - march["energy_kwh"]) / march["energy_kwh"]
    assert april["change_from_previous_month_pct"].to_dict() == pytest.approx(
        change.to_dict()
    )


def test_weather_sensitivity_matches_numpy_least_squares(built: Path) -> None:
    daily = table(built, "fct_site_daily_usage")
    degree_days = table(built, "fct_area_daily_degree_days")
    days = daily.merge(degree_days, on=["area_id", "reading_date_local"])
    days = days[
        days["is_complete_day"] & (days["hour_count_x"] == days["hours_in_day_x"])
    ]
    mart = table(built, "fct_site_weather_sensitivity").set_index("site_id")
    assert len(mart) == len(table(built, "dim_sites"))
    # late March: no cooling degree-days, so the fits use heating alone
    assert set(mart["fitted_terms"]) == {"hdd"}
    for site_id, site_days in days.groupby("site_id"):
        slope, intercept = np.polyfit(
            site_days["heating_degree_days"], site_days["energy_kwh"], 1
        )
        fitted = intercept + slope * site_days["heating_degree_days"]
        residual = ((site_days["energy_kwh"] - fitted) ** 2).sum()
        total = ((site_days["energy_kwh"] - site_days["energy_kwh"].mean()) ** 2).sum()
        row = mart.loc[site_id]
        assert row["day_count"] == len(site_days)
        assert row["heating_kwh_per_degree_day"] == pytest.approx(slope, rel=1e-6)
        assert row["base_load_kwh_per_day"] == pytest.approx(intercept, rel=1e-6)
        assert row["r_squared"] == pytest.approx(1 - residual / total, abs=1e-9)
        assert pd.isna(row["cooling_kwh_per_degree_day"])


@pytest.fixture(scope="module")
def without_weather(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Two London households over three days: an export with no weather at all."""
    tmp = tmp_path_factory.mktemp("no-weather")
    start = datetime(2013, 3, 30)
    lines = ["LCLid,tstp,energy(kWh/hh)"]
    for household, kwh in (("MAC000002", 0.25), ("MAC000003", 0.5)):
        for step in range(3 * 48):
            stamp = start + timedelta(minutes=30 * step)
            lines.append(f"{household},{stamp:%Y-%m-%d %H:%M:%S}, {kwh} ")
    export = tmp / "london_lcl_sample.csv"
    export.write_text("\n".join(lines) + "\n")
    run_cli(["import", str(export), "--mapping", "london_lcl"], tmp)
    transformed = run_cli(["transform"], tmp)
    return tmp, transformed.stdout + transformed.stderr


def test_a_lake_without_weather_builds_with_empty_weather_marts(
    without_weather: tuple[Path, str],
) -> None:
    tmp, log = without_weather
    assert not list((tmp / "lake" / "raw").glob("weather/*/*.parquet"))
    assert "weather.weather: nothing landed under" in log
    for model in (
        "stg_weather__observations",
        "fct_area_hourly_weather",
        "fct_area_daily_degree_days",
    ):
        assert table(tmp, model).empty, model
    sensitivity = table(tmp, "fct_site_weather_sensitivity")
    assert sorted(sensitivity["site_id"]) == ["lcl-MAC000002", "lcl-MAC000003"]
    assert (sensitivity["day_count"] == 0).all()
    assert (sensitivity["fitted_terms"] == "none").all()
    assert sensitivity["heating_kwh_per_degree_day"].isna().all()
    areas = table(tmp, "dim_areas").set_index("area_id")
    assert areas.loc["london-lcl", "home_site_count"] == 2
    # the load shapes still come from the readings: 0.75 kWh a half hour = 1.5 kW
    profile = table(tmp, "fct_area_load_profile_weekday_hour")
    assert profile["avg_demand_kw"].to_numpy() == pytest.approx(1.5)
    assert profile["avg_demand_kw_per_site"].to_numpy() == pytest.approx(0.75)
