"""The retailer's tariff assignments: who is on which tariff, switches, deliveries."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from simulated import SMALL, city, simulated_lake, truth

from wattlake.ingestion.city import SITE_TYPES
from wattlake.ingestion.formats import parse_delivery
from wattlake.ingestion.land import land_pending
from wattlake.ingestion.sites import build_sites
from wattlake.ingestion.tariffs import (
    EV_HOME_CHOICES,
    NOTICE_DAYS,
    TARIFF_CHOICES,
    assign_tariffs,
    tariff_deliveries,
)

SEEDS = Path(__file__).resolve().parents[4] / "seeds"


def plans() -> dict[str, dict[str, str]]:
    with (SEEDS / "tariff_plans.csv").open() as handle:
        return {row["tariff_id"]: row for row in csv.DictReader(handle)}


def test_every_tariff_the_retailer_uses_is_in_the_seed() -> None:
    seeded = plans()
    used = {t for options in TARIFF_CHOICES.values() for t, _ in options}
    used |= {t for t, _ in EV_HOME_CHOICES}
    assert used <= set(seeded)
    sectors = {row["site_type"]: row["sector"] for row in _site_types()}
    for site_type, options in TARIFF_CHOICES.items():
        for tariff, _ in options:
            assert seeded[tariff]["sector"] == sectors[site_type], (site_type, tariff)


def _site_types() -> list[dict[str, str]]:
    with (SEEDS / "site_types.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_the_first_delivery_puts_every_site_on_a_tariff_of_its_kind(
    tmp_path: Path,
) -> None:
    lake = simulated_lake(tmp_path, replace(city(), ev_share=0.5))
    deliveries = [d for d in lake.deliveries() if d.source == "tariffs"]
    assert deliveries[0].batch_id == f"tariffs_{SMALL.start:%Y%m%d}"
    first = (
        parse_delivery(
            lake.read_bytes(deliveries[0].uri), deliveries[0].fmt, "tariffs", "t"
        )
        .table.to_pandas()
        .set_index("site_id")
    )
    sites = truth(lake, "sites").set_index("site_id")
    assert set(first.index) == set(sites.index)
    # contracts started before the period
    assert (first["valid_from"] < f"{SMALL.start:%Y-%m-%d}").all()
    seeded = plans()
    on = first.join(sites)
    demand = on["tariff_id"].map(lambda t: seeded[t]["demand_charge_gbp_per_kw_month"])
    tiered = on["tariff_id"].map(lambda t: seeded[t]["is_tiered"])
    big = on["site_type"].isin(["office", "mall", "hospital", "factory"])
    assert (demand[big] != "").all() and (demand[~big] == "").all()
    blocks = on["site_type"].isin(["school", "apartment_block"])
    assert (tiered[blocks] == "true").all() and (tiered[~blocks] == "false").all()
    homes = on[on["site_type"] == "home"]
    assert homes["tariff_id"].str.startswith("dom_").all()
    # homes charging a car mostly pick the overnight EV tariff, others rarely
    ev = homes["ev_kw"] > 0
    assert (homes.loc[ev, "tariff_id"] == "dom_ev").mean() > 0.4
    assert (homes.loc[~ev, "tariff_id"] == "dom_ev").mean() < 0.3


def test_switches_are_announced_a_week_ahead_and_change_the_tariff() -> None:
    the_city = city()
    days = 90
    sites = build_sites(the_city, 400, SMALL.start, days, seed=8)
    assignments = assign_tariffs(sites, SMALL.start, days, 4.0, seed=8)
    start = np.datetime64(SMALL.start, "D")
    switched = assignments.valid_from >= start
    assert 0 < switched.sum() < sites.count
    kinds = dict(zip(sites.site_id, sites.site_type, strict=True))
    for index in np.flatnonzero(switched):
        site = assignments.site_id[index]
        valid_from = assignments.valid_from[index]
        assert start < valid_from < start + np.timedelta64(days, "D")
        assert assignments.notified_on[index] == max(
            start, valid_from - np.timedelta64(NOTICE_DAYS, "D")
        )
        before = assignments.tariff_id[
            (assignments.site_id == site) & (assignments.valid_from < start)
        ]
        assert len(before) == 1 and before[0] != assignments.tariff_id[index]
        options = {t for t, _ in TARIFF_CHOICES[kinds[site]]}
        assert assignments.tariff_id[index] in options
    # a site type with a single tariff never switches
    single = {kind for kind in SITE_TYPES if len(TARIFF_CHOICES[kind]) == 1}
    assert not {kinds[s] for s in assignments.site_id[switched]} & single


def test_deliveries_group_assignments_by_the_day_they_are_sent() -> None:
    sites = build_sites(city(), 200, SMALL.start, 60, seed=3)
    assignments = assign_tariffs(sites, SMALL.start, 60, 6.0, seed=3)
    deliveries = tariff_deliveries(assignments)
    assert [day for day, _ in deliveries] == sorted(
        {d.item() for d in assignments.notified_on}
    )
    assert deliveries[0][0] == SMALL.start
    assert sum(len(columns["site_id"]) for _, columns in deliveries) == (
        assignments.count
    )
    for day, columns in deliveries[1:]:
        assert all(
            value == f"{day + timedelta(days=NOTICE_DAYS):%Y-%m-%d}"
            for value in columns["valid_from"]
        )


def test_the_same_seed_assigns_the_same_tariffs() -> None:
    sites = build_sites(city(), 100, SMALL.start, 60, seed=1)
    one = assign_tariffs(sites, SMALL.start, 60, 2.0, seed=1)
    two = assign_tariffs(sites, SMALL.start, 60, 2.0, seed=1)
    other = assign_tariffs(sites, SMALL.start, 60, 2.0, seed=2)
    assert (one.tariff_id == two.tariff_id).all()
    assert (one.valid_from == two.valid_from).all()
    assert not (
        one.count == other.count
        and (one.tariff_id == other.tariff_id).all()
        and (one.valid_from == other.valid_from).all()
    )


def test_tariff_deliveries_land_in_raw_tariffs(tmp_path: Path) -> None:
    lake = simulated_lake(tmp_path, city())
    when = datetime(2025, 4, 2, 6, 30, tzinfo=UTC)
    report = land_pending(lake, received_at=when, workers=1)
    assert not report.problems
    batches = [m for m in report.landed if m.source == "tariffs"]
    assert batches and {m.table for m in batches} == {"tariffs"}
    table = pq.read_table(lake.raw("tariffs", when.date(), batches[0].batch_id))
    assert table.column_names[:3] == ["site_id", "tariff_id", "valid_from"]
    assert table.num_rows == batches[0].rows == 40
    assert table["parse_error"].null_count == table.num_rows
