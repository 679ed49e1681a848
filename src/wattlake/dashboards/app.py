"""The Wattlake web dashboard (Streamlit): `wattlake dashboard [--public]` runs this script.

Pages: City, Patterns, Sites, Anomalies and alerts, Data quality (the public
view leaves out Sites and every site- or meter-level table). Filters for the
period, areas and site types live in the URL (`?start=...&end=...&area=...&type=...`),
so a view can be shared; the page links carry them along. Every number comes
from `wattlake.dashboards.queries.Marts`; query results are cached for
`CACHE_SECONDS`, so a page seen once renders from memory.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from functools import partial

import altair as alt
import pandas as pd
import streamlit as st

from wattlake.config import load_settings
from wattlake.dashboards.queries import (
    MIN_GROUP_HOMES,
    DashboardError,
    Filters,
    Marts,
    source_for,
)
from wattlake.labels import label

CACHE_SECONDS = 900
MAX_SITE_CHOICES = 500  # a city has 10,000 sites: the search narrows the list
DEFAULT_DAYS = 28


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="wattlake dashboard app")
    parser.add_argument("--public", action="store_true")
    return parser.parse_known_args(sys.argv[1:])[0]


OPTIONS = _options()
PUBLIC = OPTIONS.public


# ----------------------------------------------------------------- data access
@st.cache_resource(show_spinner=False)
def _source(target: str, warehouse: str):  # noqa: ANN202 - a queries.Source
    from pathlib import Path

    return source_for(target, Path(warehouse))


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=2000)
def _run(target: str, warehouse: str, version: str, sql: str) -> pd.DataFrame:
    """One query's result, cached per warehouse version (a refresh starts afresh)."""
    return _source(target, warehouse).query(sql)


def _marts() -> Marts:
    settings = load_settings()
    source = _source(settings.target, str(settings.warehouse))
    schema = {"local": "main"}.get(settings.target)
    if schema is None:
        import os

        variable = f"WATTLAKE_{settings.target.upper()}_SCHEMA"
        schema = os.environ.get(variable, "wattlake")
    # the local file says when it changed; on AWS results live for CACHE_SECONDS
    version = source.version() if hasattr(source, "version") else ""
    run = partial(_run, settings.target, str(settings.warehouse), version)
    return Marts(run=run, schema=schema, public=PUBLIC)


# ----------------------------------------------------------------- filters
def _url_date(name: str) -> date | None:
    value = st.query_params.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        st.warning(f"Ignoring {name}={value!r} in the URL: not a date like 2025-03-31.")
        return None


def _filters(marts: Marts) -> Filters:
    """The sidebar filters, started from the URL and written back to it."""
    first, last = marts.period_bounds()
    if first is None:
        raise DashboardError("the marts hold no usage yet: run `wattlake run` first")
    start = _url_date("start") or max(first, last - timedelta(days=DEFAULT_DAYS - 1))
    end = _url_date("end") or last
    start, end = max(first, min(start, last)), max(first, min(end, last))
    areas = marts.areas()
    area_names = dict(zip(areas["area_id"], areas["area_name"], strict=True))
    site_types = sorted(marts.sites()["site_type"].unique())
    with st.sidebar:
        st.markdown("### Filters")
        period = st.date_input(
            "Period (local days)",
            value=(start, min(max(end, start), last)),
            min_value=first,
            max_value=last,
            help=f"Data from {first} to {last}",
        )
        if isinstance(period, tuple | list) and len(period) == 2:
            start, end = period
        chosen_areas = st.multiselect(
            "Areas",
            list(area_names),
            default=[a for a in st.query_params.get_all("area") if a in area_names],
            format_func=lambda a: area_names.get(a, a),
            placeholder="All areas",
        )
        chosen_types = st.multiselect(
            "Site types",
            site_types,
            default=[t for t in st.query_params.get_all("type") if t in site_types],
            placeholder="All site types",
        )
    filters = Filters(start, end, tuple(chosen_areas), tuple(chosen_types))
    params = _params(filters)
    if {k: st.query_params.get_all(k) for k in params} != params:
        st.query_params.from_dict(params)
    return filters


def _params(filters: Filters) -> dict[str, list[str]]:
    return {
        "start": [filters.start.isoformat()] if filters.start else [],
        "end": [filters.end.isoformat()] if filters.end else [],
        "area": list(filters.areas),
        "type": list(filters.site_types),
    }


# ----------------------------------------------------------------- charts
def _chart(chart: alt.Chart, title: str, caption: str) -> None:
    """A chart with its title and a caption saying how to read it."""
    st.altair_chart(chart.properties(title=title, height=280), use_container_width=True)
    st.caption(caption)


def _x(column: str, kind: str, **kwargs) -> alt.X:
    if kind == "T":  # days, not hours, on a daily axis
        kwargs.setdefault("axis", alt.Axis(format="%d %b", tickCount="day"))
    return alt.X(f"{column}:{kind}", title=kwargs.pop("title", label(column)), **kwargs)


def _y(column: str, kind: str, **kwargs) -> alt.Y:
    return alt.Y(f"{column}:{kind}", title=kwargs.pop("title", label(column)), **kwargs)


def _day_profile(
    frame: pd.DataFrame,
    measure: str,
    series: tuple[str, str],
    title: str,
    caption: str,
) -> None:
    """A line per series over the 24 local hours of an average day."""
    column, name = series
    _chart(
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=_x("hour_of_day_local", "O"),
            y=_y(measure, "Q"),
            color=alt.Color(f"{column}:N", title=name),
        ),
        title,
        caption,
    )


def _number(value: float | None, unit: str, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f} {unit}"


def _delta(now: float | None, before: float | None) -> str | None:
    if now is None or not before:
        return None
    return f"{100 * (now - before) / before:+.1f} % vs last year"


def _public_note(marts: Marts, filters: Filters) -> None:
    if PUBLIC:
        hidden = marts.suppressed_sites(filters)
        st.info(
            "Public view: areas and site types only. Groups with fewer than "
            f"{MIN_GROUP_HOMES} homes (or {MIN_GROUP_HOMES} sites) are left out"
            + (
                f"; {hidden} sites of this selection are not counted."
                if hidden
                else "."
            )
        )


# ----------------------------------------------------------------- pages
def page_city() -> None:
    """Totals, trend against last year, a map of areas, top movers."""
    marts, filters = _state()
    st.title("City")
    st.caption(f"{filters.start} to {filters.end}, local days.")
    _public_note(marts, filters)
    totals = marts.city_totals(filters)
    columns = st.columns(3)
    for column, (key, title, unit) in zip(
        columns,
        (
            ("energy_kwh", "Energy", "kWh"),
            ("total_cost_gbp", "Cost", "GBP"),
            ("co2_kg", "CO2", "kg"),
        ),
        strict=True,
    ):
        column.metric(
            f"{title} ({unit})",
            _number(totals[f"now_{key}"], unit),
            _delta(totals[f"now_{key}"], totals[f"last_year_{key}"]),
            delta_color="inverse",
        )
    daily = marts.city_daily(filters)
    if daily.empty:
        st.info("No usage in this selection.")
        return
    _chart(
        alt.Chart(daily)
        .mark_line(point=True)
        .encode(
            x=_x("reading_date_local", "T", title="Local day"),
            y=_y("energy_kwh", "Q"),
            color=alt.Color("period:N", title=None),
            tooltip=["reading_date_local:T", "period:N", "energy_kwh:Q"],
        ),
        "Energy per day (kWh), this period and the same days last year",
        "Each point is one local day's energy of the selection; the second line "
        "(when the marts reach back a year) is the same calendar days a year earlier.",
    )
    areas = marts.area_intensity(filters).dropna(subset=["centroid_latitude"])
    if not areas.empty:
        _chart(
            alt.Chart(areas)
            .mark_circle(opacity=0.85, stroke="black", strokeWidth=0.5)
            .encode(
                longitude="centroid_longitude:Q",
                latitude="centroid_latitude:Q",
                size=alt.Size(
                    "energy_kwh:Q",
                    title=label("energy_kwh"),
                    scale=alt.Scale(range=[400, 4000]),
                ),
                color=alt.Color(
                    "energy_kwh_per_m2:Q",
                    title=label("energy_kwh_per_m2"),
                    scale=alt.Scale(scheme="orangered"),
                ),
                tooltip=[
                    "area_name:N",
                    alt.Tooltip("energy_kwh:Q", format=",.0f"),
                    alt.Tooltip("energy_kwh_per_m2:Q", format=".3f"),
                ],
            )
            .project("mercator")
            + alt.Chart(areas)
            .mark_text(dy=-22, fontSize=12)
            .encode(
                longitude="centroid_longitude:Q",
                latitude="centroid_latitude:Q",
                text="area_name:N",
            )
            .project("mercator"),
            "Map of areas: energy per floor area (kWh per m²)",
            "Each circle sits at an area's centre (longitude, latitude): its colour is "
            "the period's kWh per m² of floor area, its size the area's total kWh.",
        )
    movers = marts.top_movers(filters)
    if not movers.empty:
        _chart(
            alt.Chart(movers)
            .mark_bar()
            .encode(
                x=_x("change_kwh", "Q", title="Change vs previous period (kWh)"),
                y=alt.Y(
                    "group:N", sort="-x", title="Area / site type" if PUBLIC else "Site"
                ),
                color=alt.condition(
                    "datum.change_kwh > 0", alt.value("#d62728"), alt.value("#2ca02c")
                ),
                tooltip=["group:N", "energy_kwh:Q", "change_kwh:Q", "change_pct:Q"],
            ),
            "Top movers: change in energy against the previous period (kWh)",
            "The largest rises (red) and falls (green) against the same number of days "
            "just before the period.",
        )


def page_patterns() -> None:
    """Heat map, average day per month, weekday vs weekend, seasons, site types, weather."""
    marts, filters = _state()
    st.title("Patterns")
    _public_note(marts, filters)
    st.caption(
        "Area filters apply to the heat map and the day profiles; site-type filters "
        "to the per site type profile."
    )
    hourly = marts.hourly_by_area(filters)
    if hourly.empty:
        st.info("No area may be shown for this selection.")
    else:
        _area_patterns(marts, hourly)
    types = marts.site_type_day(filters)
    if types.empty:
        st.info("No site type may be shown for this selection.")
    else:
        _day_profile(
            types,
            "avg_demand_kw_per_site",
            ("site_type", "Site type"),
            "Average day per site type (kW per site)",
            "The typical site of each type, hour by hour: the type's demand "
            "divided by its number of sites.",
        )
    weather = marts.temperature_usage(filters)
    if not weather.empty:
        _chart(
            alt.Chart(weather)
            .mark_circle(size=50, opacity=0.7)
            .encode(
                x=_x("avg_air_temperature_c", "Q", scale=alt.Scale(zero=False)),
                y=_y("energy_kwh", "Q"),
                color=alt.Color("area_id:N", title="Area"),
                tooltip=["area_id:N", "reading_date_local:T", "energy_kwh:Q"],
            ),
            "Temperature vs usage: energy per day (kWh) against mean temperature (°C)",
            "Each point is one area's day. A slope down to the left is heating; "
            "up to the right, cooling.",
        )


def _area_patterns(marts: Marts, hourly: pd.DataFrame) -> None:
    """The charts built from the selected areas' hourly usage."""
    heat = marts.heat_map(hourly)
    _chart(
        alt.Chart(heat)
        .mark_rect()
        .encode(
            x=_x("hour_of_day_local", "O"),
            y=alt.Y(
                "weekday_name:N", title="Weekday", sort=alt.SortField("iso_weekday")
            ),
            color=alt.Color(
                "avg_demand_kw:Q",
                title=label("avg_demand_kw"),
                scale=alt.Scale(scheme="viridis"),
            ),
            tooltip=["weekday_name:N", "hour_of_day_local:O", "avg_demand_kw:Q"],
        ),
        "Load shape: average demand by weekday and hour (kW)",
        "Each cell is the selection's average demand in that local hour of that "
        "weekday over the period: brighter cells are busier hours.",
    )
    left, right = st.columns(2)
    with left:
        _day_profile(
            marts.average_day_per_month(hourly),
            "avg_demand_kw",
            ("month", "Month"),
            "Average day per month (kW)",
            "One line per month: the average demand of each local hour of its days.",
        )
    with right:
        _day_profile(
            marts.weekday_vs_weekend(hourly),
            "avg_demand_kw",
            ("day_kind", "Day"),
            "Weekday vs weekend (kW)",
            "The average day on working weekdays and on weekends, hour by hour.",
        )
    _chart(
        alt.Chart(marts.by_season(hourly))
        .mark_bar()
        .encode(
            x=alt.X("season:N", title="Meteorological season"),
            y=_y("energy_kwh_per_day", "Q"),
        ),
        "Energy per day by season (kWh per day)",
        "The average day's energy in each season the period touches.",
    )


def page_sites() -> None:
    """One site: daily curve with expected range and anomalies, cost breakdown."""
    marts, filters = _state()
    st.title("Sites")
    text = st.text_input(
        "Search a site (ID or name)", value=st.query_params.get("q", "")
    )
    found = marts.find_sites(filters, text)
    if found.empty:
        st.info("No site matches this search and the filters.")
        return
    wanted = st.query_params.get("site")
    shown = found.head(MAX_SITE_CHOICES)
    if wanted in set(found["site_id"]) and wanted not in set(shown["site_id"]):
        shown = pd.concat([found[found["site_id"] == wanted], shown])
    ids = shown["site_id"].tolist()
    names = dict(zip(shown["site_id"], shown["site_name"], strict=True))
    more = len(found) - len(shown)
    site_id = st.selectbox(
        f"Site ({len(found):,} match"
        + (f"; the first {len(shown):,} listed, type to narrow" if more > 0 else "")
        + ")",
        ids,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda s: f"{s}: {names[s]}",
    )
    if st.query_params.get("site") != site_id:
        st.query_params["site"] = site_id
    site = found.set_index("site_id").loc[site_id]
    st.caption(
        f"{site['site_type_name']} in {site['area_name']}, "
        f"{site['floor_area_m2']:,.0f} m² of floor area."
    )
    daily = marts.site_daily(site_id, filters)
    anomalies = marts.site_anomalies(site_id)
    if daily.empty:
        st.info("No usage for this site in the period.")
    else:
        band = (
            alt.Chart(daily)
            .mark_area(opacity=0.25, color="#7f7f7f")
            .encode(
                x=_x("reading_date_local", "T", title="Local day"),
                y=_y("expected_low_kwh", "Q", title=label("energy_kwh")),
                y2="expected_high_kwh:Q",
            )
        )
        line = (
            alt.Chart(daily)
            .mark_line(point=True)
            .encode(
                x="reading_date_local:T",
                y="energy_kwh:Q",
                tooltip=[
                    "reading_date_local:T",
                    "energy_kwh:Q",
                    "expected_low_kwh:Q",
                    "expected_high_kwh:Q",
                ],
            )
        )
        layers = [band, line]
        if not anomalies.empty:
            marks = anomalies.assign(
                reading_date_local=pd.to_datetime(anomalies["start_utc"]).dt.normalize()
            ).merge(
                daily[["reading_date_local", "energy_kwh"]], on="reading_date_local"
            )
            if not marks.empty:
                layers.append(
                    alt.Chart(marks)
                    .mark_point(
                        shape="triangle-up", size=160, color="#d62728", filled=True
                    )
                    .encode(
                        x="reading_date_local:T",
                        y="energy_kwh:Q",
                        tooltip=["anomaly_type:N", "severity:N", "explanation:N"],
                    )
                )
        _chart(
            alt.layer(*layers),
            "Daily energy with its expected range (kWh)",
            "The line is the site's energy per local day; the grey band the lowest to "
            "highest of the same weekday over the four weeks before; red triangles "
            "mark the days detected anomalies start.",
        )
    costs = marts.site_costs(site_id, filters)
    if not costs.empty:
        long = costs.melt(
            id_vars=["month"],
            value_vars=["energy_charge_gbp", "fixed_charge_gbp", "demand_charge_gbp"],
            var_name="charge",
            value_name="cost_gbp",
        )
        long["charge"] = long["charge"].map(label)
        _chart(
            alt.Chart(long)
            .mark_bar()
            .encode(
                x=alt.X("month:O", title="Month (local)"),
                y=_y("cost_gbp", "Q", title="Cost (GBP)"),
                color=alt.Color("charge:N", title="Charge"),
                tooltip=[
                    "month:O",
                    "charge:N",
                    alt.Tooltip("cost_gbp:Q", format=",.2f"),
                ],
            ),
            "Cost breakdown by month (GBP)",
            "Each bar is a month's bill before VAT, split into energy (unit) charges, "
            "fixed (standing) charges and the demand charge.",
        )
    st.subheader("Anomalies of this site")
    if anomalies.empty:
        st.write("No anomaly detected at this site.")
    else:
        st.dataframe(anomalies, hide_index=True, use_container_width=True)


SEVERITIES = ["high", "medium", "low"]
SEVERITY_COLOURS = alt.Scale(domain=SEVERITIES, range=["#d62728", "#ff7f0e", "#1f77b4"])


def page_anomalies() -> None:
    """Open alerts by severity with the explanation; anomalies by area and type.

    The charts show zeros rather than disappear when nothing is open, so the
    page reads the same on a quiet day.
    """
    marts, filters = _state()
    st.title("Anomalies and alerts")
    _public_note(marts, filters)
    kinds = marts.anomaly_types()
    chosen = tuple(
        st.multiselect(
            "Anomaly types",
            kinds,
            default=[k for k in st.query_params.get_all("kind") if k in kinds],
            placeholder="All types",
        )
    )
    if st.query_params.get_all("kind") != list(chosen):
        st.query_params["kind"] = list(chosen)
    summary = marts.anomaly_summary(filters, chosen)
    by_area = summary.groupby("area_id", as_index=False)[
        ["event_count", "excess_kwh", "excess_cost_gbp"]
    ].sum()
    shown_areas = marts.shown_groups(("area_id",))["area_id"]
    if filters.areas:
        shown_areas = shown_areas[shown_areas.isin(filters.areas)]
    by_area = (
        pd.DataFrame({"area_id": shown_areas.drop_duplicates()})
        .merge(by_area, on="area_id", how="left")
        .fillna(0)
    )
    left, right = st.columns(2)
    with left:
        _chart(
            alt.Chart(by_area)
            .mark_bar()
            .encode(
                x=alt.X("area_id:N", title="Area"),
                y=_y("excess_kwh", "Q", title="Excess energy (kWh)"),
                tooltip=[
                    "area_id:N",
                    "event_count:Q",
                    "excess_kwh:Q",
                    "excess_cost_gbp:Q",
                ],
            ),
            "Excess energy of anomalies by area (kWh)",
            "Energy used above (below zero: under) what was expected while anomalies "
            "lasted, in the months of the period; 0 where none was detected.",
        )
    with right:
        by_type = summary.groupby("anomaly_type", as_index=False)[
            ["event_count", "high_severity_count", "excess_cost_gbp"]
        ].sum()
        _chart(
            alt.Chart(by_type)
            .mark_bar()
            .encode(
                x=_x("excess_cost_gbp", "Q", title="Excess cost (GBP)"),
                y=alt.Y("anomaly_type:N", sort="-x", title="Anomaly type"),
                tooltip=["anomaly_type:N", "event_count:Q", "high_severity_count:Q"],
            ),
            "Cost of anomalies by type (GBP)",
            "What the extra (or missing) energy of each kind of anomaly cost at the "
            "sites' tariffs; empty when nothing was detected.",
        )
    if PUBLIC:
        return
    alerts = marts.alerts(filters, chosen)
    by_severity = (
        alerts.groupby("severity")
        .agg(
            alert_count=("alert_id", "size"), excess_cost_gbp=("excess_cost_gbp", "sum")
        )
        .reindex(SEVERITIES, fill_value=0)
        .rename_axis("severity")
        .reset_index()
    )
    left, right = st.columns(2)
    with left:
        _chart(
            alt.Chart(by_severity)
            .mark_bar()
            .encode(
                x=alt.X("severity:N", title="Severity", sort=SEVERITIES),
                y=_y("alert_count", "Q", title="Open alerts (count)"),
                color=alt.Color("severity:N", scale=SEVERITY_COLOURS, legend=None),
                tooltip=["severity:N", "alert_count:Q", "excess_cost_gbp:Q"],
            ),
            "Open alerts by severity (count)",
            "Alerts still open, by severity; one alert groups the events of one site "
            "and anomaly type.",
        )
    with right:
        _chart(
            alt.Chart(alerts)
            .mark_circle(size=80)
            .encode(
                x=_x("expected_kwh", "Q"),
                y=_y("observed_kwh", "Q"),
                color=alt.Color("severity:N", title="Severity", scale=SEVERITY_COLOURS),
                tooltip=["site_id:N", "anomaly_type:N", "explanation:N"],
            ),
            "Expected vs observed energy of open alerts (kWh)",
            "Each point is an open alert: above the diagonal the site used more than "
            "expected, below it less.",
        )
    st.subheader("Open alerts")
    if alerts.empty:
        st.write("No open alert in this selection.")
        return
    st.dataframe(
        alerts[
            [
                "severity",
                "site_id",
                "area_id",
                "site_type",
                "anomaly_type",
                "explanation",
                "expected_kwh",
                "observed_kwh",
                "excess_kwh",
                "excess_cost_gbp",
                "opened_at_utc",
            ]
        ].rename(columns=label),
        hide_index=True,
        use_container_width=True,
    )


def page_quality() -> None:
    """Coverage and gaps, quarantined rows by reason, freshness, last refresh."""
    marts, filters = _state()
    st.title("Data quality")
    _public_note(marts, filters)
    refreshed = marts.last_refresh()
    st.metric(
        "Last refresh (UTC)",
        refreshed.strftime("%Y-%m-%d %H:%M") if refreshed is not None else "-",
    )
    coverage = marts.coverage_by_area(filters)
    if coverage.empty:
        st.info("No quality figures for this selection.")
    else:
        _chart(
            alt.Chart(coverage)
            .mark_line(point=True)
            .encode(
                x=_x("reading_date_local", "T", title="Local day"),
                y=_y("coverage_pct", "Q", scale=alt.Scale(zero=False)),
                color=alt.Color("area_id:N", title="Area"),
                tooltip=[
                    "area_id:N",
                    "reading_date_local:T",
                    "coverage_pct:Q",
                    "missing_intervals:Q",
                ],
            ),
            "Coverage per area and day (%)",
            "The share of expected intervals that clean readings cover; 100 % is a "
            "day with no gap.",
        )
    left, right = st.columns(2)
    with left:
        try:
            reasons = marts.quarantine_by_reason(filters)
        except DashboardError as exc:  # a warehouse built before this mart existed
            st.warning(str(exc))
            reasons = None
        if reasons is not None and reasons.empty:
            st.info("No reading was quarantined.")
        elif reasons is not None:
            _chart(
                alt.Chart(reasons)
                .mark_bar()
                .encode(
                    x=_x(
                        "quarantined_row_count",
                        "Q",
                        title="Quarantined readings (rows)",
                    ),
                    y=alt.Y("quarantine_reason:N", sort="-x", title="Reason"),
                ),
                "Quarantined readings by reason (rows)",
                "Landed readings that could not be used, by the reason recorded; "
                "nothing is dropped silently.",
            )
    with right:
        fresh = marts.freshness()
        fresh["source"] = fresh["source_name"] + "." + fresh["table_name"]
        _chart(
            alt.Chart(fresh)
            .mark_bar()
            .encode(
                x=_x(
                    "hours_since_last_received",
                    "Q",
                    title="Hours since the last delivery (h)",
                ),
                y=alt.Y("source:N", title="Source table"),
                color=alt.Color(
                    "freshness_status:N",
                    title="Status",
                    scale=alt.Scale(
                        domain=["fresh", "late", "stale"],
                        range=["#2ca02c", "#ff7f0e", "#d62728"],
                    ),
                ),
                tooltip=[
                    "source_name:N",
                    "table_name:N",
                    "last_received_at_utc:T",
                    "freshness_status:N",
                ],
            ),
            "Freshness per source (h since the last delivery)",
            "How long ago each source last delivered, coloured by its freshness status "
            "against the source's warn and error thresholds.",
        )
    if not PUBLIC:
        st.subheader("Meters with the most gaps")
        st.dataframe(
            marts.worst_meters(filters).rename(columns=label),
            hide_index=True,
            use_container_width=True,
        )


# ----------------------------------------------------------------- shell
PAGES = {
    "city": ("City", page_city),
    "patterns": ("Patterns", page_patterns),
    "sites": ("Sites", page_sites),
    "anomalies": ("Anomalies and alerts", page_anomalies),
    "quality": ("Data quality", page_quality),
}
PUBLIC_PAGES = ("city", "patterns", "anomalies", "quality")


def _state() -> tuple[Marts, Filters]:
    return st.session_state["wattlake_marts"], st.session_state["wattlake_filters"]


def main() -> None:
    """Lay out the shell (filters, page links) and run the chosen page."""
    st.set_page_config(
        page_title="Wattlake" + (" (public)" if PUBLIC else ""),
        page_icon="⚡",
        layout="wide",
    )
    keys = PUBLIC_PAGES if PUBLIC else tuple(PAGES)
    pages = [
        st.Page(PAGES[key][1], title=PAGES[key][0], url_path=key, default=i == 0)
        for i, key in enumerate(keys)
    ]
    current = st.navigation(pages, position="hidden")
    with st.sidebar:
        st.markdown("## ⚡ Wattlake" + (" · public view" if PUBLIC else ""))
        links = st.container()
    try:
        marts = _marts()
        filters = _filters(marts)
    except DashboardError as exc:
        st.error(f"Wattlake cannot read its marts: {exc}")
        return
    st.session_state["wattlake_marts"] = marts
    st.session_state["wattlake_filters"] = filters
    with links:
        for page in pages:
            st.page_link(page, query_params=_params(filters))
    try:
        current.run()
    except DashboardError as exc:
        st.error(str(exc))


main()
