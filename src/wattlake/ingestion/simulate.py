"""The city simulator: realistic, labelled meter data delivered to `landing/`.

What it writes (all deterministic for a seed, whatever the number of workers):

    landing/registry/sites_<day>.csv.gz, meters_<day>.csv.gz
        the registry on the first day and on every day it changes
    landing/weather/weather_<day>.csv.gz
        hourly air temperature per area (UTC)
    landing/tariffs/tariffs_<day>.csv.gz
        the retailer's tariff assignments: every site's tariff on the first day,
        and each switch a week before it takes effect (see tariffs.py)
    landing/metering/readings_<area>_<day>[T<hour>][_<fault>].<format>
        one batch per area and local day, or per area and UTC hour, in the
        area's head-end format, with the faults of deliver.py
    _truth/{sites,anomalies,faults,registry_changes,weather_events}.parquet
        ground truth for evaluation; the pipeline never reads it

Each delivery's modification time is when it would have arrived (landing
records it as `received_at`): readings `DELIVERY_DELAY` after their day
(local midnight) or UTC hour ends, late parts, re-sent copies and corrections
as deliver.py says; weather after its UTC day ends; a registry snapshot at
the start of its day (local time of the first area), before any reading of
that day. On S3, where only S3 sets LastModified, the time goes into each
object's `sent-at` metadata, which landing prefers (see wattlake.storage).

Days are simulated in parallel worker processes; each (area, day) draws from
its own random stream, so the output does not depend on how work is split.
"""

from __future__ import annotations

import io
import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

import holidays as public_holidays
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from wattlake.config import Scale
from wattlake.ingestion.anomalies import (
    AnomalyPlan,
    apply_anomalies,
    plan_anomalies,
    truth_table,
)
from wattlake.ingestion.city import CITY_FILE, City, load_city
from wattlake.ingestion.deliver import (
    Batch,
    FaultLog,
    apply_faults,
    encode,
    encode_table,
    late_arrival,
    late_arrival_time,
    local_midnight,
    on_time_arrival,
)
from wattlake.ingestion.load import day_clock, simulate_day
from wattlake.ingestion.sites import (
    Sites,
    build_sites,
    day_range,
    registry_dates,
    registry_snapshot,
)
from wattlake.ingestion.tariffs import assign_tariffs, tariff_deliveries
from wattlake.ingestion.weather import Weather, simulate_weather
from wattlake.storage import Lake

log = logging.getLogger(__name__)


class SimulationConflict(RuntimeError):
    """The lake already holds a delivery with the same batch id but other content."""


@dataclass(frozen=True)
class SimulationReport:
    """What `simulate` delivered."""

    deliveries_written: int
    deliveries_unchanged: int
    readings: int  # true readings simulated (every meter, every interval)
    anomalies: int
    faults: int
    seconds: float
    landing: str


@dataclass(frozen=True)
class _World:
    """Everything a worker needs to simulate a day, shared by fork."""

    lake: Lake
    city: City
    scale: Scale
    seed: int
    sites: Sites
    weather: Weather
    holidays: frozenset[date]
    plan: AnomalyPlan
    dst_local_area: int | None  # the area whose head-end writes local time on DST days


@dataclass
class _DayResult:
    written: int
    unchanged: int
    readings: int
    faults: FaultLog
    excess_kwh: np.ndarray
    interval_count: np.ndarray


_WORLD: _World | None = None


def default_city(project_dir: Path) -> City:
    """The city file: WATTLAKE_CITY, else ingestion/city.toml of the project."""
    path = Path(os.environ.get("WATTLAKE_CITY") or project_dir / CITY_FILE)
    return load_city(path)


def simulate(
    lake: Lake, scale: Scale, seed: int, city: City, workers: int | None = None
) -> SimulationReport:
    """Write every delivery of a scale to `landing/`, and the ground truth to `_truth/`.

    A delivery already in the lake with identical bytes is left alone, so a rerun
    with the same seed writes nothing new. A delivery with the same batch id but
    different bytes (another seed, scale or city) is refused.

    Raises:
        SimulationConflict: the lake holds other data under the same batch ids.
    """
    global _WORLD
    started = time.perf_counter()
    days = day_range(scale.start, scale.days)
    sites = build_sites(city, scale.sites, scale.start, scale.days, seed)
    weather = simulate_weather(
        city.climate,
        [area.heat_island_c for area in city.areas],
        days[0],
        days[-1],
        seed,
    )
    years = range(days[0].year - 1, days[-1].year + 2)
    holidays = frozenset(
        public_holidays.country_holidays(
            city.country, subdiv=city.subdivision, years=years
        )
    )
    plan = plan_anomalies(
        city, sites, scale.start, scale.days, scale.interval_minutes, seed
    )
    dst_area = next((i for i, a in enumerate(city.areas) if a.batch == "day"), None)
    _WORLD = _World(
        lake,
        city,
        scale,
        seed,
        sites,
        weather,
        holidays,
        plan,
        dst_area if city.faults.local_time_dst_batches else None,
    )
    log.info(
        "simulate: %d sites in %d areas, %d days, %d anomalies planned",
        sites.count,
        len(city.areas),
        len(days),
        len(plan.site_index),
    )
    written = unchanged = readings = 0
    faults = FaultLog()
    for source, batch_id, fmt, payload, arrives_at in _reference_deliveries(
        _WORLD, days
    ):
        outcome = _write(lake, source, batch_id, fmt, payload, arrives_at)
        written, unchanged = written + outcome, unchanged + (1 - outcome)

    workers = workers or min(os.cpu_count() or 1, 4)
    step = max(1, len(days) // 10)
    results = _map_days(days, workers)
    for number, result in enumerate(results, start=1):
        written += result.written
        unchanged += result.unchanged
        readings += result.readings
        faults.extend(result.faults)
        plan.excess_kwh += result.excess_kwh
        plan.interval_count += result.interval_count
        if number % step == 0 or number == len(days):
            elapsed = time.perf_counter() - started
            log.info(
                "simulate: %d of %d days, %s readings (%.1f M/s)",
                number,
                len(days),
                f"{readings:,}",
                readings / elapsed / 1e6,
            )
    _write_truth(_WORLD, faults)
    _WORLD = None
    return SimulationReport(
        deliveries_written=written,
        deliveries_unchanged=unchanged,
        readings=readings,
        anomalies=len(plan.site_index),
        faults=len(faults),
        seconds=time.perf_counter() - started,
        landing=lake.landing_prefix(),
    )


def _map_days(days: list[date], workers: int):  # noqa: ANN202 - an iterator of _DayResult
    if workers <= 1 or len(days) == 1:
        yield from map(_simulate_day, days)
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"))
    try:
        yield from pool.map(_simulate_day, days, chunksize=1)
    finally:
        pool.shutdown()


def _simulate_day(day: date) -> _DayResult:
    world = _WORLD
    assert world is not None, "simulate() sets the world before simulating days"
    sites, city, scale = world.sites, world.city, world.scale
    plan = replace(
        world.plan,
        excess_kwh=np.zeros_like(world.plan.excess_kwh),
        interval_count=np.zeros_like(world.plan.interval_count),
    )
    faults = FaultLog()
    written = unchanged = readings = 0
    last_day = scale.start + timedelta(days=scale.days - 1)
    meter_ids = sites.meter_ids(day)
    zones = sorted({area.time_zone for area in city.areas})
    for zone_number, zone in enumerate(zones):
        area_numbers = [
            i for i, area in enumerate(city.areas) if area.time_zone == zone
        ]
        in_zone = np.zeros(len(city.areas), dtype=bool)
        in_zone[area_numbers] = True
        members = np.flatnonzero(in_zone[sites.area_index])
        if members.size == 0:
            continue
        clock = day_clock(day, zone, scale.interval_minutes)
        rng = np.random.default_rng([world.seed, 1, zone_number, day.toordinal()])
        energy = simulate_day(
            sites, members, clock, world.weather, set(world.holidays), rng
        )
        skew = apply_anomalies(plan, energy, members, clock)
        readings += energy.size
        dst_day = clock.starts_utc.size * scale.interval_minutes != 24 * 60
        for area_number in area_numbers:
            area = city.areas[area_number]
            rows = np.flatnonzero(sites.area_index[members] == area_number)
            if rows.size == 0:
                continue
            intervals = clock.starts_utc.size
            cells = energy[rows]
            batch = Batch(
                batch_id=f"readings_{area.area_id}_{day:%Y%m%d}",
                site_index=np.repeat(members[rows], intervals),
                meter_id=np.repeat(meter_ids[members[rows]], intervals),
                start_utc=(
                    clock.starts_utc[None, :]
                    + (skew[rows] * 60).astype("timedelta64[s]")
                ).ravel(),
                kwh=cells.ravel(),
                unit=np.full(cells.size, "kWh", dtype=object),
                quality_code=np.full(cells.size, "A", dtype=object),
                malformed=np.zeros(cells.size, dtype=bool),
                utc_offset_s=np.tile(clock.utc_offset_s, rows.size),
            )
            true_start = np.tile(clock.starts_utc, rows.size)
            day_end = local_midnight(day + timedelta(days=1), area.time_zone)
            for part, period_end in _split(batch, area.batch, true_start, day_end):
                part.arrives_at = on_time_arrival(period_end)
                fault_rng = np.random.default_rng(
                    [world.seed, 3, area_number, day.toordinal(), _hour_of(part)]
                )
                local_time = dst_day and area_number == world.dst_local_area
                late_day = late_arrival(day, last_day, fault_rng)
                late_at = (
                    None
                    if late_day is None
                    else late_arrival_time(late_day, area.time_zone)
                )
                for sent in apply_faults(
                    part, city.faults, fault_rng, faults, late_at, local_time
                ):
                    payload = encode(sent, area.delivery_format, scale.interval_minutes)
                    outcome = _write(
                        world.lake,
                        "metering",
                        sent.batch_id,
                        area.delivery_format,
                        payload,
                        sent.arrives_at,
                    )
                    written, unchanged = written + outcome, unchanged + (1 - outcome)
    return _DayResult(
        written, unchanged, readings, faults, plan.excess_kwh, plan.interval_count
    )


def _split(
    batch: Batch, size: str, true_start: np.ndarray, day_end: datetime
) -> list[tuple[Batch, datetime]]:
    """One batch a day, or one per UTC hour (by the true time of each reading).

    Each with the end of its period: `day_end` (the local midnight after the
    day), or the end of its UTC hour.
    """
    if size == "day":
        return [(batch, day_end)]
    hours = true_start.astype("datetime64[h]")
    parts = []
    for hour in np.unique(hours):
        index = np.flatnonzero(hours == hour)
        stamp = np.datetime_as_string(hour, unit="h").replace("-", "")
        part = batch.take(index, f"{batch.batch_id.rsplit('_', 1)[0]}_{stamp}")
        hour_end = hour.astype(datetime).replace(tzinfo=UTC) + timedelta(hours=1)
        parts.append((part, hour_end))
    return parts


def _hour_of(batch: Batch) -> int:
    suffix = batch.batch_id.rsplit("_", 1)[1]
    return int(suffix[-2:]) if "T" in suffix else 99


def _reference_deliveries(world: _World, days: list[date]):  # noqa: ANN202
    """Registry, weather and tariff deliveries: (source, batch_id, format, payload, arrives_at).

    A registry snapshot or a tariff delivery of a day arrives at its start
    (local time of the city's first area), weather after its UTC day ends.
    """
    city, sites, scale = world.city, world.sites, world.scale
    registry_zone = city.areas[0].time_zone
    for day in registry_dates(sites, scale.start):
        site_columns, meter_columns = registry_snapshot(
            sites, city, day, scale.start, scale.interval_minutes
        )
        arrives_at = on_time_arrival(local_midnight(day, registry_zone))
        yield (
            "registry",
            f"sites_{day:%Y%m%d}",
            "csv.gz",
            encode_table(site_columns, "csv.gz"),
            arrives_at,
        )
        yield (
            "registry",
            f"meters_{day:%Y%m%d}",
            "csv.gz",
            encode_table(meter_columns, "csv.gz"),
            arrives_at,
        )
    areas = np.arange(len(city.areas))
    for day in days:
        hours = np.datetime64(day.isoformat(), "h") + np.arange(24)
        temperature = world.weather.at(areas[:, None], hours.astype("datetime64[s]"))
        columns = {
            "area_id": np.repeat([area.area_id for area in city.areas], 24),
            "observed_at": np.tile(
                np.char.add(np.datetime_as_string(hours, unit="s"), "Z"), len(areas)
            ),
            "air_temperature_c": [f"{value:.1f}" for value in temperature.ravel()],
        }
        yield (
            "weather",
            f"weather_{day:%Y%m%d}",
            "csv.gz",
            encode_table(columns, "csv.gz"),
            on_time_arrival(
                datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
            ),
        )
    assignments = assign_tariffs(
        sites, scale.start, scale.days, city.tariff_switches_per_year, world.seed
    )
    for day, columns in tariff_deliveries(assignments):
        yield (
            "tariffs",
            f"tariffs_{day:%Y%m%d}",
            "csv.gz",
            encode_table(columns, "csv.gz"),
            on_time_arrival(local_midnight(day, registry_zone)),
        )


def _write(
    lake: Lake,
    source: str,
    batch_id: str,
    fmt: str,
    payload: bytes,
    arrives_at: datetime | None,
) -> int:
    """Write a delivery, modified when it arrives; 1 if written, 0 if already there.

    A delivery already there with the same bytes is left alone, its
    modification time too.
    """
    uri = lake.landing(source, batch_id, fmt)
    if lake.exists(uri):
        if lake.read_bytes(uri) != payload:
            raise SimulationConflict(
                f"{uri} already exists with different content: this lake was "
                f"simulated with another seed, scale or city. Use a new lake "
                f"(WATTLAKE_LAKE) or delete {lake.root}."
            )
        return 0
    lake.write_bytes(uri, payload, modified=arrives_at)
    return 1


def _write_truth(world: _World, faults: FaultLog) -> None:
    lake, sites, city, plan = world.lake, world.sites, world.city, world.plan
    meter_at_start = sites.meter_id_on(
        plan.site_index, plan.start_utc.astype("datetime64[D]")
    )
    tables = {
        "anomalies.parquet": truth_table(plan, sites, meter_at_start),
        "faults.parquet": faults.table(),
        "sites.parquet": _sites_truth(sites, city),
        "registry_changes.parquet": _registry_truth(sites),
        "weather_events.parquet": pa.table(
            {
                "event_type": [e[0] for e in world.weather.events],
                "first_day": pa.array(
                    [e[1] for e in world.weather.events], pa.date32()
                ),
                "last_day": pa.array([e[2] for e in world.weather.events], pa.date32()),
                "amplitude_c": pa.array(
                    [e[3] for e in world.weather.events], pa.float64()
                ),
            }
        ),
    }
    for name, table in tables.items():
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        lake.write_bytes(lake.truth(name), buffer.getvalue())


def _sites_truth(sites: Sites, city: City) -> pa.Table:
    return pa.table(
        {
            "site_id": sites.site_id.astype(str),
            "site_type": sites.site_type.astype(str),
            "area_id": [city.areas[i].area_id for i in sites.area_index],
            "floor_area_m2": sites.floor_area_m2,
            "mean_kw": np.round(sites.mean_kw, 4),
            "pv_kwp": sites.pv_kwp,
            "ev_kw": sites.ev_kw,
            "is_net_metered": sites.is_net_metered,
        }
    )


def _registry_truth(sites: Sites) -> pa.Table:
    kinds, ids, days, before, after = [], [], [], [], []
    for index in np.flatnonzero(~np.isnat(sites.reclassified_on)):
        kinds.append("site_reclassified")
        ids.append(sites.site_id[index])
        days.append(sites.reclassified_on[index].item())
        before.append(sites.registered_type[index])
        after.append(sites.site_type[index])
    for index in np.flatnonzero(~np.isnat(sites.meter_replaced_on)):
        day = sites.meter_replaced_on[index].item()
        kinds.append("meter_replaced")
        ids.append(sites.site_id[index])
        days.append(day)
        before.append(
            sites.meter_id_on(
                np.array([index]), np.array([day - timedelta(days=1)], "datetime64[D]")
            )[0]
        )
        after.append(
            sites.meter_id_on(np.array([index]), np.array([day], "datetime64[D]"))[0]
        )
    return pa.table(
        {
            "change_type": pa.array(kinds, pa.string()),
            "site_id": pa.array(ids, pa.string()),
            "effective_on": pa.array(days, pa.date32()),
            "before": pa.array(before, pa.string()),
            "after": pa.array(after, pa.string()),
        }
    )
