"""Tableau extract: the marts people read, in one `.hyper` file, refreshed incrementally.

Each mart is copied out of the local DuckDB warehouse as Parquet and loaded by
Hyper itself (`external()`), so column types come through as Tableau expects:
dates as dates, timestamps as timestamps, measures as doubles, counts as
integers; every measure already carries its unit in its name (`energy_kwh`,
`total_cost_gbp`), and the workbook shows it as a caption ("Energy (kWh)").

Incremental refresh: beside the extract, `extract-state.json` records a
fingerprint of each mart (its columns, row count and an order-independent hash
of its rows, measures at single precision) and of the extract file it describes. A re-export replaces only
the tables whose fingerprint changed, in a copy of the previous extract; it
rewrites every table, and says why, when there is no previous extract, the
state is missing or from another format, or the extract was changed by
something else since. The file is built under a temporary name and renamed
into place, so a reader never sees half an extract.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from wattlake.config import Settings
from wattlake.transform import warehouse_tables

log = logging.getLogger(__name__)

# The marts people read, by subject. Hourly site-level marts stay out: at city
# scale they hold ~90 million rows, and the load-shape marts answer the same
# questions (Tableau on Athena/Redshift reads them live when needed).
EXTRACT_TABLES = (
    # dimensions
    "dim_sites",
    "dim_areas",
    "dim_date",
    # usage: daily and monthly, by site, area and site type
    "fct_site_daily_usage",
    "fct_area_daily_usage",
    "fct_site_type_daily_usage",
    "fct_site_monthly_usage",
    "fct_area_monthly_usage",
    "fct_site_type_monthly_usage",
    # load shapes and month comparisons
    "fct_area_load_profile_weekday_hour",
    "fct_area_load_profile_month_hour",
    "fct_site_type_load_profile_weekday_hour",
    "fct_site_type_load_profile_month_hour",
    "fct_area_monthly_usage_comparison",
    "fct_site_type_monthly_usage_comparison",
    # weather-normalised usage
    "fct_area_daily_degree_days",
    "fct_site_weather_sensitivity",
    # cost and CO2
    "fct_site_daily_cost",
    "fct_site_monthly_cost",
    # anomalies and alerts
    "fct_anomalies",
    "fct_anomaly_alerts",
    "fct_area_monthly_anomalies",
    # data quality and freshness
    "fct_meter_daily_quality",
    "fct_quarantined_rows_by_reason",
    "fct_source_freshness",
)
EXTRACT_SCHEMA = "Extract"
STATE_FORMAT = 2


class ExportError(RuntimeError):
    """The extract cannot be built; the message says why."""


@dataclass(frozen=True)
class ExtractReport:
    """What the extract step wrote."""

    path: Path
    rows: dict[str, int]
    columns: dict[str, list[tuple[str, str]]]  # table -> [(column, hyper type)]
    replaced: list[str]
    rewrite_reason: str | None  # why every table was rewritten; None if incremental
    seconds: float
    changed: bool = field(default=True)


def tableau_dir(settings: Settings) -> Path:
    """Where the Tableau files go."""
    return settings.build_dir / "tableau"


def hyper_path(settings: Settings) -> Path:
    """Where the Tableau extract goes."""
    return tableau_dir(settings) / "wattlake.hyper"


def state_path(settings: Settings) -> Path:
    """The fingerprints of the exported marts, for incremental refresh."""
    return tableau_dir(settings) / "extract-state.json"


def export_hyper(
    settings: Settings, tables: tuple[str, ...] = EXTRACT_TABLES
) -> ExtractReport:
    """Write the marts of the local warehouse to `build/tableau/wattlake.hyper`.

    Only the marts whose rows or columns changed since the last export are
    replaced; see the module docstring for when everything is rewritten.

    Raises:
        ExportError: the target is not the local warehouse, or a mart is missing.

    """
    import duckdb

    if settings.target != "local":
        raise ExportError(
            f"export reads the local DuckDB warehouse, but the target is {settings.target!r}; "
            "on AWS, connect Tableau live to Athena or Redshift instead "
            "(the .tds files of `wattlake export` on a local build)"
        )
    if not settings.warehouse.exists():
        raise ExportError(
            f"no warehouse at {settings.warehouse}: run `wattlake transform` first"
        )
    started = time.perf_counter()
    destination = hyper_path(settings)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse), read_only=True) as warehouse:
        existing = warehouse_tables(warehouse)
        missing = [table for table in tables if table not in existing]
        if missing:
            raise ExportError(
                f"{settings.warehouse} has no {', '.join(missing)}: run `wattlake transform` first"
            )
        fingerprints = {table: _fingerprint(warehouse, table) for table in tables}
        previous, reason = _previous_state(settings, destination)
        if reason is None:
            replaced = [
                table
                for table in tables
                if previous["tables"].get(table) != fingerprints[table]
            ]
            dropped = [table for table in previous["tables"] if table not in tables]
        else:
            replaced, dropped = list(tables), []
        if reason is None and not replaced and not dropped:
            log.info("export: the extract is up to date (no mart changed)")
        else:
            _write_extract(
                warehouse, destination, replaced, dropped, incremental=reason is None
            )
    changed = reason is not None or bool(replaced or dropped)
    if changed:
        state = {
            "format": STATE_FORMAT,
            "extract": _file_stamp(destination),
            "tables": fingerprints,
        }
        state_path(settings).write_text(json.dumps(state, indent=1) + "\n")
    if reason is not None:
        log.info("export: rewrote every table of the extract: %s", reason)
    elif replaced or dropped:
        log.info(
            "export: replaced %d of %d tables (%s)%s",
            len(replaced),
            len(tables),
            ", ".join(replaced) or "none",
            f", dropped {', '.join(dropped)}" if dropped else "",
        )
    return ExtractReport(
        path=destination,
        rows={table: fingerprints[table]["rows"] for table in tables},
        columns={
            table: [tuple(column) for column in fingerprints[table]["columns"]]
            for table in tables
        },
        replaced=replaced,
        rewrite_reason=reason,
        seconds=time.perf_counter() - started,
        changed=changed,
    )


def _fingerprint(warehouse, table: str) -> dict:  # noqa: ANN001 - a DuckDB connection
    """Columns, rows and an order-independent hash of a mart's rows."""
    columns = warehouse.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'main' and table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    # Measures are hashed at single precision: a mart rebuilt from the same rows
    # can differ in the last bits of a double (parallel sums add in another
    # order), and that is no change a reader of the extract could see.
    values = ", ".join(
        f'cast("{name}" as float)' if kind in ("DOUBLE", "FLOAT") else f'"{name}"'
        for name, kind in columns
    )
    rows, digest = warehouse.execute(
        f"select count(*), coalesce(sum(cast(hash({values}) as hugeint)), 0) "
        f"from main.{table}"
    ).fetchone()
    return {
        "columns": [[name, _hyper_type(kind)] for name, kind in columns],
        "rows": int(rows),
        "hash": str(digest),
    }


def _hyper_type(duckdb_type: str) -> str:
    """The Hyper type a DuckDB column arrives as through Parquet."""
    kind = duckdb_type.upper()
    if kind in ("VARCHAR", "UUID") or kind.startswith("VARCHAR"):
        return "text"
    if kind == "DATE":
        return "date"
    if kind.startswith("TIMESTAMP"):
        return "timestamp"
    if kind == "BOOLEAN":
        return "bool"
    if kind in ("DOUBLE", "FLOAT", "REAL") or kind.startswith("DECIMAL"):
        return "double"
    if kind in ("BIGINT", "HUGEINT", "UBIGINT", "UINTEGER"):
        return "big_int"
    if kind in ("INTEGER", "SMALLINT", "TINYINT", "USMALLINT", "UTINYINT"):
        return "int"
    raise ExportError(f"no Tableau type for DuckDB type {duckdb_type!r}")


def _file_stamp(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _previous_state(settings: Settings, destination: Path) -> tuple[dict, str | None]:
    """The previous export's state, or why it cannot be used (rewrite all)."""
    if not destination.exists():
        return {}, "no previous extract"
    path = state_path(settings)
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return {}, f"no {path.name} beside the previous extract"
    except json.JSONDecodeError as exc:
        return {}, f"{path} is not valid JSON ({exc})"
    if state.get("format") != STATE_FORMAT:
        return {}, f"{path.name} is from another export format"
    if state.get("extract") != _file_stamp(destination):
        return {}, f"{destination.name} changed since the last export"
    return state, None


def _write_extract(
    warehouse,  # noqa: ANN001 - a DuckDB connection
    destination: Path,
    tables: list[str],
    dropped: list[str],
    incremental: bool,
) -> None:
    """Build the extract (from a copy of the previous one when incremental)."""
    from tableauhyperapi import (
        Connection,
        CreateMode,
        HyperProcess,
        Telemetry,
        escape_name,
        escape_string_literal,
    )

    with tempfile.TemporaryDirectory(
        prefix="wattlake-export-", dir=destination.parent
    ) as tmp:
        for table in tables:
            warehouse.execute(
                f"copy (select * from main.{table}) to '{Path(tmp) / table}.parquet' (format parquet)"
            )
        building = Path(tmp) / destination.name
        if incremental:
            shutil.copyfile(destination, building)
        parameters = {"log_dir": tmp, "log_config": ""}
        mode = CreateMode.NONE if incremental else CreateMode.CREATE_AND_REPLACE
        with (
            HyperProcess(
                Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters=parameters
            ) as hyper,
            Connection(hyper.endpoint, str(building), mode) as connection,
        ):
            connection.catalog.create_schema_if_not_exists(EXTRACT_SCHEMA)
            for table in [*dropped, *tables]:
                name = f"{escape_name(EXTRACT_SCHEMA)}.{escape_name(table)}"
                connection.execute_command(f"drop table if exists {name}")
            for table in tables:
                name = f"{escape_name(EXTRACT_SCHEMA)}.{escape_name(table)}"
                source = escape_string_literal(str(Path(tmp) / f"{table}.parquet"))
                connection.execute_command(
                    f"create table {name} as (select * from external({source}))"
                )
                rows = connection.execute_scalar_query(f"select count(*) from {name}")
                log.info("export: %s: %s rows", table, f"{rows:,}")
        os.replace(building, destination)
