"""The Tableau files `wattlake run` exports: extract, packaged workbook, live sources."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pipeline import mart
from tableaudocumentapi import Datasource, Workbook
from tableauhyperapi import Connection, HyperProcess, TableName, Telemetry

from wattlake.config import load_settings
from wattlake.export.tableau import EXTRACT_TABLES, export_hyper
from wattlake.export.workbook import (
    DASHBOARDS,
    LIVE_ENGINES,
    SHEETS,
    TABLEAU_TYPES,
    export_workbook,
    source_name,
)

pytestmark = [pytest.mark.slow, pytest.mark.spark]


@pytest.fixture(scope="module")
def tableau(pipeline_run) -> Path:
    tmp, _ = pipeline_run
    return tmp


@contextlib.contextmanager
def open_copy(path: Path, folder: Path) -> Iterator[Connection]:
    """A Hyper connection to a copy of an extract.

    Hyper writes to a file it opens, and the export would then see an extract
    changed by someone else: tests read copies.
    """
    copy = folder / f"reading-{path.name}"
    shutil.copyfile(path, copy)
    with (
        HyperProcess(
            Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
            parameters={"log_dir": str(folder)},
        ) as hyper,
        Connection(hyper.endpoint, str(copy)) as connection,
    ):
        yield connection


def read_extract(path: Path, log_dir: Path) -> dict[str, pd.DataFrame]:
    """Every table of the extract, with Hyper's dates and timestamps as pandas'."""
    tables = {}
    with open_copy(path, log_dir) as connection:
        for name in connection.catalog.get_table_names("Extract"):
            definition = connection.catalog.get_table_definition(name)
            columns = [column.name.unescaped for column in definition.columns]
            rows = connection.execute_list_query(f"select * from {name}")
            frame = pd.DataFrame(rows, columns=columns)
            for column in columns:
                frame[column] = frame[column].map(_python_value)
            tables[name.name.unescaped] = frame
    return tables


def _python_value(value: object) -> object:
    if hasattr(value, "to_datetime"):
        return pd.Timestamp(value.to_datetime())
    if hasattr(value, "to_date"):
        return value.to_date()
    return value


def assert_same_rows(extract: pd.DataFrame, frame: pd.DataFrame, table: str) -> None:
    assert list(extract.columns) == list(frame.columns), table
    for column in frame.columns:
        if str(frame[column].dtype).startswith("datetime"):
            extract[column] = pd.to_datetime(extract[column])
        elif pd.api.types.is_numeric_dtype(frame[column]):
            extract[column] = pd.to_numeric(extract[column])
    extract = extract.sort_values(list(extract.columns)).reset_index(drop=True)
    pd.testing.assert_frame_equal(extract, frame, check_dtype=False, obj=table)


def test_the_extract_holds_exactly_the_rows_of_every_mart_people_read(
    tableau: Path, tmp_path: Path
) -> None:
    extract = read_extract(tableau / "build" / "tableau" / "wattlake.hyper", tmp_path)
    assert sorted(extract) == sorted(EXTRACT_TABLES)
    warehouse = tableau / "warehouse" / "wattlake.duckdb"
    for table in EXTRACT_TABLES:
        assert_same_rows(extract[table], mart(warehouse, table), table)
    # the fixture has rows where the pages need them
    for table in (
        "fct_site_daily_usage",
        "fct_meter_daily_quality",
        "fct_source_freshness",
    ):
        assert len(extract[table]) > 0, table


def test_the_workbook_opens_and_every_sheet_uses_fields_of_its_source(
    tableau: Path,
) -> None:
    path = tableau / "build" / "tableau" / "wattlake.twbx"
    with zipfile.ZipFile(path) as package:
        names = package.namelist()
        assert "wattlake.twb" in names and "Data/Extracts/wattlake.hyper" in names
        packaged = package.read("Data/Extracts/wattlake.hyper")
    assert packaged == (tableau / "build" / "tableau" / "wattlake.hyper").read_bytes()

    workbook = Workbook(str(path))
    assert workbook.worksheets == [sheet.name for sheet in SHEETS]
    assert workbook.dashboards == [dashboard.name for dashboard in DASHBOARDS]
    for subject in ("City overview", "Load shape", "Site drill-down", "Anomalies"):
        assert subject in workbook.dashboards
    assert any("quality" in name.lower() for name in workbook.dashboards)
    sources = {source.name: source for source in workbook.datasources}
    assert sorted(sources) == sorted(source_name(t) for t in EXTRACT_TABLES)
    for source in sources.values():
        connection = source.connections[0]
        assert connection.dbclass == "hyper"
        assert connection.dbname == "Data/Extracts/wattlake.hyper"

    # what each worksheet references, read from the XML itself
    root = workbook._workbookRoot
    for sheet in SHEETS:
        element = root.find(f".//worksheets/worksheet[@name='{sheet.name}']")
        dependencies = element.find(".//datasource-dependencies")
        source = sources[dependencies.get("datasource")]
        used = {column.get("name") for column in dependencies.findall("column")}
        assert used, sheet.name
        missing = used - set(source.fields)
        assert not missing, f"{sheet.name}: {missing} not in {source.name}"
        # and the library sees the sheet using exactly those fields
        assert {f.id for f in source.fields.used_by_sheet(sheet.name)} == used
        # every pill on a shelf or mark is a declared instance of a used column
        instances = {
            instance.get("name"): instance.get("column")
            for instance in dependencies.findall("column-instance")
        }
        assert set(instances.values()) <= used
        shelves = " ".join(
            (element.findtext(f".//table/{tag}") or "") for tag in ("rows", "cols")
        ) + " ".join(
            e.get("column") for e in element.iter() if e.tag in ("color", "text")
        )
        referenced = re.findall(r"\[federated\.[a-z_]+\]\.(\[[^\]]+\])", shelves)
        assert referenced, sheet.name
        assert set(referenced) <= set(instances), sheet.name


def test_live_sources_name_the_same_fields_as_the_extract(
    tableau: Path, tmp_path: Path
) -> None:
    extract = read_extract(tableau / "build" / "tableau" / "wattlake.hyper", tmp_path)
    workbook = Workbook(str(tableau / "build" / "tableau" / "wattlake.twbx"))
    in_workbook = {source.name: source for source in workbook.datasources}
    for engine in LIVE_ENGINES:
        files = sorted((tableau / "build" / "tableau" / engine).glob("*.tds"))
        assert [f.stem for f in files] == sorted(EXTRACT_TABLES)
        for path in files:
            live = Datasource.from_file(str(path))
            assert live.connections[0].dbclass == engine
            assert live.name == source_name(path.stem)
            fields = {(f.id, f.datatype, f.caption) for f in live.fields.values()}
            twin = {
                (f.id, f.datatype, f.caption)
                for f in in_workbook[live.name].fields.values()
            }
            assert fields == twin, path
            assert {f.id for f in live.fields.values()} == {
                f"[{column}]" for column in extract[path.stem].columns
            }, path


def test_field_types_match_the_extract_columns(tableau: Path, tmp_path: Path) -> None:
    expected = {
        "TEXT": "string",
        "DATE": "date",
        "TIMESTAMP": "datetime",
        "DOUBLE": "real",
        "INT": "integer",
        "BIG_INT": "integer",
        "BOOL": "boolean",
    }
    assert set(expected.values()) == {kind for kind, _ in TABLEAU_TYPES.values()}
    workbook = Workbook(str(tableau / "build" / "tableau" / "wattlake.twbx"))
    sources = {source.name: source for source in workbook.datasources}
    with open_copy(
        tableau / "build" / "tableau" / "wattlake.hyper", tmp_path
    ) as connection:
        for table in EXTRACT_TABLES:
            definition = connection.catalog.get_table_definition(
                TableName("Extract", table)
            )
            fields = sources[source_name(table)].fields
            for column in definition.columns:
                field = fields[f"[{column.name.unescaped}]"]
                assert (
                    field.datatype == expected[str(column.type.tag).split(".")[-1]]
                ), (
                    table,
                    column.name,
                )
    # units in captions, dates as dates
    daily = sources[source_name("fct_site_daily_usage")].fields
    assert daily["[energy_kwh]"].caption == "Energy (kWh)"
    assert daily["[reading_date_local]"].datatype == "date"


def test_a_re_export_replaces_only_the_marts_that_changed(
    tableau: Path, tmp_path: Path, project_dir: Path
) -> None:
    """On a copy: change one mart, export again, only it is replaced."""
    settings = load_settings(project_dir, environ={}).with_overrides(
        target="local",
        build_dir=tmp_path / "build",
        warehouse=tmp_path / "warehouse" / "wattlake.duckdb",
    )
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(tableau / "warehouse" / "wattlake.duckdb", settings.warehouse)
    shutil.copytree(tableau / "build" / "tableau", settings.build_dir / "tableau")
    unchanged = export_hyper(settings)
    assert unchanged.rewrite_reason is None and unchanged.replaced == []
    assert not unchanged.changed

    with duckdb.connect(str(settings.warehouse)) as connection:
        connection.execute(
            "update main.fct_area_daily_usage set energy_kwh = energy_kwh + 1 "
            "where reading_date_local = "
            "(select min(reading_date_local) from main.fct_area_daily_usage)"
        )
    changed = export_hyper(settings)
    assert changed.rewrite_reason is None
    assert changed.replaced == ["fct_area_daily_usage"]
    extract = read_extract(changed.path, tmp_path)
    for table in ("fct_area_daily_usage", "fct_site_daily_usage"):
        assert_same_rows(extract[table], mart(settings.warehouse, table), table)

    workbook = export_workbook(settings, changed.columns, changed.path, changed.changed)
    assert workbook.changed
    with zipfile.ZipFile(workbook.workbook) as package:
        assert package.read("Data/Extracts/wattlake.hyper") == changed.path.read_bytes()
    again = export_workbook(settings, changed.columns, changed.path, False)
    assert not again.changed

    stamp = changed.path.stat()
    os.utime(changed.path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    assert export_hyper(settings).rewrite_reason == (
        "wattlake.hyper changed since the last export"
    )
    changed.path.with_name("extract-state.json").unlink()
    assert export_hyper(settings).rewrite_reason == (
        "no extract-state.json beside the previous extract"
    )
