"""Late data and incremental runs, end to end with the real CLI.

The fixture lake's late batches (`*_late<day>`, parts of a day's readings
delivered days later) are held back: the lake is landed and transformed
without them, then they arrive, are landed, and `wattlake transform` runs
incrementally. With them comes the retailer's correction of a past tariff
assignment, in a month no late reading falls in. A full refresh of the same
lake into another warehouse must give exactly the same rows in every
incremental model, and the incremental run must have restated only the days
and months the late readings (and, for the cost facts, the correction) fall on.
And a lake whose files were written before a model gained or lost a column
is rebuilt whole on the next run; a small table written whole is written
again only when its rows changed.
"""

from __future__ import annotations

import gzip
import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pipeline import run_cli

from wattlake.storage import Lake

STAMP = "restated_at_utc"  # when a run wrote the row: differs between runs by design
LAKE_TABLES = ("validated_readings", "readings")  # models dbt stores in <lake>/clean/


def incremental_tables(warehouse: Path) -> list[str]:
    """The tables incremental models write: every one carries the restatement stamp."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            "select table_name from information_schema.columns "
            "where table_schema = 'main' and column_name = ? "
            "and table_name in (select table_name from information_schema.tables "
            "where table_type = 'BASE TABLE') order by 1",
            [STAMP],
        ).fetchall()
    return [name for (name,) in rows]


def rows(warehouse: Path, table: str) -> pd.DataFrame:
    """A table's rows without the stamp, in a stable order."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return without_stamp(connection.execute(f"select * from main.{table}").df())


def lake_rows(lake: Path, table: str) -> pd.DataFrame:
    """A model's rows as stored in the lake's `clean/<table>/` (Hive-style Parquet)."""
    with duckdb.connect() as connection:
        return connection.execute(
            "select * from read_parquet(?, hive_partitioning = true)",
            [str(lake / "clean" / table / "*" / "*.parquet")],
        ).df()


def stored_rows(folder: Path) -> int:
    """How many rows the Parquet files under a folder hold."""
    return sum(pq.read_metadata(path).num_rows for path in folder.rglob("*.parquet"))


def without_stamp(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without the stamp (it differs between runs by design), in a stable order."""
    frame = frame.drop(columns=[STAMP])
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def latest_stamped(warehouse: Path, table: str, column: str) -> set:
    """Values of `column` on the rows the latest run wrote."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        found = connection.execute(
            f"select distinct {column} from main.{table} "
            f"where {STAMP} = (select max({STAMP}) from main.{table})"
        ).fetchall()
    return {pd.Timestamp(value).date() for (value,) in found}


def local_days_of(utc_days: set[date]) -> set[date]:
    """The local dates UTC days' hours can fall on: the same, the day before or after."""
    return {day + timedelta(days=k) for day in utc_days for k in (-1, 0, 1)}


def landed_late_days(lake: Path) -> set[date]:
    """The UTC days the landed late batches' readings fall on."""
    late_starts = pd.concat(
        pq.read_table(path, columns=["reading_start"]).to_pandas()
        for path in (lake / "raw" / "readings").rglob("*_late*.parquet")
    )
    return set(
        pd.to_datetime(late_starts["reading_start"], utc=True, format="ISO8601").dt.date
    )


def correct_a_past_tariff(lake: Path, warehouse: Path, late_days: set[date]) -> dict:
    """Deliver the retailer's correction: a site on another tariff from a past day.

    The day is in a month no late reading falls in, so only the correction
    can restate that month's costs.
    """
    late_months = {day.replace(day=1) for day in local_days_of(late_days)}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        days = connection.execute(
            "select site_id, reading_date_local, tariff_id from main.fct_site_daily_cost "
            "order by reading_date_local, site_id"
        ).fetchall()
        plans = [
            tariff
            for (tariff,) in connection.execute(
                "select tariff_id from main.tariff_plans order by tariff_id"
            ).fetchall()
        ]
    candidates = [day for day in days if day[1].replace(day=1) not in late_months]
    assert candidates, (
        "every month of the fixture has late readings: no month to correct"
    )
    site_id, valid_from, tariff_id = candidates[0]
    corrected = next(plan for plan in plans if plan != tariff_id)
    delivery = f"site_id,tariff_id,valid_from\n{site_id},{corrected},{valid_from}\n"
    target = Lake(str(lake))
    target.write_bytes(
        target.landing("tariffs", "tariffs_correction", "csv.gz"),
        gzip.compress(delivery.encode(), mtime=0),
    )
    return {"site_id": site_id, "valid_from": valid_from, "tariff_id": corrected}


@pytest.fixture(scope="module")
def late_arrival(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("late-arrival")
    run_cli(["simulate"], tmp)
    landing = tmp / "lake" / "landing" / "metering"
    late = sorted(landing.glob("*_late*"))
    assert late, "the fixture lake has no late batch to hold back"
    held = tmp / "held"
    held.mkdir()
    for delivery in late:
        delivery.rename(held / delivery.name)  # rename keeps the file's times

    run_cli(["land"], tmp)
    run_cli(["transform"], tmp)
    warehouse = tmp / "warehouse" / "wattlake.duckdb"
    before = rows(warehouse, "fct_site_daily_usage")

    for delivery in held.iterdir():
        delivery.rename(landing / delivery.name)
    run_cli(["land"], tmp)
    late_days = landed_late_days(tmp / "lake")
    correction = correct_a_past_tariff(tmp / "lake", warehouse, late_days)
    run_cli(["land"], tmp)
    run_cli(["transform"], tmp)
    # the validated and clean readings live in the lake, which the full refresh rewrites
    lake_incremental = {table: lake_rows(tmp / "lake", table) for table in LAKE_TABLES}
    staged = {
        stage.name: stored_rows(stage) for stage in warehouse.parent.glob("*.restating")
    }
    # the SQL dbt ran for each model (the full refresh below writes it again)
    ran = {
        path.stem: path.read_text()
        for path in (tmp / "dbt-target" / "run").rglob("*.sql")
        if path.parent.name != "unit_test"
    }

    full = tmp / "full" / "wattlake.duckdb"
    run_cli(
        ["transform", "--", "--full-refresh"],
        tmp,
        extra_env={"WATTLAKE_WAREHOUSE": str(full)},
    )
    return {
        "incremental": warehouse,
        "full": full,
        "before": before,
        "late_days_utc": late_days,
        "tariff_correction": correction,
        "lake_incremental": lake_incremental,
        "staged": staged,
        "ran": ran,
        "lake_full": {table: lake_rows(tmp / "lake", table) for table in LAKE_TABLES},
    }


def test_incremental_runs_end_where_a_full_refresh_does(late_arrival) -> None:
    tables = incremental_tables(late_arrival["incremental"])
    assert {
        "int_readings_rolled_up_to_meter_hour",
        "fct_site_daily_usage",
        "fct_area_monthly_usage",
    } <= set(tables)
    assert tables == incremental_tables(late_arrival["full"])
    for table in tables:
        incremental = rows(late_arrival["incremental"], table)
        full = rows(late_arrival["full"], table)
        assert len(incremental) == len(full), table
        pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-12)
    # the validated and clean readings, stored in the lake rather than the warehouse
    for table in LAKE_TABLES:
        incremental = without_stamp(late_arrival["lake_incremental"][table])
        full = without_stamp(late_arrival["lake_full"][table])
        assert len(incremental) == len(full) > 0, table
        pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-12)


def test_the_rows_staged_beside_the_warehouse_are_removed(late_arrival) -> None:
    # an incremental run stages the restated rows of each lake model beside the
    # warehouse (macros/lake_partitions.sql); none may stay there after it
    assert late_arrival["staged"] == {
        f"wattlake.duckdb.int_readings_{model}.restating": 0
        for model in ("validated", "cleaned")
    }


def test_restated_dates_are_deleted_by_lookup_not_by_a_join(late_arrival) -> None:
    # dbt-duckdb deletes the keys of a list-valued unique_key with `delete ...
    # using <new rows>`: a join of every old row of a date with every new row
    # of it, which a city year cannot finish. macros/incremental_by.sql gives
    # it the key as a string: `delete ... where (<key>) in (select <key> ...)`
    deletes = {
        model: sql.lower()
        for model, sql in late_arrival["ran"].items()
        if "delete from" in sql.lower()
    }
    assert {"int_readings_rolled_up_to_meter_hour", "fct_site_daily_usage"} <= set(
        deletes
    )
    for model, sql in deletes.items():
        delete = sql[sql.index("delete from") : sql.index("insert into")]
        assert " using " not in delete, model
        assert re.search(r"\(\s*reading_\w+\s*\)\s+in\s+\(", delete), (
            model,
            delete,
        )


def test_the_late_batch_changes_the_days_it_falls_on(late_arrival) -> None:
    before = late_arrival["before"].set_index(["site_id", "reading_date_local"])
    after = rows(late_arrival["incremental"], "fct_site_daily_usage").set_index(
        ["site_id", "reading_date_local"]
    )
    grown = after["energy_kwh"].sub(before["energy_kwh"], fill_value=0) > 1e-9
    assert grown.any(), "the late readings added no energy"
    days = {
        pd.Timestamp(day).date()
        for day in grown[grown].index.get_level_values("reading_date_local")
    }
    assert days <= local_days_of(late_arrival["late_days_utc"])


def test_the_late_batch_restates_only_its_days_and_months(late_arrival) -> None:
    warehouse = late_arrival["incremental"]
    late = late_arrival["late_days_utc"]
    nearby = local_days_of(late)
    restated_days = latest_stamped(
        warehouse, "fct_site_daily_usage", "reading_date_local"
    )
    all_days = {
        pd.Timestamp(day).date()
        for (day,) in duckdb.connect(str(warehouse), read_only=True)
        .execute("select distinct reading_date_local from main.fct_site_daily_usage")
        .fetchall()
    }
    assert restated_days, "the incremental run restated nothing"
    assert restated_days <= nearby
    assert restated_days < all_days, "the incremental run restated every day"
    clean = late_arrival["lake_incremental"]["readings"]
    restated_clean = clean.loc[clean[STAMP] == clean[STAMP].max(), "reading_date"]
    assert {pd.Timestamp(day).date() for day in restated_clean.unique()} <= late
    # validation re-read only the late batches: no other batch got the new stamp
    validated = late_arrival["lake_incremental"]["validated_readings"]
    restated_batches = validated.loc[
        validated[STAMP] == validated[STAMP].max(), "batch_id"
    ]
    assert restated_batches.unique().tolist()
    assert all("_late" in batch for batch in restated_batches.unique())
    restated_months = latest_stamped(
        warehouse, "fct_site_monthly_usage", "reading_month_local"
    )
    assert restated_months == {day.replace(day=1) for day in restated_days}


def test_a_corrected_past_tariff_restates_its_month_of_costs(late_arrival) -> None:
    warehouse = late_arrival["incremental"]
    correction = late_arrival["tariff_correction"]
    month = correction["valid_from"].replace(day=1)
    restated_days = latest_stamped(
        warehouse, "fct_site_daily_usage", "reading_date_local"
    )
    usage_months = {day.replace(day=1) for day in restated_days}
    assert month not in usage_months, "the correction's month has late readings too"
    # the cost facts restate the late readings' months and the correction's
    for table in ("fct_site_daily_cost", "fct_site_monthly_cost"):
        restated = latest_stamped(warehouse, table, "reading_month_local")
        assert restated == usage_months | {month}, table
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        charged = connection.execute(
            "select distinct tariff_id from main.fct_site_daily_cost "
            "where site_id = ? and reading_date_local >= ? and reading_month_local = ?",
            [correction["site_id"], correction["valid_from"], month],
        ).fetchall()
    assert charged == [(correction["tariff_id"],)]


def test_lake_files_unlike_their_model_are_rewritten_and_the_others_left(
    tmp_path: Path,
) -> None:
    for stage in ("simulate", "land"):
        run_cli([stage], tmp_path)
    run_cli(["transform", "--selector", "lake_clean"], tmp_path)
    lake = tmp_path / "lake"
    before = lake_rows(lake, "validated_readings")
    # the validated readings as written before the model gained one column
    # and lost another
    gained, lost = "is_dst_shifted", "retired_column"
    for path in (lake / "clean" / "validated_readings").rglob("*.parquet"):
        table = pq.ParquetFile(path).read().drop_columns([gained])
        pq.write_table(table.append_column(lost, table.column("batch_id")), path)
    # the small tables written whole: the weather as a run with other inputs
    # left it (one temperature differs), the registry as the model gives it
    weather = small_table(lake, "weather_hourly")
    for path in (lake / "clean" / "weather_hourly").glob("*.parquet"):
        path.unlink()
    pq.write_table(
        weather.set_column(
            weather.column_names.index("air_temperature_c"),
            "air_temperature_c",
            pa.array([-40.0] + weather.column("air_temperature_c").to_pylist()[1:]),
        ),
        lake / "clean" / "weather_hourly" / "part_0.parquet",
    )
    registry = {
        path: path.stat().st_mtime_ns
        for path in (lake / "clean" / "meter_sites").glob("*.parquet")
    }

    completed = run_cli(["transform", "--selector", "lake_clean"], tmp_path)
    log = completed.stdout + completed.stderr
    assert (
        f"int_readings_validated: the files in {lake}/clean/validated_readings "
        f"lack column(s) {gained}; hold column(s) {lost} the model no longer has: "
        "rebuilding it whole"
    ) in log
    after = lake_rows(lake, "validated_readings")
    assert after[gained].notna().all()
    assert lost not in after.columns
    pd.testing.assert_frame_equal(without_stamp(after), without_stamp(before))
    # the clean readings had the model's columns: read incrementally, not rebuilt
    assert "int_readings_cleaned: the files" not in log
    # the weather's files are written again with the model's rows; the
    # registry's, whose rows are the model's, are left as they were (the
    # feature job's record sees an unchanged input)
    assert f"int_weather_hourly: written to {lake}/clean/weather_hourly" in log
    assert sorted_rows(small_table(lake, "weather_hourly")) == sorted_rows(weather)
    assert (
        f"int_meter_sites: rows unchanged, the files in {lake}/clean/meter_sites "
        "left as they were"
    ) in log
    assert {
        path: path.stat().st_mtime_ns
        for path in (lake / "clean" / "meter_sites").glob("*.parquet")
    } == registry


def small_table(lake: Path, table: str) -> pa.Table:
    """A table dbt writes whole to `clean/<table>/` (no partitions)."""
    return pq.read_table(lake / "clean" / table)


def sorted_rows(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=repr)
