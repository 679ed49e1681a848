"""The cost marts on a simulated lake, against the tariff model computed in pandas.

The city switches every site that can switch tariff during the fixture's five
days (mid-month in March, and on 1 April), so tariff changes, time-of-use
bands, tiered blocks and demand charges all show up on the small fixture.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from pipeline import PROJECT_DIR, mart, run_cli

pytestmark = [pytest.mark.slow]
SEEDS = PROJECT_DIR / "seeds"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cost")
    city = tmp / "city.toml"
    city.write_text(
        (PROJECT_DIR / "ingestion" / "city.toml")
        .read_text()
        .replace("switches_per_year = 0.15", "switches_per_year = 200")
    )
    env = {"WATTLAKE_CITY": str(city)}
    for stage in ("simulate", "land", "transform"):
        run_cli([stage], tmp, env)
    return tmp


def seed(name: str) -> pd.DataFrame:
    return pd.read_csv(SEEDS / f"{name}.csv")


def expected_monthly_cost(tmp: Path) -> pd.DataFrame:
    """The tariff model of seeds/_tariffs__seeds.yml, computed hour by hour."""
    warehouse = tmp / "warehouse" / "wattlake.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        hours = connection.execute(
            "select site_id, hour_start_local, reading_date_local, energy_kwh,"
            " avg_demand_kw from main.int_readings_rolled_up_to_hour"
        ).df()
    sites = mart(warehouse, "dim_sites").set_index("site_id")["site_type"]
    delivered = pd.concat(
        pd.read_csv(path, dtype=str)
        for path in sorted((tmp / "lake" / "landing" / "tariffs").glob("*.csv.gz"))
    )
    delivered["valid_from"] = pd.to_datetime(delivered["valid_from"])
    defaults = seed("tariff_site_type_defaults").set_index("site_type")["tariff_id"]
    plans = seed("tariff_plans").set_index("tariff_id")
    bands = seed("tariff_time_of_use_bands")
    blocks = seed("tariff_tiered_blocks")
    carbon = seed("grid_carbon_intensity").set_index(["month_of_year", "hour_local"])

    day = pd.to_datetime(hours["reading_date_local"])
    hours["day"] = day
    hours["month"] = day.dt.to_period("M").dt.to_timestamp()
    hours["days_in_month"] = day.dt.days_in_month
    hours["hour"] = pd.to_datetime(hours["hour_start_local"]).dt.hour
    hours["day_kind"] = np.where(day.dt.dayofweek >= 5, "weekend", "weekday")

    def tariff_on(site: str, when: pd.Timestamp) -> str:
        mine = delivered[
            (delivered["site_id"] == site) & (delivered["valid_from"] <= when)
        ]
        if mine.empty:
            return defaults[sites[site]]
        return mine.sort_values("valid_from")["tariff_id"].iloc[-1]

    site_days = hours[["site_id", "day"]].drop_duplicates()
    site_days["tariff_id"] = [
        tariff_on(s, d)
        for s, d in zip(site_days["site_id"], site_days["day"], strict=True)
    ]
    hours = hours.merge(site_days, on=["site_id", "day"])
    price, band = [], []
    for row in hours.itertuples():
        span = bands[
            (bands["tariff_id"] == row.tariff_id)
            & (bands["day_kind"] == row.day_kind)
            & (bands["start_hour_local"] <= row.hour)
            & (row.hour < bands["end_hour_local"])
        ]
        assert len(span) == 1
        band.append(span["band_name"].iloc[0])
        price.append(span["price_gbp_per_kwh"].iloc[0])
    hours["band"] = band
    hours["imported_kwh"] = hours["energy_kwh"].clip(lower=0)
    hours["exported_kwh"] = (-hours["energy_kwh"]).clip(lower=0)
    tiered = plans.loc[hours["tariff_id"], "is_tiered"].to_numpy()
    hours["energy_charge_gbp"] = np.where(
        tiered, 0.0, hours["imported_kwh"] * np.array(price, dtype=float)
    )
    hours["co2_kg"] = (
        hours["imported_kwh"]
        * carbon.loc[
            list(zip(hours["day"].dt.month, hours["hour"], strict=True)),
            "carbon_intensity_g_per_kwh",
        ].to_numpy()
        / 1000
    )
    for name in ("off_peak", "standard", "peak"):
        hours[f"{name}_kwh"] = np.where(hours["band"] == name, hours["imported_kwh"], 0)

    days = (
        hours.groupby(["site_id", "month", "day", "tariff_id", "days_in_month"])
        .agg(
            imported_kwh=("imported_kwh", "sum"),
            peak_kw=("avg_demand_kw", "max"),
        )
        .reset_index()
        .sort_values("day")
    )

    def blocks_cost(tariff: str, kwh: float) -> float:
        """Cost of the first `kwh` of a month on a tiered tariff."""
        cost = 0.0
        for block in blocks[blocks["tariff_id"] == tariff].itertuples():
            top = np.inf if pd.isna(block.block_to_kwh) else block.block_to_kwh
            cost += max(0.0, min(kwh, top) - block.block_from_kwh) * (
                block.price_gbp_per_kwh
            )
        return cost

    period = ["site_id", "month", "tariff_id"]
    days["after"] = days.groupby(period)["imported_kwh"].cumsum()
    days["tiered_charge_gbp"] = [
        blocks_cost(t, after) - blocks_cost(t, after - kwh)
        if plans.loc[t, "is_tiered"]
        else 0.0
        for t, after, kwh in zip(
            days["tariff_id"], days["after"], days["imported_kwh"], strict=True
        )
    ]
    days["fixed_charge_gbp"] = plans.loc[
        days["tariff_id"], "fixed_charge_gbp_per_day"
    ].to_numpy()
    rate = plans.loc[days["tariff_id"], "demand_charge_gbp_per_kw_month"].fillna(0)
    days["demand_charge_gbp"] = (
        days.groupby(period)["peak_kw"].transform("max").clip(lower=0)
        * rate.to_numpy()
        / days["days_in_month"]
    )
    per_month = ["site_id", "month"]
    monthly = (
        hours.groupby(per_month)[
            [
                "energy_kwh",
                "exported_kwh",
                "off_peak_kwh",
                "standard_kwh",
                "peak_kwh",
                "energy_charge_gbp",
                "co2_kg",
            ]
        ]
        .sum()
        .join(
            days.groupby(per_month)[
                ["tiered_charge_gbp", "fixed_charge_gbp", "demand_charge_gbp"]
            ].sum()
        )
        .join(days.groupby(per_month)["tariff_id"].nunique().rename("tariff_count"))
    )
    monthly["total_cost_gbp"] = monthly[
        [
            "energy_charge_gbp",
            "tiered_charge_gbp",
            "fixed_charge_gbp",
            "demand_charge_gbp",
        ]
    ].sum(axis=1)
    return monthly


def test_monthly_costs_follow_the_tariff_model(built: Path) -> None:
    expected = expected_monthly_cost(built)
    got = mart(built / "warehouse" / "wattlake.duckdb", "fct_site_monthly_cost")
    got["month"] = pd.to_datetime(got["reading_month_local"])
    got = got.set_index(["site_id", "month"])
    assert sorted(got.index) == sorted(expected.index)
    # the city makes the fixture exercise every rule at least once
    assert (got["tariff_count"] > 1).any()
    assert (got["tiered_charge_gbp"] > 0).any()
    assert (got["demand_charge_gbp"] > 0).any()
    assert (got["peak_kwh"] > 0).any() and (got["off_peak_kwh"] > 0).any()
    assert (got["exported_kwh"] > 0).any()
    for column in expected.columns:
        pd.testing.assert_series_equal(
            got.loc[expected.index, column].astype(float),
            expected[column].astype(float),
            check_names=False,
            rtol=1e-9,
            atol=1e-9,
        )


def test_daily_costs_add_up_to_the_monthly_bill(built: Path) -> None:
    warehouse = built / "warehouse" / "wattlake.duckdb"
    daily = mart(warehouse, "fct_site_daily_cost")
    monthly = (
        mart(warehouse, "fct_site_monthly_cost")
        .set_index(["site_id", "reading_month_local"])
        .sort_index()
    )
    sums = daily.groupby(["site_id", "reading_month_local"])[
        ["total_cost_gbp", "demand_charge_gbp", "co2_kg", "energy_kwh"]
    ].sum()
    pd.testing.assert_frame_equal(
        sums, monthly[sums.columns], check_exact=False, rtol=1e-9
    )
    parts = daily[
        [
            "energy_charge_gbp",
            "tiered_charge_gbp",
            "fixed_charge_gbp",
            "demand_charge_gbp",
        ]
    ].sum(axis=1)
    assert np.allclose(parts, daily["total_cost_gbp"], rtol=1e-12)
