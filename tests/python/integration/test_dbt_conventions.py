"""Our dbt conventions (STYLE.md), checked on the parsed project's manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wattlake.storage import Lake

PREFIXES = {"staging": "stg_", "intermediate": "int_", "marts": ("fct_", "dim_")}


@pytest.fixture(scope="module")
def manifest(project_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    target = tmp_path_factory.mktemp("dbt-parse")
    lake = str(tmp_path_factory.mktemp("lake"))
    env = {**os.environ, "WATTLAKE_LAKE": lake, "WATTLAKE_WAREHOUSE": ":memory:"}
    subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "parse",
            "--quiet",
            "--profiles-dir",
            "profiles",
            "--target-path",
            str(target),
            "--no-partial-parse",
        ],
        cwd=project_dir,
        env=env,
        check=True,
    )
    data = json.loads((target / "manifest.json").read_text())
    data["_lake"] = lake
    return data


def models(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def test_models_live_in_their_layer_folder_with_its_prefix(manifest: dict) -> None:
    for model in models(manifest):
        layer = model["fqn"][1]
        assert layer in PREFIXES, (
            f"{model['name']}: not under models/staging|intermediate|marts"
        )
        assert model["name"].startswith(PREFIXES[layer]), (
            f"{model['name']}: wrong prefix for {layer}"
        )
        folder = Path(model["original_file_path"]).parent
        yml = Path(model["patch_path"].split("://", 1)[1])
        assert yml.parent == folder, (
            f"{model['name']}: documented in {yml}, not beside it"
        )
        assert yml.name.startswith("_") and yml.name.endswith("__models.yml")


def test_only_staging_reads_sources(manifest: dict) -> None:
    for model in models(manifest):
        if model["fqn"][1] != "staging":
            assert not model["sources"], f"{model['name']} reads a source directly"


def test_every_model_and_column_is_described(manifest: dict) -> None:
    for model in models(manifest):
        assert model["description"].strip(), f"{model['name']}: no description"
        assert model["columns"], f"{model['name']}: no columns documented"
        for name, column in model["columns"].items():
            assert column["description"].strip(), (
                f"{model['name']}.{name}: no description"
            )


def test_every_model_has_a_primary_key_test(manifest: dict) -> None:
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    for model in models(manifest):
        covering = [t for t in tests if model["unique_id"] in t["depends_on"]["nodes"]]
        names = {t["test_metadata"]["name"] for t in covering if t.get("test_metadata")}
        assert "unique_combination_of_columns" in names or "unique" in names, (
            f"{model['name']}: no primary-key test"
        )


def test_every_source_is_described_and_has_freshness(manifest: dict) -> None:
    for source in manifest["sources"].values():
        assert source["description"].strip() and source["source_description"].strip()
        assert source["loaded_at_field"] == "received_at", source["unique_id"]
        assert source["freshness"]["error_after"]["count"], source["unique_id"]
        for name, column in source["columns"].items():
            assert column["description"].strip(), f"{source['unique_id']}.{name}"


def test_sources_read_the_lake_where_the_storage_module_puts_raw_tables(
    manifest: dict,
) -> None:
    lake = Lake(manifest["_lake"])
    for source in manifest["sources"].values():
        location = source["config"]["meta"]["external_location"]
        assert f"read_parquet('{lake.raw_glob(source['name'])}'" in location, location
