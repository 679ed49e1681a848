"""`wattlake import` of a real export, then `wattlake transform`, through the CLI."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pipeline import PROJECT_DIR, mart, run_cli

pytestmark = [pytest.mark.slow]
REAL = Path(os.environ.get("WATTLAKE_REAL_DATA", "/work/shared/data/real"))
TETOUAN = REAL / "tetouan_city_zones_2017.csv.gz"
ZONES = ["tetouan-zone-1", "tetouan-zone-2", "tetouan-zone-3"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    if not TETOUAN.is_file():
        pytest.skip(f"{TETOUAN} is not there (set WATTLAKE_REAL_DATA)")
    tmp = tmp_path_factory.mktemp("import")
    imported = run_cli(["import", str(TETOUAN), "--mapping", "tetouan_zones"], tmp)
    transformed = run_cli(["--quiet", "transform"], tmp)
    return tmp, imported.stderr, transformed.stdout + transformed.stderr


def test_the_import_prints_where_every_line_went(
    built: tuple[Path, str, str],
) -> None:
    _, log, _ = built
    assert "104,832 data lines = 52,416 delivered + 52,416 empty lines" in log
    assert "readings: 157,248 rows (3 per delivered line" in log
    assert "weather: 52,416 rows (1 per delivered line) in 12 batches" in log
    assert "26 batches (26 new, 0 already landed)" in log


def test_the_daily_mart_has_every_local_day_of_the_three_zones(
    built: tuple[Path, str, str],
) -> None:
    tmp, _, _ = built
    warehouse = tmp / "warehouse" / "wattlake.duckdb"
    daily = mart(warehouse, "fct_site_daily_usage")
    assert sorted(daily["site_id"].unique()) == ZONES
    assert set(daily["site_type"]) == {"distribution_zone"}
    per_zone = daily.groupby("site_id")["reading_date_local"].agg(
        ["count", "min", "max"]
    )
    # 2017-01-01 00:00 to 2017-12-30 23:50 UTC; Africa/Casablanca was +00 then
    assert per_zone.to_dict("index") == {
        zone: {"count": 364, "min": date(2017, 1, 1), "max": date(2017, 12, 30)}
        for zone in ZONES
    }
    # local days of Morocco's four clock changes in 2017 (Ramadan pause included)
    odd = daily[daily["hour_count"] != 24]
    assert {
        (row.reading_date_local, row.hour_count, row.interval_count)
        for row in odd.itertuples()
        if row.site_id == ZONES[0]
    } == {
        (date(2017, 3, 26), 23, 138),
        (date(2017, 5, 21), 25, 150),
        (date(2017, 7, 2), 23, 138),
        (date(2017, 10, 29), 25, 150),
    }
    # kW averaged over 10 minutes -> kWh = kW / 6, summed over the year
    expected = duckdb.sql(
        f"""
        select
            sum(cast("Zone 1 Power Consumption" as double)) / 6,
            sum(cast("Zone 2 Power Consumption" as double)) / 6,
            sum(cast("Zone 3 Power Consumption" as double)) / 6
        from read_csv('{TETOUAN}', header = true, all_varchar = true)
        """
    ).fetchone()
    got = daily.groupby("site_id")["energy_kwh"].sum()
    for zone, kwh in zip(ZONES, expected, strict=True):
        assert got[zone] == pytest.approx(kwh, rel=1e-9)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        quarantined = connection.execute(
            "select count(*) from main.int_readings_quarantined"
        ).fetchone()[0]
    assert quarantined == 0


def test_a_lake_without_tariff_deliveries_is_priced_on_default_tariffs(
    built: tuple[Path, str, str],
) -> None:
    tmp, _, _ = built
    assert not (tmp / "lake" / "landing" / "tariffs").exists()
    monthly = mart(tmp / "warehouse" / "wattlake.duckdb", "fct_site_monthly_cost")
    assert len(monthly) == len(ZONES) * 12
    assert set(monthly["closing_tariff_id"]) == {"mix_flat"}
    assert (monthly["default_tariff_day_count"] == monthly["day_count"]).all()
    assert monthly.groupby("site_id")["day_count"].sum().eq(364).all()
    # mix_flat: one price for every hour, no fixed or demand charge
    flat = pd.read_csv(PROJECT_DIR / "seeds" / "tariff_time_of_use_bands.csv")
    price = flat.loc[flat["tariff_id"] == "mix_flat", "price_gbp_per_kwh"].unique()
    assert len(price) == 1
    assert monthly["total_cost_gbp"].to_numpy() == pytest.approx(
        monthly["imported_kwh"].to_numpy() * price[0], rel=1e-9
    )


def test_quiet_keeps_the_summary_and_drops_dbt_progress(
    built: tuple[Path, str, str],
) -> None:
    _, _, quiet = built
    assert re.search(r"transform: dbt .*pass=\d+", quiet)  # the command's summary
    # dbt's banner and per-node lines are not printed (its log file has them)
    assert "Running with dbt" not in quiet
    assert " START " not in quiet
