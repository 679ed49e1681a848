"""The packaged Tableau workbook (`.twbx`) on the extract, and live `.tds` data sources.

One data source per extracted mart, named after the mart: in the workbook it
reads the `.hyper` packaged beside the `.twb`; in `athena/<mart>.tds` and
`redshift/<mart>.tds` it reads the same mart live, with the same fields
(names, types, captions). In Tableau, "Replace Data Source" swaps a workbook
data source for its live twin without touching a worksheet.

Worksheets and dashboards are declared below as small specs (`Sheet`) and
written as Tableau XML; every field a sheet uses is declared in its data
source's dependencies, and the spec refuses a column its mart does not have.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from wattlake.config import Settings
from wattlake.export.tableau import EXTRACT_SCHEMA, ExportError, tableau_dir
from wattlake.labels import label

log = logging.getLogger(__name__)

WORKBOOK_VERSION = "18.1"
EXTRACT_IN_PACKAGE = "Data/Extracts/wattlake.hyper"
LIVE_ENGINES = ("athena", "redshift")
# Hyper type -> (Tableau datatype, metadata remote-type)
TABLEAU_TYPES = {
    "text": ("string", "129"),
    "date": ("date", "133"),
    "timestamp": ("datetime", "135"),
    "bool": ("boolean", "11"),
    "double": ("real", "5"),
    "int": ("integer", "3"),
    "big_int": ("integer", "20"),
}
# integer columns that are amounts (summed), not categories
MEASURE_INT_SUFFIXES = ("_count", "_intervals", "_rows", "_reported", "_hours")


@dataclass(frozen=True)
class Use:
    """A column on a shelf: `agg` is none, sum, avg, day (truncated) or month."""

    column: str
    agg: str = "none"


@dataclass(frozen=True)
class Sheet:
    """A worksheet: one mart, its shelves and a title that says how to read it."""

    name: str
    table: str
    title: str
    cols: tuple[Use, ...]
    rows: tuple[Use, ...]
    mark: str = "Automatic"
    color: Use | None = None
    text: Use | None = None


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: sheets stacked top to bottom."""

    name: str
    sheets: tuple[str, ...]


SHEETS = (
    # city overview
    Sheet(
        "City daily energy by area",
        "fct_area_daily_usage",
        "Energy per local day by area (kWh): the latest day is today's total so far",
        cols=(Use("reading_date_local", "day"),),
        rows=(Use("energy_kwh", "sum"),),
        mark="Area",
        color=Use("area_id"),
    ),
    Sheet(
        "Month vs last month and last year",
        "fct_area_monthly_usage_comparison",
        "Change by area and month (%): vs the previous month and the same month last year",
        cols=(Use("reading_month_local", "month"), Use("area_id")),
        rows=(
            Use("change_from_previous_month_pct", "sum"),
            Use("change_from_same_month_last_year_pct", "sum"),
        ),
        mark="Bar",
    ),
    Sheet(
        "Energy intensity by area",
        "fct_area_monthly_usage",
        "Energy per floor area by area and month (kWh per m²)",
        cols=(Use("area_id"),),
        rows=(Use("energy_kwh_per_m2", "sum"),),
        mark="Bar",
        color=Use("reading_month_local", "month"),
    ),
    Sheet(
        "Cost and CO2 by month",
        "fct_site_monthly_cost",
        "Bill (GBP) and emissions (kg CO2) of all sites by month",
        cols=(Use("reading_month_local", "month"),),
        rows=(Use("total_cost_gbp", "sum"), Use("co2_kg", "sum")),
        mark="Bar",
    ),
    # load shape
    Sheet(
        "Load shape heat map",
        "fct_area_load_profile_weekday_hour",
        "Average demand by weekday and local hour (kW): darker is busier",
        cols=(Use("hour_of_day_local"),),
        rows=(Use("iso_weekday_local"),),
        mark="Square",
        color=Use("avg_demand_kw", "sum"),
    ),
    Sheet(
        "Average day per month",
        "fct_area_load_profile_month_hour",
        "Average demand by local hour, one line per month (kW)",
        cols=(Use("hour_of_day_local"),),
        rows=(Use("avg_demand_kw", "sum"),),
        mark="Line",
        color=Use("reading_month_local", "month"),
    ),
    Sheet(
        "Average day per site type",
        "fct_site_type_load_profile_weekday_hour",
        "Average demand per site by local hour and site type (kW per site)",
        cols=(Use("hour_of_day_local"),),
        rows=(Use("avg_demand_kw_per_site", "avg"),),
        mark="Line",
        color=Use("site_type"),
    ),
    # site drill-down
    Sheet(
        "Site daily energy",
        "fct_site_daily_usage",
        "Energy per local day of the chosen site (kWh); filter on Site ID",
        cols=(Use("reading_date_local", "day"),),
        rows=(Use("energy_kwh", "sum"),),
        mark="Line",
        color=Use("site_id"),
    ),
    Sheet(
        "Site cost breakdown",
        "fct_site_monthly_cost",
        "The chosen site's bill by month (GBP): energy, fixed and demand charges",
        cols=(Use("reading_month_local", "month"), Use("site_id")),
        rows=(
            Use("energy_charge_gbp", "sum"),
            Use("fixed_charge_gbp", "sum"),
            Use("demand_charge_gbp", "sum"),
        ),
        mark="Bar",
    ),
    Sheet(
        "Site weather sensitivity",
        "fct_site_weather_sensitivity",
        "Extra energy per heating degree day by site (kWh per degree day)",
        cols=(Use("heating_kwh_per_degree_day", "sum"),),
        rows=(Use("site_id"),),
        mark="Bar",
        color=Use("site_type"),
    ),
    # anomalies
    Sheet(
        "Anomaly list",
        "fct_anomalies",
        "Detected anomalies: what happened, excess energy (kWh) and its cost (GBP)",
        cols=(),
        rows=(
            Use("site_id"),
            Use("anomaly_type"),
            Use("severity"),
            Use("explanation"),
        ),
        mark="Text",
        text=Use("excess_kwh", "sum"),
    ),
    Sheet(
        "Open alerts by severity",
        "fct_anomaly_alerts",
        "Alerts by severity and status: excess energy (kWh)",
        cols=(Use("severity"),),
        rows=(Use("excess_kwh", "sum"),),
        mark="Bar",
        color=Use("status"),
    ),
    Sheet(
        "Anomaly cost by area",
        "fct_area_monthly_anomalies",
        "Cost of anomalies by area and type per month (GBP)",
        cols=(Use("reading_month_local", "month"), Use("area_id")),
        rows=(Use("excess_cost_gbp", "sum"),),
        mark="Bar",
        color=Use("anomaly_type"),
    ),
    # data quality and freshness
    Sheet(
        "Coverage by day",
        "fct_meter_daily_quality",
        "Average share of each meter's day covered by clean readings (%)",
        cols=(Use("reading_date_local", "day"),),
        rows=(Use("coverage_pct", "avg"),),
        mark="Line",
    ),
    Sheet(
        "Quarantined rows by reason",
        "fct_quarantined_rows_by_reason",
        "Readings that could not be used, by reason (rows)",
        cols=(Use("quarantined_row_count", "sum"),),
        rows=(Use("quarantine_reason"),),
        mark="Bar",
    ),
    Sheet(
        "Source freshness",
        "fct_source_freshness",
        "Hours since each source last delivered; status fresh, late or stale",
        cols=(Use("hours_since_last_received", "sum"),),
        rows=(Use("source_name"), Use("table_name")),
        mark="Bar",
        color=Use("freshness_status"),
    ),
)

DASHBOARDS = (
    Dashboard(
        "City overview",
        (
            "City daily energy by area",
            "Month vs last month and last year",
            "Energy intensity by area",
            "Cost and CO2 by month",
        ),
    ),
    Dashboard(
        "Load shape",
        ("Load shape heat map", "Average day per month", "Average day per site type"),
    ),
    Dashboard(
        "Site drill-down",
        ("Site daily energy", "Site cost breakdown", "Site weather sensitivity"),
    ),
    Dashboard(
        "Anomalies",
        ("Anomaly list", "Open alerts by severity", "Anomaly cost by area"),
    ),
    Dashboard(
        "Data quality and freshness",
        ("Coverage by day", "Quarantined rows by reason", "Source freshness"),
    ),
)

AGGREGATIONS = {
    # agg -> (derivation, prefix)
    "none": ("None", "none"),
    "sum": ("Sum", "sum"),
    "avg": ("Avg", "avg"),
    "day": ("Day-Trunc", "tdy"),
    "month": ("Month-Trunc", "tmn"),
}


@dataclass(frozen=True)
class WorkbookReport:
    """What the workbook step wrote."""

    workbook: Path
    data_sources: dict[str, list[Path]]  # engine -> .tds files
    changed: bool


def workbook_path(settings: Settings) -> Path:
    """Where the packaged workbook goes."""
    return tableau_dir(settings) / "wattlake.twbx"


def live_source_path(settings: Settings, engine: str, table: str) -> Path:
    """Where the live data source of one mart on one engine goes."""
    return tableau_dir(settings) / engine / f"{table}.tds"


def export_workbook(
    settings: Settings,
    columns: dict[str, list[tuple[str, str]]],
    extract: Path,
    extract_changed: bool,
) -> WorkbookReport:
    """Write the `.twbx` (the `.twb` plus the extract) and the live `.tds` files.

    Args:
        settings: where to write (`build/tableau/`) and the live connection settings.
        columns: each extracted mart's columns and Hyper types.
        extract: the `.hyper` file to package.
        extract_changed: whether the extract changed; an unchanged extract and
            `.twb` leave the `.twbx` as it is.

    """
    twb = workbook_xml(columns)
    destination = workbook_path(settings)
    stamp = destination.with_suffix(".twb.sha256")
    digest = hashlib.sha256(twb).hexdigest()
    changed = (
        extract_changed
        or not destination.exists()
        or not stamp.exists()
        or stamp.read_text().strip() != digest
    )
    if changed:
        building = destination.with_name(f".{destination.name}.building")
        # the extract is already compressed; storing it keeps packaging fast
        with zipfile.ZipFile(building, "w") as package:
            package.writestr("wattlake.twb", twb, compress_type=zipfile.ZIP_DEFLATED)
            package.write(extract, EXTRACT_IN_PACKAGE, compress_type=zipfile.ZIP_STORED)
        os.replace(building, destination)
        stamp.write_text(digest + "\n")
        log.info("export: packaged workbook -> %s", destination)
    else:
        log.info("export: workbook unchanged (%s)", destination)
    sources: dict[str, list[Path]] = {}
    for engine in LIVE_ENGINES:
        sources[engine] = []
        for table, table_columns in columns.items():
            path = live_source_path(settings, engine, table)
            path.parent.mkdir(parents=True, exist_ok=True)
            element = data_source(table, table_columns, live_connection(engine, table))
            element.set("formatted-name", f"{table} ({engine})")
            _write_if_changed(path, _serialise(element))
            sources[engine].append(path)
    return WorkbookReport(destination, sources, changed)


def workbook_xml(columns: dict[str, list[tuple[str, str]]]) -> bytes:
    """The `.twb` document: data sources, worksheets, dashboards and windows."""
    for sheet in SHEETS:
        if sheet.table not in columns:
            raise ExportError(
                f"worksheet {sheet.name!r}: {sheet.table} is not extracted"
            )
        names = {name for name, _ in columns[sheet.table]}
        for use in _uses(sheet):
            if use.column not in names:
                raise ExportError(
                    f"worksheet {sheet.name!r}: {sheet.table} has no column {use.column}"
                )
    root = ET.Element(
        "workbook",
        {
            "source-build": "2024.2.0",
            "source-platform": "linux",
            "version": WORKBOOK_VERSION,
            "xmlns:user": "http://www.tableausoftware.com/xml/user",
        },
    )
    ET.SubElement(root, "preferences")
    sources = ET.SubElement(root, "datasources")
    for table, table_columns in columns.items():
        sources.append(data_source(table, table_columns, extract_connection(table)))
    worksheets = ET.SubElement(root, "worksheets")
    for sheet in SHEETS:
        worksheets.append(_worksheet(sheet, dict(columns[sheet.table])))
    dashboards = ET.SubElement(root, "dashboards")
    for dashboard in DASHBOARDS:
        dashboards.append(_dashboard(dashboard))
    windows = ET.SubElement(root, "windows", {"source-height": "30"})
    for dashboard in DASHBOARDS:
        ET.SubElement(windows, "window", {"class": "dashboard", "name": dashboard.name})
    for sheet in SHEETS:
        ET.SubElement(
            windows,
            "window",
            {"class": "worksheet", "hidden": "true", "name": sheet.name},
        )
    return _serialise(root)


def source_name(table: str) -> str:
    """The data source's internal name, the same in the workbook and the `.tds`."""
    return f"federated.{table}"


def extract_connection(table: str) -> tuple[dict[str, str], str]:
    """The Hyper connection of one mart: (connection attributes, table reference)."""
    return (
        {
            "class": "hyper",
            "authentication": "auth-none",
            "author-locale": "en_US",
            "dbname": EXTRACT_IN_PACKAGE,
            "default-settings": "yes",
            "schema": EXTRACT_SCHEMA,
            "tablename": table,
            "sslmode": "",
            "username": "tableau_internal_user",
        },
        f"[{EXTRACT_SCHEMA}].[{table}]",
    )


def live_connection(engine: str, table: str) -> tuple[dict[str, str], str]:
    """The live connection of one mart on Athena or Redshift, from the environment.

    The same variables as the dbt profiles (profiles/profiles.yml); a missing one
    is left as a placeholder that Tableau asks for when the source opens.
    """
    env = os.environ
    if engine == "athena":
        region = env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1"))
        schema = env.get("WATTLAKE_ATHENA_SCHEMA", "wattlake")
        return (
            {
                "class": "athena",
                "authentication": "username-password",
                "server": f"athena.{region}.amazonaws.com",
                "port": "443",
                "dbname": "awsdatacatalog",
                "schema": schema,
                "s3-staging-directory": env.get(
                    "WATTLAKE_ATHENA_RESULTS", "s3://YOUR-ATHENA-RESULTS-BUCKET/"
                ),
                "workgroup": env.get("WATTLAKE_ATHENA_WORKGROUP", "wattlake"),
                "username": "",
            },
            f"[{schema}].[{table}]",
        )
    if engine == "redshift":
        schema = env.get("WATTLAKE_REDSHIFT_SCHEMA", "wattlake")
        return (
            {
                "class": "redshift",
                "authentication": "username-password",
                "server": env.get(
                    "WATTLAKE_REDSHIFT_HOST", "YOUR-WORKGROUP.redshift.amazonaws.com"
                ),
                "port": env.get("WATTLAKE_REDSHIFT_PORT", "5439"),
                "dbname": env.get("WATTLAKE_REDSHIFT_DATABASE", "dev"),
                "schema": schema,
                "sslmode": "require",
                "username": env.get("WATTLAKE_REDSHIFT_USER", ""),
            },
            f"[{schema}].[{table}]",
        )
    raise ExportError(f"no live Tableau connection for {engine!r}")


def data_source(
    table: str,
    columns: list[tuple[str, str]],
    connection: tuple[dict[str, str], str],
) -> ET.Element:
    """One mart as a Tableau data source: its connection, then its fields."""
    attributes, reference = connection
    source = ET.Element(
        "datasource",
        {
            "caption": label(table.removeprefix("fct_").removeprefix("dim_")),
            "inline": "true",
            "name": source_name(table),
            "version": WORKBOOK_VERSION,
        },
    )
    federated = ET.SubElement(source, "connection", {"class": "federated"})
    named = ET.SubElement(
        ET.SubElement(federated, "named-connections"),
        "named-connection",
        {"caption": attributes["class"], "name": f"{attributes['class']}.wattlake"},
    )
    ET.SubElement(named, "connection", attributes)
    ET.SubElement(
        federated,
        "relation",
        {
            "connection": f"{attributes['class']}.wattlake",
            "name": table,
            "table": reference,
            "type": "table",
        },
    )
    records = ET.SubElement(federated, "metadata-records")
    for ordinal, (name, kind) in enumerate(columns):
        datatype, remote_type = TABLEAU_TYPES[kind]
        record = ET.SubElement(records, "metadata-record", {"class": "column"})
        for tag, text in (
            ("remote-name", name),
            ("remote-type", remote_type),
            ("local-name", f"[{name}]"),
            ("parent-name", f"[{table}]"),
            ("remote-alias", name),
            ("ordinal", str(ordinal)),
            ("local-type", datatype),
            ("contains-null", "true"),
        ):
            ET.SubElement(record, tag).text = text
    ET.SubElement(source, "aliases", {"enabled": "yes"})
    for name, kind in columns:
        source.append(_column(name, kind))
    ET.SubElement(
        source,
        "layout",
        {
            "dim-ordering": "alphabetic",
            "measure-ordering": "alphabetic",
            "show-structure": "true",
        },
    )
    return source


def _column(name: str, kind: str) -> ET.Element:
    datatype, _ = TABLEAU_TYPES[kind]
    measure = kind == "double" or (
        datatype == "integer" and name.endswith(MEASURE_INT_SUFFIXES)
    )
    if measure:
        role, field_type = "measure", "quantitative"
    elif datatype in ("date", "datetime", "integer"):
        role, field_type = "dimension", "ordinal"
    else:
        role, field_type = "dimension", "nominal"
    return ET.Element(
        "column",
        {
            "caption": label(name),
            "datatype": datatype,
            "name": f"[{name}]",
            "role": role,
            "type": field_type,
        },
    )


def _uses(sheet: Sheet) -> list[Use]:
    extra = [use for use in (sheet.color, sheet.text) if use is not None]
    return [*sheet.cols, *sheet.rows, *extra]


def _instance_name(use: Use, kind: str) -> str:
    _, prefix = AGGREGATIONS[use.agg]
    if use.agg in ("sum", "avg", "day", "month"):
        suffix = "qk"
    elif kind in ("text", "bool"):
        suffix = "nk"
    else:
        suffix = "ok"
    return f"[{prefix}:{use.column}:{suffix}]"


def _worksheet(sheet: Sheet, kinds: dict[str, str]) -> ET.Element:
    name = source_name(sheet.table)
    worksheet = ET.Element("worksheet", {"name": sheet.name})
    title = ET.SubElement(
        ET.SubElement(ET.SubElement(worksheet, "layout-options"), "title"),
        "formatted-text",
    )
    ET.SubElement(title, "run").text = sheet.title
    table = ET.SubElement(worksheet, "table")
    view = ET.SubElement(table, "view")
    ET.SubElement(
        ET.SubElement(view, "datasources"),
        "datasource",
        {"caption": label(sheet.table.removeprefix("fct_")), "name": name},
    )
    dependencies = ET.SubElement(view, "datasource-dependencies", {"datasource": name})
    uses = _uses(sheet)
    for column in dict.fromkeys(use.column for use in uses):
        dependencies.append(_column(column, kinds[column]))
    for use in dict.fromkeys(uses):
        derivation, _ = AGGREGATIONS[use.agg]
        instance = _instance_name(use, kinds[use.column])
        ET.SubElement(
            dependencies,
            "column-instance",
            {
                "column": f"[{use.column}]",
                "derivation": derivation,
                "name": instance,
                "pivot": "key",
                "type": {"qk": "quantitative", "nk": "nominal", "ok": "ordinal"}[
                    instance[-3:-1]
                ],
            },
        )
    ET.SubElement(view, "aggregation", {"value": "true"})
    ET.SubElement(table, "style")
    pane = ET.SubElement(ET.SubElement(table, "panes"), "pane")
    ET.SubElement(ET.SubElement(pane, "view"), "breakdown", {"value": "auto"})
    ET.SubElement(pane, "mark", {"class": sheet.mark})
    encodings = ET.SubElement(pane, "encodings")
    for tag, use in (("color", sheet.color), ("text", sheet.text)):
        if use is not None:
            ET.SubElement(
                encodings,
                tag,
                {"column": f"[{name}].{_instance_name(use, kinds[use.column])}"},
            )
    for tag, shelf in (("rows", sheet.rows), ("cols", sheet.cols)):
        refs = [f"[{name}].{_instance_name(use, kinds[use.column])}" for use in shelf]
        measures = all(use.agg in ("sum", "avg") for use in shelf)
        joined = (" + " if measures else " / ").join(refs)
        ET.SubElement(table, tag).text = f"({joined})" if len(refs) > 1 else joined
    return worksheet


def _dashboard(dashboard: Dashboard) -> ET.Element:
    element = ET.Element("dashboard", {"name": dashboard.name})
    ET.SubElement(element, "style")
    ET.SubElement(
        element,
        "size",
        {
            "maxheight": "900",
            "maxwidth": "1400",
            "minheight": "900",
            "minwidth": "1400",
        },
    )
    zones = ET.SubElement(element, "zones")
    layout = ET.SubElement(
        zones,
        "zone",
        {
            "h": "100000",
            "id": "1",
            "param": "vert",
            "type-v2": "layout-flow",
            "w": "100000",
            "x": "0",
            "y": "0",
        },
    )
    height = 100000 // len(dashboard.sheets)
    for index, sheet in enumerate(dashboard.sheets):
        ET.SubElement(
            layout,
            "zone",
            {
                "h": str(height),
                "id": str(index + 2),
                "name": sheet,
                "w": "100000",
                "x": "0",
                "y": str(index * height),
            },
        )
    return element


def _serialise(element: ET.Element) -> bytes:
    ET.indent(element)
    text = ET.tostring(element, encoding="unicode")
    return f"<?xml version='1.0' encoding='utf-8' ?>\n{text}\n".encode()


def _write_if_changed(path: Path, content: bytes) -> None:
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)
