"""Our dbt conventions (STYLE.md), checked on the parsed project's manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from wattlake.export.tableau import EXTRACT_TABLES
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


# sources the pipeline writes itself (the Spark job's output), not deliveries
PIPELINE_SOURCES = {"curated"}


def delivered_sources(manifest: dict) -> list[dict]:
    """The sources of delivered data (raw/): they have batches and freshness."""
    return [
        s
        for s in manifest["sources"].values()
        if s["source_name"] not in PIPELINE_SOURCES
    ]


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


def undocumented(manifest: dict) -> list[str]:
    """Every model, seed, source, exposure and documented column with no description."""
    missing = []
    nodes = [
        n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")
    ]
    for node in [*nodes, *manifest["sources"].values()]:
        name = node["unique_id"].split(".", 2)[2]
        if not node["description"].strip():
            missing.append(f"{node['resource_type']} {name}: no description")
        if node["resource_type"] == "model" and not node["columns"]:
            missing.append(f"model {name}: no columns documented")
        for column, spec in node["columns"].items():
            if not spec["description"].strip():
                missing.append(
                    f"{node['resource_type']} {name}.{column}: no description"
                )
    for exposure in manifest["exposures"].values():
        if not exposure["description"].strip():
            missing.append(f"exposure {exposure['name']}: no description")
    return missing


def test_every_model_and_column_is_described(manifest: dict) -> None:
    missing = undocumented(manifest)
    assert not missing, "undocumented in the YAML:\n" + "\n".join(missing)


def test_the_documentation_check_names_what_is_missing(manifest: dict) -> None:
    broken = json.loads(json.dumps(manifest))
    model = next(n for n in broken["nodes"].values() if n["name"] == "dim_sites")
    model["description"] = " "
    model["columns"]["site_name"]["description"] = ""
    assert undocumented(broken) == [
        "model dim_sites: no description",
        "model dim_sites.site_name: no description",
    ]


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
        for name, column in source["columns"].items():
            assert column["description"].strip(), f"{source['unique_id']}.{name}"
    for source in delivered_sources(manifest):
        assert source["loaded_at_field"] == "received_at", source["unique_id"]
        assert source["freshness"]["error_after"]["count"], source["unique_id"]


def test_sources_read_the_lake_where_the_storage_module_puts_raw_tables(
    manifest: dict,
) -> None:
    lake = Lake(manifest["_lake"])
    for source in delivered_sources(manifest):
        location = source["config"]["meta"]["external_location"]
        assert f"read_parquet('{lake.raw_glob(source['name'])}'" in location, location
    features = manifest["sources"]["source.wattlake.curated.anomaly_features"]
    location = features["config"]["meta"]["external_location"]
    assert f"read_parquet('{lake.anomaly_features_prefix()}/*/*.parquet'" in location


def test_every_source_takes_its_freshness_from_the_one_var(
    manifest: dict, project_dir: Path
) -> None:
    """Each source's dbt freshness is its wattlake_freshness entry, which lists its tables."""
    declared = yaml.safe_load((project_dir / "dbt_project.yml").read_text())["vars"][
        "wattlake_freshness"
    ]
    models = {n["name"] for n in manifest["nodes"].values()}
    for source in delivered_sources(manifest):
        entry = declared.get(source["source_name"])
        assert entry, f"{source['unique_id']}: no wattlake_freshness entry"
        assert source["name"] in entry["tables"], (
            f"{source['unique_id']}: missing from wattlake_freshness tables, "
            "so fct_source_freshness does not report it"
        )
        for level in ("warn_after", "error_after"):
            assert source["freshness"][level] == entry[level], (
                f"{source['unique_id']}: {level} is not the wattlake_freshness one"
            )
    for source_name, entry in declared.items():
        for table, spec in entry["tables"].items():
            assert f"source.wattlake.{source_name}.{table}" in manifest["sources"]
            assert spec["model"] in models, (
                f"{source_name}.{table}: no model {spec['model']}"
            )


def test_the_tableau_exposure_lists_the_extracted_marts(manifest: dict) -> None:
    exposure = manifest["exposures"]["exposure.wattlake.tableau_extract"]
    assert sorted(exposure["depends_on"]["nodes"]) == sorted(
        f"model.wattlake.{table}" for table in EXTRACT_TABLES
    )
