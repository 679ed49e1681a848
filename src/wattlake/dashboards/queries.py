"""The web dashboard's one query layer: every number it shows comes from here.

`Marts` asks the marts questions in SQL that DuckDB, Athena (Trino) and
Redshift all run unchanged (no engine-specific functions: weekdays and seasons
come from `dim_date`, date arithmetic happens in Python), and returns pandas
frames. Where it runs is a `Source`: the local DuckDB warehouse (read-only),
or Athena or Redshift, chosen by the `target` setting (wattlake.toml,
`WATTLAKE_TARGET`) with the same environment variables as the dbt profiles.

Public mode (`public=True`) shows areas and site types only, never a site or a
meter, and leaves out every group with fewer than `MIN_GROUP_HOMES` homes:
a group is shown when it holds at least that many sites and, if it holds any
home (sector residential), at least that many homes. The rule is applied to
the finest group a number is built from (an area x site type cell, an area,
or a site type), and totals add up only the groups that may be shown.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

import pandas as pd

log = logging.getLogger(__name__)

MIN_GROUP_HOMES = 5
RESIDENTIAL_TYPES = ("home", "apartment_block")


class DashboardError(RuntimeError):
    """The dashboard cannot read its marts; the message says why."""


@dataclass(frozen=True)
class Filters:
    """What every page is filtered on; kept in the URL."""

    start: date | None = None
    end: date | None = None  # inclusive
    areas: tuple[str, ...] = ()
    site_types: tuple[str, ...] = ()

    def last_year(self) -> Filters:
        """The same period one year earlier."""
        return replace(
            self,
            start=_minus_year(self.start) if self.start else None,
            end=_minus_year(self.end) if self.end else None,
        )

    def previous_period(self) -> Filters:
        """The period of the same length just before this one."""
        if self.start is None or self.end is None:
            return self
        days = (self.end - self.start).days + 1
        return replace(
            self,
            start=self.start - timedelta(days=days),
            end=self.start - timedelta(days=1),
        )


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# ------------------------------------------------------------------ sources
class Source(Protocol):
    """Where the marts are: runs one SELECT and returns its rows."""

    description: str

    def query(self, sql: str) -> pd.DataFrame:
        """Run `sql` and return its result."""


@dataclass
class DuckDBSource:
    """The local warehouse file, opened read-only (the pipeline may write it later)."""

    path: Path
    schema: str = "main"
    description: str = ""

    def __post_init__(self) -> None:
        if not Path(self.path).exists():
            raise DashboardError(
                f"no warehouse at {self.path}: run `wattlake run` (or `wattlake transform`) first"
            )
        self.description = f"DuckDB {self.path}"

    def version(self) -> str:
        """Changes whenever the pipeline rewrites the warehouse (for caches)."""
        stat = Path(self.path).stat()
        return f"{stat.st_mtime_ns}-{stat.st_size}"

    def query(self, sql: str) -> pd.DataFrame:
        """Run `sql` on a read-only connection held only for the query.

        Holding the file open would lock out the pipeline's next refresh.
        """
        import duckdb

        with duckdb.connect(str(self.path), read_only=True) as connection:
            try:
                return connection.execute(sql).fetchdf()
            except duckdb.CatalogException as exc:
                reason = str(exc).splitlines()[0]
                raise DashboardError(
                    f"{self.path}: {reason} (run `wattlake transform` to build the marts)"
                ) from exc


@dataclass
class AthenaSource:
    """Athena over the Glue catalog: the marts dbt built in `schema`."""

    schema: str
    workgroup: str
    output: str
    region: str
    description: str = ""
    poll_seconds: float = 0.5

    def __post_init__(self) -> None:
        import boto3

        self.description = f"Athena {self.schema} ({self.workgroup}, {self.region})"
        self._client = boto3.client("athena", region_name=self.region)

    def query(self, sql: str) -> pd.DataFrame:
        """Start the query, wait for it, page through its result."""
        started = self._client.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": self.schema},
            WorkGroup=self.workgroup,
            ResultConfiguration={"OutputLocation": self.output},
        )
        query_id = started["QueryExecutionId"]
        while True:
            status = self._client.get_query_execution(QueryExecutionId=query_id)
            state = status["QueryExecution"]["Status"]["State"]
            if state == "SUCCEEDED":
                break
            if state in ("FAILED", "CANCELLED"):
                reason = status["QueryExecution"]["Status"].get("StateChangeReason")
                raise DashboardError(f"Athena query {query_id} {state}: {reason}")
            time.sleep(self.poll_seconds)
        pages = self._client.get_paginator("get_query_results").paginate(
            QueryExecutionId=query_id
        )
        columns: list[tuple[str, str]] = []
        rows: list[list[str | None]] = []
        for number, page in enumerate(pages):
            result = page["ResultSet"]
            if not columns:
                columns = [
                    (c["Name"], c["Type"])
                    for c in result["ResultSetMetadata"]["ColumnInfo"]
                ]
            data = result["Rows"][1:] if number == 0 else result["Rows"]
            rows += [[cell.get("VarCharValue") for cell in row["Data"]] for row in data]
        frame = pd.DataFrame(rows, columns=[name for name, _ in columns])
        for name, kind in columns:
            if kind in ("double", "float", "real", "decimal"):
                frame[name] = pd.to_numeric(frame[name])
            elif kind in ("integer", "bigint", "smallint", "tinyint"):
                frame[name] = pd.to_numeric(frame[name]).astype("Int64")
            elif kind == "date":
                frame[name] = pd.to_datetime(frame[name]).dt.date
            elif kind.startswith("timestamp"):
                frame[name] = pd.to_datetime(frame[name])
            elif kind == "boolean":
                frame[name] = frame[name].map({"true": True, "false": False})
        return frame


@dataclass
class RedshiftSource:
    """Redshift (Serverless or a cluster): the native mart tables in `schema`."""

    host: str
    database: str
    user: str
    password: str
    port: int = 5439
    schema: str = "wattlake"
    description: str = ""

    def __post_init__(self) -> None:
        self.description = f"Redshift {self.host}/{self.database}.{self.schema}"
        self._connection = None

    def query(self, sql: str) -> pd.DataFrame:
        """Run `sql` on one connection, opened on first use."""
        import redshift_connector

        if self._connection is None:
            self._connection = redshift_connector.connect(
                host=self.host,
                database=self.database,
                user=self.user,
                password=self.password,
                port=self.port,
            )
            self._connection.autocommit = True
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql)
            names = [column[0] for column in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=names)
        finally:
            cursor.close()


def source_for(target: str, warehouse: Path, environ: dict | None = None) -> Source:
    """The marts of a dbt target: `local` (DuckDB file), `athena` or `redshift`.

    Athena and Redshift read the same variables as profiles/profiles.yml.
    """
    env = os.environ if environ is None else environ

    def required(name: str) -> str:
        if not env.get(name):
            raise DashboardError(f"target {target}: set {name} (see README, AWS)")
        return env[name]

    if target == "local":
        return DuckDBSource(warehouse)
    if target == "athena":
        return AthenaSource(
            schema=env.get("WATTLAKE_ATHENA_SCHEMA", "wattlake"),
            workgroup=env.get("WATTLAKE_ATHENA_WORKGROUP", "wattlake"),
            output=required("WATTLAKE_ATHENA_RESULTS"),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
        )
    if target == "redshift":
        return RedshiftSource(
            host=required("WATTLAKE_REDSHIFT_HOST"),
            database=env.get("WATTLAKE_REDSHIFT_DATABASE", "dev"),
            user=required("WATTLAKE_REDSHIFT_USER"),
            password=required("WATTLAKE_REDSHIFT_PASSWORD"),
            port=int(env.get("WATTLAKE_REDSHIFT_PORT", "5439")),
            schema=env.get("WATTLAKE_REDSHIFT_SCHEMA", "wattlake"),
        )
    raise DashboardError(f"no dashboard source for target {target!r}")


# ------------------------------------------------------------------ SQL helpers
def literal(value: object) -> str:
    """A SQL literal every engine reads the same way (strings quoted, dates typed)."""
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def in_list(column: str, values: Iterable[object]) -> str:
    """`column in (...)`; an empty list matches nothing."""
    values = list(values)
    if not values:
        return "1 = 0"
    return f"{column} in ({', '.join(literal(v) for v in values)})"


# ------------------------------------------------------------------ the marts
@dataclass
class Marts:
    """The questions the dashboard pages ask, answered from the marts.

    Args:
        run: runs one SELECT (a `Source.query`, possibly cached by the app).
        schema: where the marts are (`main` in DuckDB, the dbt schema on AWS).
        public: areas and site types only, small groups suppressed.

    """

    run: Callable[[str], pd.DataFrame]
    schema: str = "main"
    public: bool = False
    min_homes: int = MIN_GROUP_HOMES
    _sites: pd.DataFrame | None = field(default=None, repr=False)

    def table(self, name: str) -> str:
        """A mart's qualified name."""
        return f"{self.schema}.{name}"

    def q(self, sql: str) -> pd.DataFrame:
        """Run SQL with `{name}` placeholders for marts."""
        return self.run(sql)

    # ---------------------------------------------------------- reference data
    def sites(self) -> pd.DataFrame:
        """Every site with its area and type (the public mode never shows it)."""
        if self._sites is None:
            self._sites = self.q(
                "select site_id, site_name, site_type, site_type_name, sector, "
                "area_id, area_name, floor_area_m2, latitude, longitude "
                f"from {self.table('dim_sites')}"
            )
        return self._sites

    def areas(self) -> pd.DataFrame:
        """Areas with their centroid and floor area."""
        return self.q(
            "select area_id, area_name, site_count, total_floor_area_m2, "
            f"centroid_latitude, centroid_longitude from {self.table('dim_areas')} "
            "order by area_id"
        )

    def period_bounds(self) -> tuple[date | None, date | None]:
        """The first and last local day with usage."""
        frame = self.q(
            "select min(reading_date_local) as first_day, max(reading_date_local) as last_day "
            f"from {self.table('fct_area_daily_usage')}"
        )
        first, last = frame.iloc[0]
        if pd.isna(first):
            return None, None
        return pd.Timestamp(first).date(), pd.Timestamp(last).date()

    def last_refresh(self) -> pd.Timestamp | None:
        """When the marts were last restated (the latest run stamp of daily usage)."""
        frame = self.q(
            f"select max(restated_at_utc) as at_utc from {self.table('fct_area_daily_usage')}"
        )
        value = frame.iloc[0, 0]
        return None if pd.isna(value) else pd.Timestamp(value)

    # ---------------------------------------------------------- public groups
    def group_sizes(self, by: tuple[str, ...]) -> pd.DataFrame:
        """Sites and homes per group, and whether the public may see the group."""
        sites = self.sites().assign(
            is_home=lambda s: s["site_type"].isin(RESIDENTIAL_TYPES)
        )
        sizes = (
            sites.groupby(list(by))
            .agg(site_count=("site_id", "size"), home_count=("is_home", "sum"))
            .reset_index()
        )
        sizes["is_shown"] = (sizes["site_count"] >= self.min_homes) & (
            (sizes["home_count"] == 0) | (sizes["home_count"] >= self.min_homes)
        )
        return sizes

    def shown_groups(self, by: tuple[str, ...]) -> pd.DataFrame:
        """The groups the current mode may show (all of them unless public)."""
        sizes = self.group_sizes(by)
        return sizes[sizes["is_shown"]] if self.public else sizes

    def suppressed_sites(self, filters: Filters) -> int:
        """Sites of the selection left out by public mode (0 otherwise)."""
        if not self.public:
            return 0
        sizes = self.group_sizes(("area_id", "site_type"))
        sizes = sizes[self._selected(sizes, filters)]
        return int(sizes.loc[~sizes["is_shown"], "site_count"].sum())

    @staticmethod
    def _selected(frame: pd.DataFrame, filters: Filters) -> pd.Series:
        keep = pd.Series(True, index=frame.index)
        if filters.areas and "area_id" in frame:
            keep &= frame["area_id"].isin(filters.areas)
        if filters.site_types and "site_type" in frame:
            keep &= frame["site_type"].isin(filters.site_types)
        return keep

    def where(
        self,
        filters: Filters,
        date_column: str | None = "reading_date_local",
        by: tuple[str, ...] = ("area_id", "site_type"),
        alias: str = "",
    ) -> str:
        """The WHERE clause of a filter on a mart with (some of) area and site type.

        `by` names the mart's group columns (qualified with `alias.` when given);
        in public mode only the groups of `by` that may be shown are kept.
        """
        prefix = f"{alias}." if alias else ""
        clauses = ["1 = 1"]
        if date_column and filters.start:
            clauses.append(f"{prefix}{date_column} >= {literal(filters.start)}")
        if date_column and filters.end:
            clauses.append(f"{prefix}{date_column} <= {literal(filters.end)}")
        if filters.areas and "area_id" in by:
            clauses.append(in_list(f"{prefix}area_id", filters.areas))
        if filters.site_types and "site_type" in by:
            clauses.append(in_list(f"{prefix}site_type", filters.site_types))
        if self.public and by:
            shown = self.shown_groups(by)
            cells = [
                " and ".join(f"{prefix}{c} = {literal(row[c])}" for c in by)
                for _, row in shown.iterrows()
            ]
            clauses.append(
                "(" + " or ".join(f"({c})" for c in cells) + ")" if cells else "1 = 0"
            )
        return " and ".join(clauses)

    # ---------------------------------------------------------------- city
    def city_totals(self, filters: Filters) -> dict[str, float]:
        """Energy (kWh), cost (GBP) and CO2 (kg) of the period and of last year's."""
        totals = {}
        for key, period in (("now", filters), ("last_year", filters.last_year())):
            frame = self.q(
                "select sum(energy_kwh) as energy_kwh, sum(total_cost_gbp) as total_cost_gbp, "
                "sum(co2_kg) as co2_kg, count(distinct reading_date_local) as day_count "
                f"from {self.table('fct_site_daily_cost')} where {self.where(period)}"
            )
            for column in frame.columns:
                value = frame.iloc[0][column]
                totals[f"{key}_{column}"] = None if pd.isna(value) else float(value)
        return totals

    def city_daily(self, filters: Filters) -> pd.DataFrame:
        """Energy per local day, with the same day last year (date + 1 year aligned)."""
        sql = (
            "select reading_date_local, sum(energy_kwh) as energy_kwh "
            f"from {self.table('fct_site_daily_usage')} where {{where}} "
            "group by reading_date_local"
        )
        now = self.q(sql.format(where=self.where(filters)))
        before = self.q(sql.format(where=self.where(filters.last_year())))
        now["reading_date_local"] = pd.to_datetime(now["reading_date_local"])
        before["reading_date_local"] = pd.to_datetime(
            before["reading_date_local"]
        ) + pd.DateOffset(years=1)
        now["period"] = "selected period"
        before["period"] = "same days last year"
        return pd.concat([now, before], ignore_index=True).sort_values(
            ["period", "reading_date_local"]
        )

    def area_intensity(self, filters: Filters) -> pd.DataFrame:
        """Energy and kWh per m2 by area, with each area's centroid for the map."""
        usage = self.q(
            "select area_id, site_type, sum(energy_kwh) as energy_kwh "
            f"from {self.table('fct_site_daily_usage')} where {self.where(filters)} "
            "group by area_id, site_type"
        )
        floor = (
            self.sites()
            .groupby(["area_id", "site_type"], as_index=False)["floor_area_m2"]
            .sum()
        )
        cells = usage.merge(floor, on=["area_id", "site_type"], how="left")
        by_area = cells.groupby("area_id", as_index=False)[
            ["energy_kwh", "floor_area_m2"]
        ].sum()
        by_area["energy_kwh_per_m2"] = by_area["energy_kwh"] / by_area[
            "floor_area_m2"
        ].where(by_area["floor_area_m2"] > 0)
        return by_area.merge(self.areas(), on="area_id", how="left")

    def top_movers(self, filters: Filters, limit: int = 10) -> pd.DataFrame:
        """Largest changes in energy against the previous period of the same length.

        Sites in the full view; area x site type groups in public mode.
        """
        keys = ["area_id", "site_type"] if self.public else ["site_id"]
        sql = (
            f"select {', '.join(keys)}, sum(energy_kwh) as energy_kwh "
            f"from {self.table('fct_site_daily_usage')} where {{where}} "
            f"group by {', '.join(keys)}"
        )
        now = self.q(sql.format(where=self.where(filters)))
        before = self.q(sql.format(where=self.where(filters.previous_period())))
        movers = now.merge(
            before, on=keys, how="outer", suffixes=("", "_previous_period")
        ).fillna(0.0)
        movers["change_kwh"] = (
            movers["energy_kwh"] - movers["energy_kwh_previous_period"]
        )
        movers["change_pct"] = (
            100
            * movers["change_kwh"]
            / movers["energy_kwh_previous_period"].where(
                movers["energy_kwh_previous_period"] > 0
            )
        )
        movers["group"] = (
            movers[keys].astype(str).agg(" / ".join, axis=1) if len(movers) else ""
        )
        order = movers["change_kwh"].abs().sort_values(ascending=False).index
        return movers.loc[order].head(limit).reset_index(drop=True)

    # ------------------------------------------------------------- patterns
    def hourly_by_area(self, filters: Filters) -> pd.DataFrame:
        """Average demand (kW) of the selected areas per local hour, with the day's kind."""
        frame = self.q(
            "select usage.hour_start_local, usage.reading_date_local, "
            "sum(usage.avg_demand_kw) as avg_demand_kw, "
            "min(dates.iso_weekday) as iso_weekday, min(dates.weekday_name) as weekday_name, "
            "min(case when dates.is_weekend then 1 else 0 end) as is_weekend, "
            "min(dates.meteorological_season) as season "
            f"from {self.table('fct_area_hourly_usage')} as usage "
            f"inner join {self.table('dim_date')} as dates "
            "on usage.reading_date_local = dates.date_day "
            f"where {self.where(filters, by=('area_id',), alias='usage')} "
            "group by usage.hour_start_local, usage.reading_date_local"
        )
        frame["hour_start_local"] = pd.to_datetime(frame["hour_start_local"])
        frame["hour_of_day_local"] = frame["hour_start_local"].dt.hour
        frame["reading_month_local"] = (
            frame["hour_start_local"].dt.to_period("M").dt.to_timestamp()
        )
        frame["day_kind"] = frame["is_weekend"].map({1: "weekend", 0: "weekday"})
        return frame

    def heat_map(self, hourly: pd.DataFrame) -> pd.DataFrame:
        """Average demand (kW) by weekday and local hour."""
        return hourly.groupby(
            ["iso_weekday", "weekday_name", "hour_of_day_local"], as_index=False
        )["avg_demand_kw"].mean()

    def average_day_per_month(self, hourly: pd.DataFrame) -> pd.DataFrame:
        """Average demand (kW) by local hour, per month."""
        frame = hourly.groupby(
            ["reading_month_local", "hour_of_day_local"], as_index=False
        )["avg_demand_kw"].mean()
        frame["month"] = frame["reading_month_local"].dt.strftime("%Y-%m")
        return frame

    def weekday_vs_weekend(self, hourly: pd.DataFrame) -> pd.DataFrame:
        """Average demand (kW) by local hour on weekdays and on weekends."""
        return hourly.groupby(["day_kind", "hour_of_day_local"], as_index=False)[
            "avg_demand_kw"
        ].mean()

    def by_season(self, hourly: pd.DataFrame) -> pd.DataFrame:
        """Average daily energy (kWh per day) by meteorological season."""
        daily = hourly.groupby(["season", "reading_date_local"], as_index=False)[
            "avg_demand_kw"
        ].sum()  # an hour's average kW over one hour is its kWh
        frame = daily.groupby("season", as_index=False)["avg_demand_kw"].mean()
        return frame.rename(columns={"avg_demand_kw": "energy_kwh_per_day"})

    def site_type_day(self, filters: Filters) -> pd.DataFrame:
        """Average demand per site (kW per site) by local hour and site type."""
        frame = self.q(
            "select site_type, hour_start_local, avg_demand_kw, site_count "
            f"from {self.table('fct_site_type_hourly_usage')} "
            f"where {self.where(filters, by=('site_type',))}"
        )
        frame["hour_of_day_local"] = pd.to_datetime(frame["hour_start_local"]).dt.hour
        frame["avg_demand_kw_per_site"] = frame["avg_demand_kw"] / frame[
            "site_count"
        ].where(frame["site_count"] > 0)
        return frame.groupby(["site_type", "hour_of_day_local"], as_index=False)[
            "avg_demand_kw_per_site"
        ].mean()

    def temperature_usage(self, filters: Filters) -> pd.DataFrame:
        """Daily energy (kWh) against the day's mean temperature (°C), by area."""
        return self.q(
            "select usage.area_id, usage.reading_date_local, usage.energy_kwh, "
            "weather.avg_air_temperature_c "
            f"from {self.table('fct_area_daily_usage')} as usage "
            f"inner join {self.table('fct_area_daily_degree_days')} as weather "
            "on usage.area_id = weather.area_id "
            "and usage.reading_date_local = weather.reading_date_local "
            f"where {self.where(filters, by=('area_id',), alias='usage')}"
        )

    # ---------------------------------------------------------------- sites
    def find_sites(self, filters: Filters, text: str = "") -> pd.DataFrame:
        """Sites of the selected areas and types whose ID or name contains `text`."""
        if self.public:
            raise DashboardError("the public view shows no single site")
        sites = self.sites()
        sites = sites[self._selected(sites, filters)]
        if text:
            needle = text.lower()
            sites = sites[
                sites["site_id"].str.lower().str.contains(needle, regex=False)
                | sites["site_name"].str.lower().str.contains(needle, regex=False)
            ]
        return sites.sort_values("site_id").reset_index(drop=True)

    def site_daily(self, site_id: str, filters: Filters) -> pd.DataFrame:
        """A site's energy per local day, with the range the same weekday had before.

        The expected range of a day is the lowest to the highest energy of the
        same weekday over the four weeks before it; its middle is their median.
        """
        if self.public:
            raise DashboardError("the public view shows no single site")
        frame = self.q(
            "select reading_date_local, energy_kwh, coverage_pct "
            f"from {self.table('fct_site_daily_usage')} "
            f"where site_id = {literal(site_id)} order by reading_date_local"
        )
        frame["reading_date_local"] = pd.to_datetime(frame["reading_date_local"])
        frame["weekday"] = frame["reading_date_local"].dt.weekday
        history = frame.groupby("weekday")["energy_kwh"]
        previous = history.shift(1)
        rolling = previous.groupby(frame["weekday"]).rolling(4, min_periods=2)
        frame["expected_low_kwh"] = rolling.min().reset_index(level=0, drop=True)
        frame["expected_high_kwh"] = rolling.max().reset_index(level=0, drop=True)
        frame["expected_kwh"] = rolling.median().reset_index(level=0, drop=True)
        if filters.start:
            frame = frame[frame["reading_date_local"] >= pd.Timestamp(filters.start)]
        if filters.end:
            frame = frame[frame["reading_date_local"] <= pd.Timestamp(filters.end)]
        return frame.reset_index(drop=True)

    def site_anomalies(self, site_id: str) -> pd.DataFrame:
        """A site's detected anomalies, newest first."""
        if self.public:
            raise DashboardError("the public view shows no single site")
        return self.q(
            "select anomaly_id, anomaly_type, severity, start_utc, end_utc, "
            "expected_kwh, observed_kwh, excess_kwh, excess_cost_gbp, explanation "
            f"from {self.table('fct_anomalies')} where site_id = {literal(site_id)} "
            "order by start_utc desc"
        )

    def site_costs(self, site_id: str, filters: Filters) -> pd.DataFrame:
        """A site's bill per month split into energy, fixed and demand charges (GBP)."""
        if self.public:
            raise DashboardError("the public view shows no single site")
        frame = self.q(
            "select reading_month_local, "
            "energy_charge_gbp + tiered_charge_gbp as energy_charge_gbp, "
            "fixed_charge_gbp, demand_charge_gbp, total_cost_gbp, co2_kg "
            f"from {self.table('fct_site_monthly_cost')} "
            f"where site_id = {literal(site_id)} order by reading_month_local"
        )
        frame["month"] = pd.to_datetime(frame["reading_month_local"]).dt.strftime(
            "%Y-%m"
        )
        return frame

    # ------------------------------------------------------------ anomalies
    def alerts(
        self, filters: Filters, anomaly_types: tuple[str, ...] = ()
    ) -> pd.DataFrame:
        """Open alerts (site level; public mode refuses) newest first."""
        if self.public:
            raise DashboardError("the public view shows no single site")
        where = self.where(filters, None)
        if filters.start:  # an alert still open counts whenever it opened
            where += f" and last_seen_utc >= {literal(filters.start)}"
        if filters.end:
            where += f" and opened_at_utc < {literal(filters.end + timedelta(days=1))}"
        if anomaly_types:
            where += " and " + in_list("anomaly_type", anomaly_types)
        return self.q(
            "select alert_id, site_id, area_id, site_type, anomaly_type, severity, "
            "status, opened_at_utc, last_seen_utc, event_count, expected_kwh, "
            "observed_kwh, excess_kwh, excess_cost_gbp, explanation "
            f"from {self.table('fct_anomaly_alerts')} "
            f"where status = 'open' and {where} order by opened_at_utc desc"
        )

    def anomaly_types(self) -> list[str]:
        """Every anomaly type that occurs."""
        frame = self.q(
            f"select distinct anomaly_type from {self.table('fct_anomalies')} "
            "order by anomaly_type"
        )
        return frame["anomaly_type"].tolist()

    def anomaly_summary(
        self, filters: Filters, anomaly_types: tuple[str, ...] = ()
    ) -> pd.DataFrame:
        """Anomalies per area, site type and type: events and excess kWh and GBP."""
        where = self.where(filters, "reading_month_local")
        if filters.start:  # the month of the first day counts
            where = where.replace(
                f"reading_month_local >= {literal(filters.start)}",
                f"reading_month_local >= {literal(filters.start.replace(day=1))}",
            )
        if anomaly_types:
            where += " and " + in_list("anomaly_type", anomaly_types)
        return self.q(
            "select area_id, site_type, anomaly_type, sum(event_count) as event_count, "
            "sum(high_severity_count) as high_severity_count, "
            "sum(excess_kwh) as excess_kwh, sum(excess_cost_gbp) as excess_cost_gbp "
            f"from {self.table('fct_area_monthly_anomalies')} where {where} "
            "group by area_id, site_type, anomaly_type"
        )

    # -------------------------------------------------------------- quality
    def coverage_by_area(self, filters: Filters) -> pd.DataFrame:
        """Coverage (%) and missing intervals per area and local day."""
        sites = self.sites()[["site_id", "area_id", "site_type"]]
        frame = self.q(
            "select site_id, reading_date_local, sum(expected_intervals) as expected_intervals, "
            "sum(clean_intervals) as clean_intervals, sum(missing_intervals) as missing_intervals, "
            "sum(quarantined_rows) as quarantined_rows "
            f"from {self.table('fct_meter_daily_quality')} "
            f"where {self.where(filters, by=())} group by site_id, reading_date_local"
        )
        frame = frame.merge(sites, on="site_id", how="inner")
        shown = self.shown_groups(("area_id", "site_type"))
        frame = frame.merge(
            shown[["area_id", "site_type"]], on=["area_id", "site_type"]
        )
        frame = frame[self._selected(frame, filters)]
        daily = frame.groupby(["area_id", "reading_date_local"], as_index=False)[
            ["expected_intervals", "clean_intervals", "missing_intervals"]
        ].sum()
        daily["coverage_pct"] = (
            100
            * daily["clean_intervals"]
            / daily["expected_intervals"].where(daily["expected_intervals"] > 0)
        ).clip(upper=100)
        daily["reading_date_local"] = pd.to_datetime(daily["reading_date_local"])
        return daily

    def worst_meters(self, filters: Filters, limit: int = 20) -> pd.DataFrame:
        """Meters with the most missing intervals in the period (full view only)."""
        if self.public:
            raise DashboardError("the public view shows no single meter")
        sites = self.sites()[["site_id", "area_id", "site_type"]]
        frame = self.q(
            "select meter_id, site_id, sum(expected_intervals) as expected_intervals, "
            "sum(missing_intervals) as missing_intervals, "
            "sum(quarantined_rows) as quarantined_rows, count(*) as day_count "
            f"from {self.table('fct_meter_daily_quality')} "
            f"where {self.where(filters, by=())} group by meter_id, site_id"
        ).merge(sites, on="site_id")
        frame = frame[self._selected(frame, filters)]
        frame["coverage_pct"] = 100 * (
            1
            - frame["missing_intervals"]
            / frame["expected_intervals"].where(frame["expected_intervals"] > 0)
        )
        return (
            frame.sort_values(
                ["missing_intervals", "quarantined_rows"], ascending=False
            )
            .head(limit)
            .reset_index(drop=True)
        )

    def quarantine_by_reason(self, filters: Filters) -> pd.DataFrame:
        """Quarantined readings by reason, over batches with readings in the period."""
        clauses = ["1 = 1"]
        if filters.start:
            clauses.append(
                f"(last_reading_date is null or last_reading_date >= {literal(filters.start)})"
            )
        if filters.end:
            clauses.append(
                f"(first_reading_date is null or first_reading_date <= {literal(filters.end)})"
            )
        return self.q(
            "select quarantine_reason, sum(quarantined_row_count) as quarantined_row_count, "
            "count(distinct batch_id) as batch_count "
            f"from {self.table('fct_quarantined_rows_by_reason')} "
            f"where {' and '.join(clauses)} group by quarantine_reason "
            "order by quarantined_row_count desc"
        )

    def freshness(self) -> pd.DataFrame:
        """Freshness per source: when it last delivered and its status."""
        return self.q(
            "select source_name, table_name, last_received_at_utc, latest_data_at_utc, "
            "hours_since_last_received, warn_after_hours, error_after_hours, "
            f"freshness_status, checked_at_utc from {self.table('fct_source_freshness')} "
            "order by source_name, table_name"
        )
