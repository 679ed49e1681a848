"""The dashboard's query layer on a small hand-made warehouse: filters and public mode."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from wattlake.dashboards.queries import (
    DashboardError,
    DuckDBSource,
    Filters,
    Marts,
    in_list,
    literal,
    source_for,
)

# area north: 6 homes and 1 office; area south: 3 homes and 6 offices;
# area east: 1 home (a single home: never shown on its own)
SITES = (
    [(f"N-H{i}", "north", "home") for i in range(6)]
    + [("N-O0", "north", "office")]
    + [(f"S-H{i}", "south", "home") for i in range(3)]
    + [(f"S-O{i}", "south", "office") for i in range(6)]
    + [("E-H0", "east", "home")]
)
DAYS = [date(2025, 3, 1) + timedelta(days=i) for i in range(4)]


def site_kwh(site_id: str, day: date) -> float:
    """A distinct energy per site and day, so any sum names what it added."""
    return 10.0 * (1 + SITES.index(next(s for s in SITES if s[0] == site_id))) + day.day


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dash") / "w.duckdb"
    sites = pd.DataFrame(SITES, columns=["site_id", "area_id", "site_type"])
    sites["site_name"] = "Site " + sites["site_id"]
    sites["site_type_name"] = sites["site_type"].str.title()
    sites["sector"] = sites["site_type"].map(
        {"home": "residential", "office": "commercial"}
    )
    sites["area_name"] = sites["area_id"].str.title()
    sites["floor_area_m2"] = 100.0
    sites["latitude"], sites["longitude"] = 51.5, -0.1
    areas = (
        sites.groupby(["area_id", "area_name"], as_index=False)
        .agg(
            site_count=("site_id", "size"), total_floor_area_m2=("floor_area_m2", "sum")
        )
        .assign(centroid_latitude=51.5, centroid_longitude=-0.1)
    )
    daily = pd.DataFrame(
        [(s, a, t, d, site_kwh(s, d), 1.0, 0.5) for s, a, t in SITES for d in DAYS],
        columns=[
            "site_id",
            "area_id",
            "site_type",
            "reading_date_local",
            "energy_kwh",
            "total_cost_gbp",
            "co2_kg",
        ],
    )
    daily["restated_at_utc"] = pd.Timestamp("2025-03-05 06:00")
    with duckdb.connect(str(path)) as connection:
        connection.register("sites_frame", sites)
        connection.register("areas_frame", areas)
        connection.register("daily_frame", daily)
        connection.execute("create table dim_sites as select * from sites_frame")
        connection.execute("create table dim_areas as select * from areas_frame")
        connection.execute(
            "create table fct_site_daily_usage as select site_id, area_id, site_type, "
            "reading_date_local, energy_kwh from daily_frame"
        )
        connection.execute(
            "create table fct_site_daily_cost as select * from daily_frame"
        )
        connection.execute(
            "create table fct_area_daily_usage as select area_id, reading_date_local, "
            "sum(energy_kwh) as energy_kwh, max(restated_at_utc) as restated_at_utc "
            "from daily_frame group by all"
        )
    return path


def marts(warehouse: Path, public: bool) -> Marts:
    return Marts(run=DuckDBSource(warehouse).query, public=public)


def expected_kwh(keep) -> float:  # noqa: ANN001 - a predicate on (site, area, type)
    return sum(site_kwh(s, d) for s, a, t in SITES for d in DAYS if keep(s, a, t))


def test_public_groups_need_five_sites_and_five_homes_if_any(warehouse: Path) -> None:
    sizes = marts(warehouse, public=True).group_sizes(("area_id", "site_type"))
    shown = {(row.area_id, row.site_type): row.is_shown for row in sizes.itertuples()}
    assert shown == {
        ("north", "home"): True,  # 6 homes
        ("north", "office"): False,  # a single office
        ("south", "home"): False,  # 3 homes
        ("south", "office"): True,  # 6 offices, no home
        ("east", "home"): False,  # a single home
    }
    by_area = marts(warehouse, public=True).group_sizes(("area_id",))
    assert by_area.set_index("area_id")["is_shown"].to_dict() == {
        "east": False,  # 1 home
        "north": True,  # 7 sites, 6 homes
        "south": False,  # 9 sites but only 3 homes
    }


def test_public_totals_add_up_only_the_groups_that_may_be_shown(
    warehouse: Path,
) -> None:
    filters = Filters(DAYS[0], DAYS[-1])
    full = marts(warehouse, public=False).city_totals(filters)
    public = marts(warehouse, public=True).city_totals(filters)
    assert full["now_energy_kwh"] == pytest.approx(expected_kwh(lambda s, a, t: True))
    assert public["now_energy_kwh"] == pytest.approx(
        expected_kwh(lambda s, a, t: (a, t) in {("north", "home"), ("south", "office")})
    )
    assert marts(warehouse, public=True).suppressed_sites(filters) == 1 + 3 + 1
    assert marts(warehouse, public=False).suppressed_sites(filters) == 0
    # a filter to a suppressed group leaves nothing, not the group's figures
    only_east = Filters(DAYS[0], DAYS[-1], areas=("east",))
    assert (
        marts(warehouse, public=True).city_totals(only_east)["now_energy_kwh"] is None
    )
    assert marts(warehouse, public=False).city_totals(only_east)[
        "now_energy_kwh"
    ] == pytest.approx(expected_kwh(lambda s, a, t: a == "east"))


def test_public_views_never_name_a_site(warehouse: Path) -> None:
    public = marts(warehouse, public=True)
    filters = Filters(DAYS[2], DAYS[3])
    movers = public.top_movers(filters)
    assert "site_id" not in movers.columns
    assert set(movers["group"]) <= {"north / home", "south / office"}
    daily = public.city_daily(filters)
    selected = daily[daily["period"] == "selected period"]
    assert selected["energy_kwh"].sum() == pytest.approx(
        sum(
            site_kwh(s, d)
            for s, a, t in SITES
            for d in DAYS[2:]
            if (a, t) in {("north", "home"), ("south", "office")}
        )
    )
    intensity = public.area_intensity(filters)
    assert set(intensity["area_id"]) == {"north", "south"}
    for refused in (
        lambda: public.find_sites(filters),
        lambda: public.site_daily("N-H0", filters),
        lambda: public.site_anomalies("N-H0"),
        lambda: public.site_costs("N-H0", filters),
        lambda: public.alerts(filters),
        lambda: public.worst_meters(filters),
    ):
        with pytest.raises(DashboardError, match="no single"):
            refused()


def test_the_full_view_filters_by_period_area_and_site_type(warehouse: Path) -> None:
    full = marts(warehouse, public=False)
    filters = Filters(DAYS[1], DAYS[2], areas=("south",), site_types=("home",))
    totals = full.city_totals(filters)
    assert totals["now_energy_kwh"] == pytest.approx(
        sum(
            site_kwh(s, d)
            for s, a, t in SITES
            for d in DAYS[1:3]
            if s.startswith("S-H")
        )
    )
    assert totals["now_day_count"] == 2
    assert totals["last_year_energy_kwh"] is None  # no data a year before
    found = full.find_sites(Filters(areas=("north",)), "o0")
    assert found["site_id"].tolist() == ["N-O0"]
    assert full.period_bounds() == (DAYS[0], DAYS[-1])
    movers = full.top_movers(Filters(DAYS[2], DAYS[3]), limit=3)
    assert len(movers) == 3 and "site_id" in movers.columns


def test_literals_cannot_break_out_of_the_query() -> None:
    assert literal("o'brien") == "'o''brien'"
    assert literal(date(2025, 1, 2)) == "date '2025-01-02'"
    assert in_list("area_id", []) == "1 = 0"
    assert in_list("area_id", ["a", "b'"]) == "area_id in ('a', 'b''')"


def test_sources_name_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(DashboardError, match="no warehouse at"):
        source_for("local", tmp_path / "missing.duckdb")
    with pytest.raises(DashboardError, match="WATTLAKE_ATHENA_RESULTS"):
        source_for("athena", tmp_path, environ={})
    with pytest.raises(DashboardError, match="WATTLAKE_REDSHIFT_HOST"):
        source_for("redshift", tmp_path, environ={})


def test_athena_source_waits_pages_and_types_the_result(monkeypatch) -> None:
    from botocore.stub import Stubber

    from wattlake.dashboards.queries import AthenaSource

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "offline")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "offline")
    source = AthenaSource(
        "wattlake", "wg", "s3://results/", "eu-west-1", poll_seconds=0
    )
    columns = [
        {"Name": "area_id", "Type": "varchar"},
        {"Name": "reading_date_local", "Type": "date"},
        {"Name": "energy_kwh", "Type": "double"},
        {"Name": "site_count", "Type": "integer"},
    ]

    def row(*values):  # noqa: ANN002, ANN202
        return {"Data": [{"VarCharValue": v} if v is not None else {} for v in values]}

    query = {"QueryExecutionId": "q1"}
    with Stubber(source._client) as stub:
        stub.add_response(
            "start_query_execution",
            query,
            {
                "QueryString": "select 1",
                "QueryExecutionContext": {"Database": "wattlake"},
                "WorkGroup": "wg",
                "ResultConfiguration": {"OutputLocation": "s3://results/"},
            },
        )
        for state in ("RUNNING", "SUCCEEDED"):
            stub.add_response(
                "get_query_execution",
                {"QueryExecution": {"Status": {"State": state}}},
                query,
            )
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {
                    "ResultSetMetadata": {"ColumnInfo": columns},
                    "Rows": [
                        row(
                            "area_id", "reading_date_local", "energy_kwh", "site_count"
                        ),
                        row("north", "2025-03-01", "12.5", "3"),
                    ],
                },
                "NextToken": "page-2",
            },
            query,
        )
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {
                    "ResultSetMetadata": {"ColumnInfo": columns},
                    "Rows": [row("south", "2025-03-02", None, "4")],
                }
            },
            {**query, "NextToken": "page-2"},
        )
        frame = source.query("select 1")
    assert frame["area_id"].tolist() == ["north", "south"]
    assert frame["reading_date_local"].tolist() == [date(2025, 3, 1), date(2025, 3, 2)]
    assert frame["energy_kwh"].iloc[0] == 12.5 and pd.isna(frame["energy_kwh"].iloc[1])
    assert frame["site_count"].tolist() == [3, 4]


def test_athena_source_names_a_failed_query(monkeypatch) -> None:
    from botocore.stub import Stubber

    from wattlake.dashboards.queries import AthenaSource

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "offline")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "offline")
    source = AthenaSource(
        "wattlake", "wg", "s3://results/", "eu-west-1", poll_seconds=0
    )
    with Stubber(source._client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q9"})
        stub.add_response(
            "get_query_execution",
            {
                "QueryExecution": {
                    "Status": {
                        "State": "FAILED",
                        "StateChangeReason": "TABLE_NOT_FOUND: fct_anomalies",
                    }
                }
            },
        )
        with pytest.raises(DashboardError, match="q9 FAILED: TABLE_NOT_FOUND"):
            source.query("select * from fct_anomalies")


def test_a_selection_with_nothing_to_show_gives_empty_answers(warehouse: Path) -> None:
    only_east = Filters(DAYS[0], DAYS[-1], areas=("east",))
    public = marts(warehouse, public=True)
    assert public.top_movers(only_east).empty
    assert public.city_daily(only_east).empty
    assert public.area_intensity(only_east).empty
