"""Simulated meter readings, delivered to `landing/` as a head-end system would.

The city has areas; each area has sites of a few types, one meter per site.
Every interval of every local day of the scale's period is reported, so each
site has exactly one daily row per local day downstream. Readings are
vectorised per (area, day) and deterministic for a seed: the random stream of
one (area, day) does not depend on which other days are generated.

Deliveries:
    landing/registry/sites_<start>.csv.gz       the site registry
    landing/registry/meters_<start>.csv.gz      the meter registry
    landing/metering/readings_<area>_<day>.csv.gz   one batch per area and local day
"""

from __future__ import annotations

import gzip
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from wattlake.config import Scale
from wattlake.storage import Lake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteType:
    """How a kind of site uses electricity."""

    name: str
    kwh_per_m2_per_day: float
    floor_area_m2: tuple[float, float]
    weekday_shape: tuple[float, ...]  # 24 hourly factors, local time
    weekend_shape: tuple[float, ...]


@dataclass(frozen=True)
class Area:
    """A part of the city: where it is and which site types it holds."""

    area_id: str
    area_name: str
    time_zone: str
    latitude: float
    longitude: float
    site_mix: tuple[tuple[str, float], ...]


def _shape(night: float, hours: dict[range, float]) -> tuple[float, ...]:
    values = [night] * 24
    for span, level in hours.items():
        for hour in span:
            values[hour] = level
    return tuple(values)


SITE_TYPES = {
    site_type.name: site_type
    for site_type in (
        SiteType(
            "home",
            0.09,
            (50, 160),
            _shape(
                0.45,
                {
                    range(6, 9): 1.3,
                    range(9, 17): 0.8,
                    range(17, 22): 1.9,
                    range(22, 24): 0.9,
                },
            ),
            _shape(
                0.5,
                {
                    range(8, 12): 1.3,
                    range(12, 17): 1.0,
                    range(17, 22): 1.8,
                    range(22, 24): 0.9,
                },
            ),
        ),
        SiteType(
            "office",
            0.25,
            (800, 6000),
            _shape(0.55, {range(7, 8): 0.9, range(8, 18): 1.45, range(18, 20): 0.8}),
            _shape(0.55, {}),
        ),
        SiteType(
            "mall",
            0.6,
            (5000, 40000),
            _shape(0.6, {range(9, 10): 0.9, range(10, 22): 1.35}),
            _shape(0.6, {range(9, 10): 0.95, range(10, 22): 1.45}),
        ),
        SiteType(
            "factory",
            0.8,
            (3000, 20000),
            _shape(0.75, {range(6, 22): 1.15}),
            _shape(0.7, {range(6, 14): 0.9}),
        ),
    )
}

DEFAULT_CITY = (
    Area(
        "downtown",
        "Downtown",
        "Europe/London",
        51.512,
        -0.090,
        (("office", 0.5), ("mall", 0.15), ("home", 0.35)),
    ),
    Area(
        "suburbs",
        "Residential suburbs",
        "Europe/London",
        51.560,
        -0.200,
        (("home", 0.9), ("office", 0.05), ("mall", 0.05)),
    ),
    Area(
        "industrial",
        "Industrial zone",
        "Europe/London",
        51.500,
        0.050,
        (("factory", 0.7), ("office", 0.2), ("home", 0.1)),
    ),
)


@dataclass(frozen=True)
class Sites:
    """The simulated registry: one row per site, column arrays."""

    site_id: np.ndarray
    meter_id: np.ndarray
    site_name: np.ndarray
    site_type: np.ndarray
    area_index: np.ndarray
    floor_area_m2: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray


@dataclass(frozen=True)
class SimulationReport:
    """What `simulate` delivered."""

    deliveries_written: int
    deliveries_unchanged: int
    readings: int
    seconds: float
    landing: str


class SimulationConflict(RuntimeError):
    """The lake already holds a delivery with the same batch id but other content."""


def build_sites(
    site_count: int, seed: int, areas: tuple[Area, ...] = DEFAULT_CITY
) -> Sites:
    """Draw the city's sites: type, area, floor area and position."""
    rng = np.random.default_rng([seed, 0])
    area_index = np.sort(rng.integers(0, len(areas), site_count))
    site_type = np.empty(site_count, dtype=object)
    for index, area in enumerate(areas):
        members = np.flatnonzero(area_index == index)
        names = [name for name, _ in area.site_mix]
        weights = np.array([weight for _, weight in area.site_mix])
        site_type[members] = rng.choice(
            names, size=members.size, p=weights / weights.sum()
        )
    low = np.array([SITE_TYPES[t].floor_area_m2[0] for t in site_type])
    high = np.array([SITE_TYPES[t].floor_area_m2[1] for t in site_type])
    floor_area = np.round(low + (high - low) * rng.random(site_count), 1)
    latitude = np.array([areas[i].latitude for i in area_index]) + rng.normal(
        0, 0.01, site_count
    )
    longitude = np.array([areas[i].longitude for i in area_index]) + rng.normal(
        0, 0.01, site_count
    )
    numbers = np.arange(1, site_count + 1)
    site_id = np.array([f"SITE-{n:06d}" for n in numbers], dtype=object)
    return Sites(
        site_id=site_id,
        meter_id=np.array([f"MTR-{n:06d}" for n in numbers], dtype=object),
        site_name=np.array(
            [f"{t.title()} {n}" for t, n in zip(site_type, numbers, strict=True)],
            dtype=object,
        ),
        site_type=site_type,
        area_index=area_index,
        floor_area_m2=floor_area,
        latitude=np.round(latitude, 5),
        longitude=np.round(longitude, 5),
    )


def day_intervals(day: date, time_zone: str, interval_minutes: int) -> np.ndarray:
    """UTC starts (datetime64[s]) of every interval of a local day: 23 h to 25 h at DST."""
    zone = ZoneInfo(time_zone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    start_utc = np.datetime64(int(start.timestamp()), "s")
    seconds = int(end.timestamp() - start.timestamp())
    return start_utc + np.arange(0, seconds, interval_minutes * 60).astype(
        "timedelta64[s]"
    )


def local_hours(starts_utc: np.ndarray, time_zone: str) -> np.ndarray:
    """Local wall-clock hour (0-23) of each UTC instant."""
    zone = ZoneInfo(time_zone)
    seconds = starts_utc.astype("datetime64[s]").astype(np.int64)
    offsets = np.array(
        [
            datetime.fromtimestamp(int(s), zone).utcoffset().total_seconds()
            for s in seconds
        ],
        dtype=np.int64,
    )
    return ((seconds + offsets) // 3600) % 24


def simulate_area_day(
    sites: Sites,
    members: np.ndarray,
    area: Area,
    area_number: int,
    day: date,
    interval_minutes: int,
    seed: int,
) -> pa.Table:
    """Readings of every meter of one area over one local day, as delivered text."""
    starts = day_intervals(day, area.time_zone, interval_minutes)
    hours = local_hours(starts, area.time_zone)
    weekend = day.weekday() >= 5
    rng = np.random.default_rng([seed, 1, area_number, day.toordinal()])
    types = sites.site_type[members]
    shapes = np.array(
        [
            SITE_TYPES[t].weekend_shape if weekend else SITE_TYPES[t].weekday_shape
            for t in types
        ]
    )
    shape = shapes[:, hours]  # (meters, intervals)
    daily_kwh = sites.floor_area_m2[members] * np.array(
        [SITE_TYPES[t].kwh_per_m2_per_day for t in types]
    )
    per_interval = daily_kwh[:, None] * interval_minutes / (24 * 60)
    # Multiplicative AR(1) noise: occupancy changes slowly, not every 15 minutes.
    innovations = rng.normal(0.0, 0.12, shape.shape)
    noise = np.empty_like(innovations)
    noise[:, 0] = innovations[:, 0] / np.sqrt(1 - 0.8**2)
    for step in range(1, noise.shape[1]):
        noise[:, step] = 0.8 * noise[:, step - 1] + innovations[:, step]
    kwh = np.round(per_interval * shape * np.exp(noise), 4)
    meters, intervals = kwh.shape
    stamps = np.char.add(np.datetime_as_string(starts, unit="s").astype(str), "Z")
    return pa.table(
        {
            "meter_id": np.repeat(sites.meter_id[members], intervals),
            "reading_start": np.tile(stamps, meters),
            "interval_minutes": pa.array(
                [str(interval_minutes)] * (meters * intervals)
            ),
            "value": pa.array(kwh.ravel()).cast(pa.string()),
            "unit": pa.array(["kWh"] * (meters * intervals)),
            "quality_code": pa.array(["A"] * (meters * intervals)),
        }
    )


def sites_table(sites: Sites, areas: tuple[Area, ...]) -> pa.Table:
    """The site registry delivery."""
    return pa.table(
        {
            "site_id": sites.site_id,
            "site_name": sites.site_name,
            "site_type": sites.site_type,
            "area_id": [areas[i].area_id for i in sites.area_index],
            "area_name": [areas[i].area_name for i in sites.area_index],
            "floor_area_m2": pa.array(sites.floor_area_m2).cast(pa.string()),
            "latitude": pa.array(sites.latitude).cast(pa.string()),
            "longitude": pa.array(sites.longitude).cast(pa.string()),
            "time_zone": [areas[i].time_zone for i in sites.area_index],
        }
    )


def meters_table(sites: Sites, installed_on: date, interval_minutes: int) -> pa.Table:
    """The meter registry delivery: which meter measures which site."""
    count = len(sites.site_id)
    return pa.table(
        {
            "meter_id": sites.meter_id,
            "site_id": sites.site_id,
            "installed_on": [installed_on.isoformat()] * count,
            "interval_minutes": [str(interval_minutes)] * count,
        }
    )


def csv_gz(table: pa.Table) -> bytes:
    """Encode a table as gzip CSV with a header; byte-identical for identical input."""
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(quoting_style="needed"))
    return gzip.compress(buffer.getvalue(), compresslevel=6, mtime=0)


def deliveries(
    scale: Scale, seed: int, areas: tuple[Area, ...] = DEFAULT_CITY
) -> Iterator[tuple[str, str, pa.Table]]:
    """Yield `(source, batch_id, table)` for every delivery of the scale, in order."""
    sites = build_sites(scale.sites, seed, areas)
    stamp = f"{scale.start:%Y%m%d}"
    yield "registry", f"sites_{stamp}", sites_table(sites, areas)
    yield (
        "registry",
        f"meters_{stamp}",
        meters_table(sites, scale.start, scale.interval_minutes),
    )
    for offset in range(scale.days):
        day = scale.start + timedelta(days=offset)
        for number, area in enumerate(areas):
            members = np.flatnonzero(sites.area_index == number)
            if members.size == 0:
                continue
            table = simulate_area_day(
                sites, members, area, number, day, scale.interval_minutes, seed
            )
            yield "metering", f"readings_{area.area_id}_{day:%Y%m%d}", table


def simulate(lake: Lake, scale: Scale, seed: int) -> SimulationReport:
    """Write every delivery of a scale to `landing/`.

    A delivery already in the lake with identical bytes is left alone, so a rerun
    with the same seed writes nothing. A delivery with the same batch id but
    different bytes (another seed or scale) is refused.

    Raises:
        SimulationConflict: the lake holds other data under the same batch ids.

    """
    started = time.perf_counter()
    written = unchanged = readings = 0
    expected = 2 + scale.days * len(DEFAULT_CITY)
    step = max(1, expected // 10)
    for number, (source, batch_id, table) in enumerate(
        deliveries(scale, seed), start=1
    ):
        uri = lake.landing(source, batch_id, "csv.gz")
        payload = csv_gz(table)
        if lake.exists(uri):
            if lake.read_bytes(uri) != payload:
                raise SimulationConflict(
                    f"{uri} already exists with different content: this lake was "
                    f"simulated with another seed or scale. Use a new lake "
                    f"(WATTLAKE_LAKE) or delete {lake.root}."
                )
            unchanged += 1
        else:
            lake.write_bytes(uri, payload)
            written += 1
        if source == "metering":
            readings += table.num_rows
        if number % step == 0:
            log.info(
                "simulate: %d of ~%d deliveries, %s readings",
                number,
                expected,
                f"{readings:,}",
            )
    return SimulationReport(
        deliveries_written=written,
        deliveries_unchanged=unchanged,
        readings=readings,
        seconds=time.perf_counter() - started,
        landing=lake.landing_prefix(),
    )
