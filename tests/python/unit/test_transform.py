"""When `wattlake transform` rebuilds the local warehouse from scratch.

dbt itself is not run here: `run_dbt` is replaced by a recorder, and the
manifest a dbt run leaves behind is written by hand. The dbt side (a full
refresh rebuilds every incremental model) is covered by the integration tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from wattlake import transform as stage
from wattlake.config import Settings


def node(kind: str, materialized: str | None = None, **config) -> dict:
    return {
        "resource_type": kind,
        "config": {"materialized": materialized, **config},
        "original_file_path": "",
        "alias": "",
        "columns": {},
    }


def write_manifest(project: Path) -> None:
    """A project: seeds a..e, each read by one kind of model."""
    nodes = {
        # a seed read through a view by an incremental model
        "seed.p.a": node("seed"),
        "model.p.view_of_a": node("model", "view"),
        "model.p.incremental": node("model", "incremental"),
        # a seed read by a table only: rebuilt whole, it follows the seed
        "seed.p.b": node("seed"),
        "model.p.table": node("model", "table"),
        # a seed read by a model stored in the lake by date
        "seed.p.c": node("seed"),
        "model.p.lake_by_date": node("model", "lake_partitions", partition_by="d"),
        # a seed read by a lake table written whole
        "seed.p.d": node("seed"),
        "model.p.lake_whole": node("model", "lake_partitions", partition_by=None),
        # a seed nothing reads
        "seed.p.e": node("seed"),
    }
    for name in "abcde":
        nodes[f"seed.p.{name}"]["original_file_path"] = f"seeds/{name}.csv"
    for unique_id, entry in nodes.items():
        entry["alias"] = unique_id.rsplit(".", 1)[-1]
    # the columns the incremental model documents
    nodes["model.p.incremental"]["columns"] = {"day": {}, "kwh": {}, "restated_at": {}}
    parents = {
        "model.p.view_of_a": ["seed.p.a"],
        "model.p.incremental": ["model.p.view_of_a"],
        "model.p.table": ["seed.p.b"],
        "model.p.lake_by_date": ["seed.p.c"],
        "model.p.lake_whole": ["seed.p.d"],
    }
    target = project / "target"
    target.mkdir(exist_ok=True)
    (target / "manifest.json").write_text(
        json.dumps({"nodes": nodes, "parent_map": parents})
    )


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    (tmp_path / "seeds").mkdir()
    for name in "abcde":
        (tmp_path / "seeds" / f"{name}.csv").write_text(f"{name}\n1\n")
    write_manifest(tmp_path)
    return Settings(
        project_dir=tmp_path,
        lake=str(tmp_path / "lake"),
        s3_endpoint_url=None,
        target="local",
        scale=None,
        seed=0,
        build_dir=tmp_path / "build",
        warehouse=tmp_path / "warehouse" / "w.duckdb",
    )


def fake_dbt(
    monkeypatch: pytest.MonkeyPatch, fail_incremental_runs: bool = False
) -> list[list[str]]:
    """The arguments of each dbt run; a run that succeeds creates the warehouse file."""
    calls: list[list[str]] = []

    def run_dbt(settings: Settings, args: list[str]) -> stage.TransformReport:
        calls.append(list(args))
        if fail_incremental_runs and "--full-refresh" not in args:
            raise stage.TransformError("dbt build failed")
        settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
        settings.warehouse.touch()
        return stage.TransformReport(command=args, statuses={}, failures=[], seconds=0)

    monkeypatch.setattr(stage, "run_dbt", run_dbt)
    monkeypatch.setattr(stage, "mart_row_counts", lambda settings: {})
    return calls


@pytest.fixture
def dbt_calls(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    return fake_dbt(monkeypatch)


def test_the_seeds_recorded_are_those_incremental_models_read(settings) -> None:
    assert stage.incremental_seeds(settings) == ["seeds/a.csv", "seeds/c.csv"]


def test_an_edited_seed_an_incremental_model_reads_rebuilds_the_warehouse(
    settings, dbt_calls, caplog
) -> None:
    stage.transform(settings)
    stage.transform(settings)
    assert ["--full-refresh" in call for call in dbt_calls] == [False, False]

    (settings.project_dir / "seeds" / "c.csv").write_text("c\n2\n")
    with caplog.at_level("WARNING"):
        stage.transform(settings)
    assert "--full-refresh" in dbt_calls[-1]
    assert "seeds/c.csv" in caplog.text
    # the rebuild recorded the edit: the next run is incremental again
    stage.transform(settings)
    assert "--full-refresh" not in dbt_calls[-1]


def test_an_edited_seed_only_whole_rebuilt_models_read_changes_nothing(
    settings, dbt_calls
) -> None:
    stage.transform(settings)
    for name in "bde":
        (settings.project_dir / "seeds" / f"{name}.csv").write_text(f"{name}\n2\n")
    stage.transform(settings)
    assert "--full-refresh" not in dbt_calls[-1]


def test_a_partial_build_keeps_the_edit_pending(settings, dbt_calls) -> None:
    stage.transform(settings)
    (settings.project_dir / "seeds" / "a.csv").write_text("a\n2\n")
    # the selected models are rebuilt, the others are not: the edit stays
    # unrecorded until a build of the whole project
    stage.transform(settings, extra=["--select", "incremental"])
    assert "--full-refresh" in dbt_calls[-1]
    stage.transform(settings, selector="marts")
    assert "--full-refresh" in dbt_calls[-1]
    stage.transform(settings)
    assert "--full-refresh" in dbt_calls[-1]
    stage.transform(settings)
    assert "--full-refresh" not in dbt_calls[-1]


def test_a_deleted_seed_rebuilds_the_warehouse(settings, dbt_calls) -> None:
    stage.transform(settings)
    (settings.project_dir / "seeds" / "a.csv").unlink()
    stage.transform(settings)
    assert "--full-refresh" in dbt_calls[-1]


def test_a_warehouse_recorded_before_seeds_were_is_not_rebuilt(
    settings, dbt_calls
) -> None:
    stage.transform(settings)
    marker = stage._warehouse_marker(settings)
    marker.write_text(json.dumps({"lake": settings.lake}) + "\n")
    stage.transform(settings)
    assert "--full-refresh" not in dbt_calls[-1]
    assert set(json.loads(marker.read_text())["seeds"]) == {
        "seeds/a.csv",
        "seeds/c.csv",
    }


def test_another_lake_still_rebuilds_the_warehouse(settings, dbt_calls) -> None:
    stage.transform(settings)
    stage.transform(settings.with_overrides(lake=settings.lake + "-other"))
    assert "--full-refresh" in dbt_calls[-1]


def build_tables(settings: Settings, **tables: str) -> None:
    """A warehouse holding `name=columns` tables, as an earlier run built them."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse)) as connection:
        for name, columns in tables.items():
            connection.execute(f"create or replace table {name} ({columns})")


@pytest.fixture
def failing_incrementally(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> list[list[str]]:
    """dbt runs that fail unless they are full refreshes, on a recorded warehouse."""
    marker = stage._warehouse_marker(settings)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"lake": settings.lake}) + "\n")
    return fake_dbt(monkeypatch, fail_incremental_runs=True)


def test_a_table_an_earlier_version_built_is_rebuilt_when_the_run_fails(
    settings, failing_incrementally, caplog
) -> None:
    # built before the model documented restated_at: an incremental run fails
    build_tables(settings, incremental="day date, kwh double", other="x int")
    assert stage.stale_incremental_tables(settings) == ["incremental"]
    with caplog.at_level("WARNING"):
        stage.transform(settings)
    assert ["--full-refresh" in call for call in failing_incrementally] == [False, True]
    assert "incremental" in caplog.text


def test_a_failure_with_tables_as_documented_is_raised(
    settings, failing_incrementally
) -> None:
    build_tables(
        settings,
        incremental="day date, kwh double, restated_at timestamp",
        other="x int",
    )
    assert stage.stale_incremental_tables(settings) == []
    with pytest.raises(stage.TransformError):
        stage.transform(settings)
    assert len(failing_incrementally) == 1
