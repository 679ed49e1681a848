"""`wattlake docs` on a built warehouse: the site, and every real column documented.

The YAML check in test_dbt_conventions.py sees only the columns the YAML lists;
here dbt's catalog (the columns the models really have in the warehouse) is
compared with the documented ones, so a column added to a model's SQL without
a description fails too, and so does a description of a column that is gone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def docs(fixture_build: Path) -> dict:
    run_cli(["docs"], fixture_build)
    target = fixture_build / "dbt-target"
    return {
        "site": (fixture_build / "build" / "docs" / "index.html").read_text(),
        "manifest": json.loads((target / "manifest.json").read_text()),
        "catalog": json.loads((target / "catalog.json").read_text()),
    }


def column_mismatches(manifest: dict, catalog: dict) -> list[str]:
    """Built columns without a description, and described columns not built."""
    problems = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "seed"):
            continue
        built = catalog["nodes"].get(unique_id)
        if built is None:
            problems.append(f"{node['name']}: not in the warehouse's catalog")
            continue
        real = {name.lower() for name in built["columns"]}
        described = {
            name.lower()
            for name, column in node["columns"].items()
            if column["description"].strip()
        }
        listed = {name.lower() for name in node["columns"]}
        problems += [
            f"{node['name']}.{name}: no description"
            for name in sorted(real - described)
        ]
        problems += [
            f"{node['name']}.{name}: documented but not built"
            for name in sorted(listed - real)
        ]
    return problems


def test_every_built_column_is_documented(docs: dict) -> None:
    problems = column_mismatches(docs["manifest"], docs["catalog"])
    assert not problems, "the YAML and the warehouse disagree:\n" + "\n".join(problems)


def test_the_column_check_finds_an_undocumented_column(docs: dict) -> None:
    catalog = json.loads(json.dumps(docs["catalog"]))
    columns = catalog["nodes"]["model.wattlake.dim_meters"]["columns"]
    columns["meter_colour"] = {**columns["meter_id"], "name": "meter_colour"}
    del columns["site_id"]
    assert column_mismatches(docs["manifest"], catalog) == [
        "dim_meters.meter_colour: no description",
        "dim_meters.site_id: documented but not built",
    ]


def test_the_docs_site_shows_the_concepts_marts_and_exposures(docs: dict) -> None:
    site = docs["site"]
    for text in (
        "Interval energy vs demand",
        "Local days",
        "legitimate_export",
        "dst_shifted",
        "registry_versioning",
        "model.wattlake.dim_meters",
        "model.wattlake.fct_source_freshness",
        "exposure.wattlake.tableau_extract",
        "exposure.wattlake.web_dashboard",
    ):
        assert text in site, f"{text!r} is not on the docs site"
