"""Load-shape properties of the simulated sites."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
import pytest

from wattlake.ingestion.city import load_city
from wattlake.ingestion.load import day_clock, simulate_day
from wattlake.ingestion.realism import LONDON_RANGES, household_metrics, share_inside
from wattlake.ingestion.sites import build_sites
from wattlake.ingestion.weather import simulate_weather

CITY = load_city(Path(__file__).resolve().parents[4] / "ingestion" / "city.toml")
HOLIDAYS = set(holidays.country_holidays("GB", subdiv="ENG", years=[2025]))
# London p50 of each metric (README of the real data)
LONDON_MEDIANS = {
    "peak_to_mean": 3.7,
    "weekend_to_weekday": 1.03,
    "night_min_to_mean": 0.30,
    "annual_kwh": 3381.0,
    "lag1_autocorrelation": 0.64,
}


@cache
def year(sites_count: int = 800, seed: int = 11, every: int = 2) -> tuple:
    """A year of 2025 in the shipped city: (sites, long frame of 15-minute readings)."""
    first = date(2025, 1, 1)
    sites = build_sites(CITY, sites_count, first, 365, seed)
    weather = simulate_weather(
        CITY.climate,
        [a.heat_island_c for a in CITY.areas],
        first,
        date(2025, 12, 31),
        seed,
    )
    members = np.arange(sites.count)
    frames = []
    for offset in range(0, 365, every):
        day = first + timedelta(days=offset)
        clock = day_clock(day, "Europe/London", 15)
        energy = simulate_day(
            sites,
            members,
            clock,
            weather,
            HOLIDAYS,
            np.random.default_rng([seed, offset]),
        )
        local = pd.Timestamp(day) + pd.to_timedelta(clock.local_hour * 60, "min").round(
            "min"
        )
        frames.append(
            pd.DataFrame(
                {
                    "site": np.repeat(members, energy.shape[1]),
                    "local_time": np.tile(local, sites.count),
                    "energy_kwh": energy.ravel(),
                }
            )
        )
    return sites, pd.concat(frames, ignore_index=True)


def half_hourly(frame: pd.DataFrame) -> pd.DataFrame:
    return (
        frame.assign(local_time=frame["local_time"].dt.floor("30min"))
        .groupby(["site", "local_time"], as_index=False)["energy_kwh"]
        .sum()
        .rename(columns={"site": "meter_id"})
    )


def of_type(sites, frame: pd.DataFrame, *types: str) -> pd.DataFrame:
    chosen = np.flatnonzero(np.isin(sites.site_type, types))
    return frame[frame["site"].isin(chosen)]


def test_local_days_have_23_24_or_25_hours() -> None:
    spring = day_clock(date(2025, 3, 30), "Europe/London", 15)
    autumn = day_clock(date(2025, 10, 26), "Europe/London", 15)
    assert day_clock(date(2025, 3, 29), "Europe/London", 15).starts_utc.size == 96
    assert spring.starts_utc.size == 92 and autumn.starts_utc.size == 100
    assert (
        1.0 not in spring.local_hour and 2.0 in spring.local_hour
    )  # 01:00-01:45 never happen
    assert list(autumn.local_hour).count(1.5) == 2  # 01:30 happens twice
    assert str(spring.starts_utc[0]) == "2025-03-30T00:00:00"
    assert (
        str(day_clock(date(2025, 3, 31), "Europe/London", 15).starts_utc[0])
        == "2025-03-30T23:00:00"
    )


def test_homes_fall_inside_the_ranges_measured_on_london_households() -> None:
    sites, frame = year()
    plain = np.flatnonzero(
        (sites.site_type == "home") & (sites.pv_kwp == 0) & (sites.ev_kw == 0)
    )
    assert plain.size >= 150
    metrics = household_metrics(half_hourly(frame[frame["site"].isin(plain)]))
    medians = metrics.median()
    for name, (low, high) in LONDON_RANGES.items():
        assert low <= medians[name] <= high, (name, medians[name])
        assert medians[name] == pytest.approx(LONDON_MEDIANS[name], rel=0.2), name
    assert (share_inside(metrics) >= 0.7).all(), share_inside(metrics)


@pytest.mark.parametrize("site_type", ["office", "mall", "factory"])
def test_commercial_night_minimum_is_a_large_share_of_the_daily_mean(
    site_type: str,
) -> None:
    sites, frame = year()
    metrics = household_metrics(half_hourly(of_type(sites, frame, site_type)))
    assert metrics["night_min_to_mean"].between(0.4, 0.85).all(), metrics[
        "night_min_to_mean"
    ].describe()


def daily(frame: pd.DataFrame) -> pd.DataFrame:
    days = frame.assign(day=frame["local_time"].dt.normalize())
    return days.groupby(["site", "day"], as_index=False)["energy_kwh"].sum()


def test_offices_work_on_weekdays_and_rest_at_weekends_and_holidays() -> None:
    sites, frame = year()
    offices = daily(of_type(sites, frame, "office"))
    weekday = offices[offices["day"].dt.weekday < 5]
    holiday = weekday[weekday["day"].dt.date.isin(HOLIDAYS)]
    working = weekday[~weekday["day"].dt.date.isin(HOLIDAYS)]
    weekend = offices[offices["day"].dt.weekday >= 5]
    ratio = (
        working.groupby("site")["energy_kwh"].mean()
        / weekend.groupby("site")["energy_kwh"].mean()
    )
    assert ratio.between(1.3, 2.5).all(), ratio.describe()
    # a bank holiday looks like a Sunday, not like a working day
    assert holiday["energy_kwh"].mean() < 0.8 * working["energy_kwh"].mean()


def test_offices_are_busy_from_8_to_18() -> None:
    sites, frame = year()
    offices = of_type(sites, frame, "office")
    offices = offices[offices["local_time"].dt.weekday < 5]
    by_hour = offices.groupby(offices["local_time"].dt.hour)["energy_kwh"].mean()
    assert by_hour.loc[9:16].min() > 1.5 * by_hour.loc[[0, 1, 2, 3, 4, 22, 23]].max()


def test_homes_peak_in_the_morning_and_evening() -> None:
    sites, frame = year()
    homes = of_type(sites, frame, "home")
    by_hour = homes.groupby(homes["local_time"].dt.hour)["energy_kwh"].mean()
    assert by_hour.idxmax() in (17, 18, 19, 20)
    assert by_hour.loc[7:8].mean() > by_hour.loc[10:15].mean()
    assert by_hour.loc[2:4].mean() < 0.5 * by_hour.loc[18:20].mean()


def test_malls_open_10_to_22_and_cool_hard_in_summer() -> None:
    sites, frame = year()
    malls = of_type(sites, frame, "mall")
    by_hour = malls.groupby(malls["local_time"].dt.hour)["energy_kwh"].mean()
    assert by_hour.loc[11:20].min() > 1.5 * by_hour.loc[0:6].max()
    by_month = malls.groupby(malls["local_time"].dt.month)["energy_kwh"].mean()
    assert by_month.loc[7] > 1.1 * by_month.loc[[4, 10]].mean()


def test_factories_run_shifts_and_hospitals_stay_high_and_flat() -> None:
    sites, frame = year()
    factories = of_type(sites, frame, "factory")
    factories = factories[factories["local_time"].dt.weekday < 5]
    by_hour = factories.groupby(factories["local_time"].dt.hour)["energy_kwh"].mean()
    assert by_hour.loc[7:20].min() > 1.5 * by_hour.loc[[0, 1, 2, 3, 4, 23]].max()
    hospitals = daily(of_type(sites, frame, "hospital"))
    hospital_hours = of_type(sites, frame, "hospital")
    profile = hospital_hours.groupby(hospital_hours["local_time"].dt.hour)[
        "energy_kwh"
    ].mean()
    assert profile.min() > 0.75 * profile.max()
    assert len(hospitals) > 0


def test_schools_close_in_the_summer_holidays() -> None:
    sites, frame = year()
    schools = daily(of_type(sites, frame, "school"))
    weekdays = schools[schools["day"].dt.weekday < 5]
    august = weekdays[weekdays["day"].dt.month == 8]["energy_kwh"].mean()
    june = weekdays[weekdays["day"].dt.month == 6]["energy_kwh"].mean()
    assert august < 0.75 * june


def test_electric_heating_follows_the_cold() -> None:
    sites, frame = year()
    heaters = np.flatnonzero(sites.heating_kw_per_c > 0.05 * sites.mean_kw * 1.2)
    assert heaters.size
    chosen = frame[frame["site"].isin(heaters)]
    by_month = chosen.groupby(chosen["local_time"].dt.month)["energy_kwh"].mean()
    assert by_month.loc[1] > 1.3 * by_month.loc[7]


def test_rooftop_solar_makes_legitimate_negative_net_readings_at_midday_only() -> None:
    sites, frame = year()
    solar = frame[frame["site"].isin(np.flatnonzero(sites.pv_kwp > 0))]
    summer = solar[solar["local_time"].dt.month.isin([6, 7])]
    hour = summer["local_time"].dt.hour
    assert (summer.loc[hour.between(11, 14), "energy_kwh"] < 0).mean() > 0.3
    assert (summer.loc[(hour < 4) | (hour > 22), "energy_kwh"] >= 0).all()
    assert sites.is_net_metered[sites.pv_kwp > 0].all()
    assert not (
        frame[frame["site"].isin(np.flatnonzero(sites.pv_kwp == 0))]["energy_kwh"] < 0
    ).any()


def test_electric_cars_charge_in_the_evening() -> None:
    sites, frame = year()
    homes = frame[frame["site"].isin(np.flatnonzero(sites.site_type == "home"))]
    evening = homes[homes["local_time"].dt.hour.between(19, 22)]
    has_ev = evening["site"].isin(np.flatnonzero(sites.ev_kw > 0))
    per_site = evening.groupby("site")["energy_kwh"].mean()
    ev_sites = per_site[per_site.index.isin(np.flatnonzero(sites.ev_kw > 0))]
    assert has_ev.any()
    assert (
        ev_sites.median()
        > 1.5 * per_site[~per_site.index.isin(ev_sites.index)].median()
    )


def test_usage_noise_is_autocorrelated_not_white() -> None:
    sites, frame = year()
    offices = of_type(sites, frame, "office").sort_values(["site", "local_time"])
    residual = offices.groupby("site")["energy_kwh"].transform(
        lambda s: s - s.rolling(96, min_periods=1, center=True).mean()
    )
    lag1 = residual.groupby(offices["site"]).apply(lambda s: s.autocorr(1))
    assert lag1.median() > 0.5


def test_a_cold_city_uses_more_than_a_warm_one() -> None:
    first = date(2025, 1, 6)
    sites = build_sites(CITY, 300, first, 7, 3)
    members = np.arange(sites.count)
    totals = []
    for mean_c in (0.0, 12.0):
        climate = replace(CITY.climate, mean_c=mean_c, seasonal_amplitude_c=0.0)
        weather = simulate_weather(climate, [0.0] * len(CITY.areas), first, first, 3)
        clock = day_clock(first, "Europe/London", 15)
        totals.append(
            simulate_day(
                sites, members, clock, weather, HOLIDAYS, np.random.default_rng(1)
            ).sum()
        )
    assert totals[0] > 1.05 * totals[1]
