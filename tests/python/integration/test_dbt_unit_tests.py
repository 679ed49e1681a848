"""dbt's unit tests, run once on a built warehouse (every build leaves them out)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import yaml
from pipeline import PROJECT_DIR, run_cli

from wattlake.cli import main

pytestmark = pytest.mark.slow


def project_unit_tests() -> list[str]:
    """The names of the `unit_tests:` entries in the models' YAML files."""
    names = []
    for path in sorted((PROJECT_DIR / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text()) or {}
        names += [test["name"] for test in document.get("unit_tests", [])]
    return names


def test_every_unit_test_runs_once_and_passes(fixture_build: Path) -> None:
    expected = project_unit_tests()
    assert len(expected) >= 30, "the models' unit tests were not found"
    completed = run_cli(["transform", "--unit-tests"], fixture_build)
    summary = re.search(
        r"transform \[unit tests\]: dbt (?P<counts>.*?) -> ", completed.stderr
    )
    assert summary, completed.stderr[-3000:]
    assert summary["counts"] == f"pass={len(expected)}"


def test_a_build_leaves_the_unit_tests_out(fixture_build: Path) -> None:
    # a model with unit tests, rebuilt as it was (a table)
    completed = run_cli(
        ["transform", "--", "--select", "int_anomaly_flags"], fixture_build
    )
    started = re.findall(r" START (\w+)", completed.stdout)
    assert started, completed.stdout[-3000:]
    assert "unit_test" not in started


def test_unit_tests_take_no_selection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    argv = ["--lake", str(tmp_path / "lake"), "transform", "--unit-tests"]
    with caplog.at_level(logging.ERROR):
        assert main([*argv, "--", "--select", "fct_anomalies"]) == 2
    assert (
        "it takes no --selector and no dbt arguments (got --select fct_anomalies)"
        in (caplog.text)
    )


def test_unit_tests_want_a_built_warehouse(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    warehouse = tmp_path / "warehouse" / "wattlake.duckdb"
    monkeypatch.setenv("WATTLAKE_WAREHOUSE", str(warehouse))
    argv = ["--lake", str(tmp_path / "lake"), "transform", "--unit-tests"]
    with caplog.at_level(logging.ERROR):
        assert main(argv) != 0
    assert f"no warehouse at {warehouse}" in caplog.text
    assert "build it first" in caplog.text
    assert not warehouse.exists()
