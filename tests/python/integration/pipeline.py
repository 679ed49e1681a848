"""Helpers for the end-to-end tests: run the real CLI and read what it built."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

PROJECT_DIR = Path(__file__).resolve().parents[3]
WATTLAKE = str(Path(sys.executable).with_name("wattlake"))


def run_cli(
    args: list[str], tmp: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `wattlake <args>` with every output under `tmp`; fail loudly with its log."""
    env = {
        **os.environ,
        "WATTLAKE_LAKE": str(tmp / "lake"),
        "WATTLAKE_SCALE": "fixture",
        "WATTLAKE_SEED": "42",
        "WATTLAKE_TARGET": "local",
        "WATTLAKE_BUILD_DIR": str(tmp / "build"),
        "WATTLAKE_WAREHOUSE": str(tmp / "warehouse" / "wattlake.duckdb"),
        "WATTLAKE_SPARK_MASTER": "local[2]",
        # dbt's artifacts and log beside the run's outputs: runs in parallel
        # (pytest -n) never read each other's run_results.json
        "DBT_TARGET_PATH": str(tmp / "dbt-target"),
        "DBT_LOG_PATH": str(tmp / "dbt-logs"),
        **(extra_env or {}),
    }
    env.pop("WATTLAKE_S3_ENDPOINT_URL", None) if "WATTLAKE_S3_ENDPOINT_URL" not in (
        extra_env or {}
    ) else None
    completed = subprocess.run(
        [WATTLAKE, *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(
            f"wattlake {' '.join(args)} exited {completed.returncode}\n"
            f"--- stdout\n{completed.stdout[-6000:]}\n--- stderr\n{completed.stderr[-6000:]}"
        )
    return completed


def mart(warehouse: Path, table: str) -> pd.DataFrame:
    """A mart's rows, in a stable order."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        frame = (
            connection.execute(f"select * from main.{table}")
            .fetch_arrow_table()
            .to_pandas()
        )
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)
