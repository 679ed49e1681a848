"""Tableau extract: the marts written to one `.hyper` file with Tableau's Hyper API.

Each mart is copied out of the local DuckDB warehouse as Parquet and loaded by
Hyper itself (`external()`), so column types come through as Tableau expects:
dates as dates, measures as doubles, counts as integers. The file is built
under a temporary name and renamed into place, so a reader never sees half
an extract.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from wattlake.config import Settings
from wattlake.transform import warehouse_tables

log = logging.getLogger(__name__)

EXTRACT_TABLES = ("fct_site_daily_usage", "fct_area_daily_usage", "dim_sites")
EXTRACT_SCHEMA = "Extract"


class ExportError(RuntimeError):
    """The extract cannot be built; the message says why."""


@dataclass(frozen=True)
class ExportReport:
    """What the export wrote."""

    path: Path
    rows: dict[str, int]
    seconds: float


def hyper_path(settings: Settings) -> Path:
    """Where the Tableau extract goes."""
    return settings.build_dir / "tableau" / "wattlake.hyper"


def export_hyper(
    settings: Settings, tables: tuple[str, ...] = EXTRACT_TABLES
) -> ExportReport:
    """Write the marts of the local warehouse to `build/tableau/wattlake.hyper`.

    Raises:
        ExportError: the target is not the local warehouse, or a mart is missing.

    """
    import duckdb
    from tableauhyperapi import (
        Connection,
        CreateMode,
        HyperProcess,
        Telemetry,
        escape_name,
        escape_string_literal,
    )

    if settings.target != "local":
        raise ExportError(
            f"export reads the local DuckDB warehouse, but the target is {settings.target!r}; "
            "on AWS, connect Tableau live to Athena or Redshift instead"
        )
    if not settings.warehouse.exists():
        raise ExportError(
            f"no warehouse at {settings.warehouse}: run `wattlake transform` first"
        )
    started = time.perf_counter()
    destination = hyper_path(settings)
    destination.parent.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="wattlake-export-") as tmp:
        with duckdb.connect(str(settings.warehouse), read_only=True) as warehouse:
            existing = warehouse_tables(warehouse)
            missing = [table for table in tables if table not in existing]
            if missing:
                raise ExportError(
                    f"{settings.warehouse} has no {', '.join(missing)}: run `wattlake transform` first"
                )
            for table in tables:
                warehouse.execute(
                    f"copy (select * from main.{table}) to '{Path(tmp) / table}.parquet' (format parquet)"
                )
        building = Path(tmp) / destination.name
        parameters = {"log_dir": tmp, "log_config": ""}
        with (
            HyperProcess(
                Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters=parameters
            ) as hyper,
            Connection(
                hyper.endpoint, str(building), CreateMode.CREATE_AND_REPLACE
            ) as connection,
        ):
            connection.catalog.create_schema_if_not_exists(EXTRACT_SCHEMA)
            for table in tables:
                name = f"{escape_name(EXTRACT_SCHEMA)}.{escape_name(table)}"
                source = escape_string_literal(str(Path(tmp) / f"{table}.parquet"))
                connection.execute_command(
                    f"create table {name} as (select * from external({source}))"
                )
                rows[table] = connection.execute_scalar_query(
                    f"select count(*) from {name}"
                )
                log.info("export: %s: %s rows", table, f"{rows[table]:,}")
        os.replace(building, destination)
    return ExportReport(
        path=destination, rows=rows, seconds=time.perf_counter() - started
    )
