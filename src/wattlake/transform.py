"""The dbt stage: run dbt with Wattlake's settings, on DuckDB, Athena or Redshift.

dbt runs as a subprocess of the same virtual environment, so its output streams
to the terminal as it works and the DuckDB file is closed when it ends. The
settings reach dbt as environment variables (`WATTLAKE_LAKE`, ...), which
`profiles/profiles.yml` and the sources read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from wattlake.config import Settings
from wattlake.storage import Lake

log = logging.getLogger(__name__)

# the marts: what dashboards and analysts read (models/marts/)
MART_PREFIXES = ("dim_", "fct_")


class TransformError(RuntimeError):
    """dbt failed; the message says which step and where its log is."""


@dataclass(frozen=True)
class TransformReport:
    """What a dbt invocation did."""

    command: list[str]
    statuses: dict[str, int]
    failures: list[str]
    seconds: float
    mart_rows: dict[str, int] = field(default_factory=dict)
    warehouse: str = ""
    # dbt's own execution time of each node it ran, by unique_id
    node_seconds: dict[str, float] = field(default_factory=dict)


def dbt_environment(
    settings: Settings, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment dbt runs in: the caller's plus Wattlake's settings."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "WATTLAKE_LAKE": settings.lake,
            "WATTLAKE_TARGET": settings.target,
            "WATTLAKE_WAREHOUSE": str(settings.warehouse),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    if settings.s3_endpoint_url:
        endpoint = urlparse(settings.s3_endpoint_url)
        env["WATTLAKE_DUCKDB_S3_ENDPOINT"] = endpoint.netloc
        env["WATTLAKE_DUCKDB_S3_USE_SSL"] = (
            "true" if endpoint.scheme == "https" else "false"
        )
        env["WATTLAKE_DUCKDB_S3_URL_STYLE"] = "path"
    return env


def httpfs_extension_file() -> Path:
    """The httpfs extension shipped in the `duckdb-extension-httpfs` wheel."""
    import duckdb
    import duckdb_extension_httpfs

    root = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    wanted = root / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if not wanted.is_file():
        found = sorted(root.glob("*/httpfs.duckdb_extension"))
        raise TransformError(
            f"no httpfs extension for DuckDB {duckdb.__version__} in {root} "
            f"(found: {', '.join(str(p) for p in found) or 'none'}); "
            "duckdb and duckdb-extension-httpfs must be the same release"
        )
    return wanted


def ensure_httpfs() -> None:
    """Install DuckDB's httpfs extension from its wheel (DuckDB cannot download it here)."""
    import duckdb

    with duckdb.connect() as connection:
        installed = connection.execute(
            "select installed from duckdb_extensions() where extension_name = 'httpfs'"
        ).fetchone()
        if not (installed and installed[0]):
            connection.execute(f"install '{httpfs_extension_file()}'")
            log.info("transform: installed DuckDB's httpfs extension from its wheel")


def dbt_target_dir(settings: Settings) -> Path:
    """Where dbt writes its artifacts: `DBT_TARGET_PATH` if set, else target/."""
    return settings.project_dir / os.environ.get("DBT_TARGET_PATH", "target")


def dbt_log_file(settings: Settings) -> Path:
    """The dbt log file: under `DBT_LOG_PATH` if set, else logs/."""
    return settings.project_dir / os.environ.get("DBT_LOG_PATH", "logs") / "dbt.log"


def dbt_executable() -> str:
    """The dbt command of this virtual environment."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(settings: Settings, args: list[str], check: bool = True) -> TransformReport:
    """Run one dbt command with Wattlake's settings and summarise its results.

    Raises:
        TransformError: dbt exited non-zero (when `check` is set).

    """
    if settings.target == "local":
        settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
        ensure_httpfs()
        Lake(settings.lake, settings.s3_endpoint_url).ensure_folders()
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(settings.project_dir),
        "--profiles-dir",
        str(settings.project_dir / "profiles"),
        "--target",
        settings.target,
    ]
    if not log.isEnabledFor(logging.INFO):
        # `wattlake --quiet`: dbt prints its warnings and errors only; its log
        # file keeps its own level (--log-level alone would set both)
        command += [
            "--log-level",
            "warn",
            "--log-level-file",
            os.environ.get("DBT_LOG_LEVEL_FILE", "debug"),
        ]
    results = dbt_target_dir(settings) / "run_results.json"
    results.unlink(missing_ok=True)  # never summarise an earlier run
    log.info("transform: dbt %s", " ".join(args))
    started = time.perf_counter()
    completed = subprocess.run(
        command, env=dbt_environment(settings), cwd=settings.project_dir, check=False
    )
    seconds = time.perf_counter() - started
    statuses, failures, node_seconds = _read_run_results(results)
    report = TransformReport(
        command=args,
        statuses=statuses,
        failures=failures,
        seconds=seconds,
        node_seconds=node_seconds,
        warehouse=str(settings.warehouse)
        if settings.target == "local"
        else settings.target,
    )
    if check and completed.returncode != 0:
        listed = "; ".join(failures[:10]) or "see the output above"
        raise TransformError(
            f"dbt {' '.join(args)} failed (exit {completed.returncode}): {listed}. "
            f"Full log: {dbt_log_file(settings)}"
        )
    return report


# dbt's unit tests check the models' logic on hand-made rows, not the data:
# a build leaves them out (on Athena each one is a query) and `make test` runs
# them once, with `wattlake transform --unit-tests`
WITHOUT_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]
UNIT_TESTS = ["test", "--select", "test_type:unit"]


def transform(
    settings: Settings, selector: str | None = None, extra: list[str] | None = None
) -> TransformReport:
    """`dbt build` (optionally one selector of `selectors.yml`), then count mart rows.

    Models, seeds, snapshots and data tests; not the unit tests (`unit_tests`).
    A local warehouse belongs to one lake: if it was built from another lake,
    it is rebuilt from scratch (`--full-refresh`) instead of mixing the two.
    Likewise when a seed an incremental model reads (`incremental_seeds`) has
    changed since the warehouse was built: incremental models restate the
    dates whose upstream rows were restated, and a seed's rows carry no date.
    And when an incremental run fails on tables an earlier version of the
    models built with other columns (`stale_incremental_tables`): it is run
    again as a full refresh.
    """
    args = ["build", *WITHOUT_UNIT_TESTS]
    if selector:
        args += ["--selector", selector]
    args += extra or []
    marker = _read_marker(settings) if settings.target == "local" else None
    if marker is not None and "--full-refresh" not in args:
        built_from = marker.get("lake", "")
        if built_from != settings.lake:
            log.warning(
                "transform: %s was built from lake %s, not %s: rebuilding it (--full-refresh)",
                settings.warehouse,
                built_from,
                settings.lake,
            )
            args.append("--full-refresh")
        elif changed := changed_seeds(settings, marker.get("seeds", {})):
            log.warning(
                "transform: %s was built with another %s, which incremental models "
                "read: rebuilding it (--full-refresh)",
                settings.warehouse,
                ", ".join(changed),
            )
            args.append("--full-refresh")
    try:
        report = run_dbt(settings, args)
    except TransformError:
        stale = (
            stale_incremental_tables(settings)
            if marker is not None and "--full-refresh" not in args
            else []
        )
        if not stale:
            raise
        log.warning(
            "transform: %s in %s hold other columns than their models now "
            "document (built before the models changed): rebuilding it (--full-refresh)",
            ", ".join(stale),
            settings.warehouse,
        )
        args.append("--full-refresh")
        report = run_dbt(settings, args)
    if settings.target == "local":
        # a partial build leaves some incremental models as they were: the
        # seeds they were built with stay recorded until a whole build
        whole = not selector and not any(
            arg.split("=")[0] in SELECTING for arg in extra or []
        )
        seeds = (
            seed_digests(settings, incremental_seeds(settings))
            if whole or marker is None or "seeds" not in marker
            else marker["seeds"]
        )
        _warehouse_marker(settings).write_text(
            json.dumps({"lake": settings.lake, "seeds": seeds}) + "\n"
        )
        report = TransformReport(
            **{**report.__dict__, "mart_rows": mart_row_counts(settings)}
        )
    return report


def unit_tests(settings: Settings) -> TransformReport:
    """Every dbt unit test (`unit_tests:` in the models' YAML).

    They read the column types of the models they test from the warehouse:
    run them on a built one.

    Raises:
        TransformError: the local warehouse has not been built yet.

    """
    if settings.target == "local" and warehouse_lake(settings) is None:
        raise TransformError(
            f"no warehouse at {settings.warehouse}: dbt's unit tests read the "
            "column types of the models they test from it; build it first "
            "(`wattlake transform`, or `make run`)"
        )
    return run_dbt(settings, UNIT_TESTS)


def _warehouse_marker(settings: Settings) -> Path:
    return settings.warehouse.with_name(settings.warehouse.name + ".lake.json")


def _read_marker(settings: Settings) -> dict | None:
    """What the local warehouse was last built from (None for a new warehouse)."""
    marker = _warehouse_marker(settings)
    if not settings.warehouse.exists():
        return None
    if not marker.exists():
        return {"lake": ""}  # a warehouse of unknown origin: rebuild it
    return json.loads(marker.read_text())


def warehouse_lake(settings: Settings) -> str | None:
    """The lake the local warehouse was last built from (None for a new warehouse)."""
    marker = _read_marker(settings)
    return None if marker is None else marker.get("lake")


def _manifest(settings: Settings) -> dict:
    """The manifest of the dbt run that just ended (dbt writes it before running a node)."""
    return json.loads((dbt_target_dir(settings) / "manifest.json").read_text())


# dbt arguments that build part of the project
SELECTING = {"-s", "--select", "-m", "--models", "--selector", "--exclude"}


def incremental_seeds(settings: Settings) -> list[str]:
    """The seed files (relative to the project) incremental models read, directly or not.

    Models rebuilt whole on every run (tables, views, the lake tables without
    a partition key) follow a seed's edits by themselves.
    """
    manifest = _manifest(settings)
    nodes = manifest["nodes"]
    pending = [
        unique_id
        for unique_id, node in nodes.items()
        if node["resource_type"] == "model"
        and (
            node["config"]["materialized"] == "incremental"
            or (
                node["config"]["materialized"] == "lake_partitions"
                and node["config"].get("partition_by")
            )
        )
    ]
    upstream: set[str] = set()
    while pending:
        for parent in manifest["parent_map"].get(pending.pop(), []):
            if parent not in upstream:
                upstream.add(parent)
                pending.append(parent)
    return sorted(
        nodes[unique_id]["original_file_path"]
        for unique_id in upstream
        if unique_id.startswith("seed.")
    )


def seed_digests(settings: Settings, seeds: list[str]) -> dict[str, str | None]:
    """Each seed file's SHA-256 (None for a file that is gone)."""
    digests = {}
    for seed in seeds:
        path = settings.project_dir / seed
        digests[seed] = (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        )
    return digests


def stale_incremental_tables(settings: Settings) -> list[str]:
    """Incremental models whose warehouse table holds other columns than they document.

    Tables an earlier version of the models built, which an incremental run
    cannot extend.
    """
    import duckdb

    documented = {
        node["alias"]: {column.lower() for column in node["columns"]}
        for node in _manifest(settings)["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"]["materialized"] == "incremental"
        and node["columns"]
    }
    built: dict[str, set[str]] = {}
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        for table, column in connection.execute(
            "select table_name, lower(column_name) from information_schema.columns "
            "where table_schema = 'main'"
        ).fetchall():
            built.setdefault(table, set()).add(column)
    return sorted(
        name
        for name, columns in documented.items()
        if name in built and built[name] != columns
    )


def changed_seeds(settings: Settings, recorded: dict[str, str | None]) -> list[str]:
    """The recorded seeds whose file is no longer what it was."""
    current = seed_digests(settings, list(recorded))
    return [seed for seed in recorded if current[seed] != recorded[seed]]


def mart_row_counts(settings: Settings) -> dict[str, int]:
    """Rows in each mart (`dim_*`, `fct_*` table) of the local warehouse."""
    import duckdb

    if not settings.warehouse.exists():
        return {}
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        existing = warehouse_tables(connection)
        return {
            table: connection.execute(f"select count(*) from main.{table}").fetchone()[
                0
            ]
            for table in sorted(existing)
            if table.startswith(MART_PREFIXES)
        }


def warehouse_tables(connection) -> set[str]:  # noqa: ANN001 - a DuckDB connection
    """Names of the tables and views in the local warehouse's main schema."""
    rows = connection.execute(
        "select table_name from information_schema.tables where table_schema = 'main'"
    ).fetchall()
    return {row[0] for row in rows}


def _read_run_results(
    path: Path,
) -> tuple[dict[str, int], list[str], dict[str, float]]:
    """Counts by status, the failures, and each node's execution time."""
    if not path.exists():
        return {}, [], {}
    results = json.loads(path.read_text()).get("results", [])
    statuses: dict[str, int] = {}
    failures = []
    node_seconds = {}
    for result in results:
        status = str(result.get("status"))
        statuses[status] = statuses.get(status, 0) + 1
        node_seconds[str(result.get("unique_id"))] = float(
            result.get("execution_time") or 0.0
        )
        if status in ("error", "fail"):
            failures.append(
                f"{result.get('unique_id')}: {(result.get('message') or '').strip()[:200]}"
            )
    return statuses, failures, node_seconds
