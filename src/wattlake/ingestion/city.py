"""The simulated city's configuration (`ingestion/city.toml`), validated on load.

Every problem is reported with the file and the key it is about, e.g.
`ingestion/city.toml: areas[2].site_mix.castle: unknown site type`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wattlake.config import ConfigError

CITY_FILE = Path("ingestion") / "city.toml"
SITE_TYPES = (
    "home",
    "apartment_block",
    "office",
    "mall",
    "school",
    "hospital",
    "factory",
)
ANOMALY_TYPES = (
    "spike",
    "dip",
    "stuck",
    "zero_run",
    "drift",
    "night_load",
    "level_shift",
    "negative",
    "clock_skew",
)
DELIVERY_FORMATS = ("csv.gz", "jsonl.gz", "parquet")
BATCH_SIZES = ("hour", "day")


@dataclass(frozen=True)
class Climate:
    """Parameters of the simulated hourly air temperature."""

    mean_c: float
    seasonal_amplitude_c: float
    coldest_day_of_year: int
    diurnal_amplitude_c: float
    noise_c: float
    heat_waves_per_year: float
    cold_snaps_per_year: float
    event_amplitude_c: float


@dataclass(frozen=True)
class Area:
    """A part of the city with its own head-end system."""

    area_id: str
    name: str
    time_zone: str
    latitude: float
    longitude: float
    radius_km: float
    heat_island_c: float
    delivery_format: str
    batch: str
    site_mix: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Faults:
    """How often head-end deliveries go wrong."""

    exact_duplicate_batch_share: float
    duplicate_row_share: float
    conflicting_correction_batch_share: float
    missing_row_share: float
    late_batch_share: float
    out_of_order_batch_share: float
    malformed_row_share: float
    wh_unit_batch_share: float
    local_time_dst_batches: bool


@dataclass(frozen=True)
class City:
    """Everything the simulator needs to know about the city."""

    name: str
    country: str
    subdivision: str | None
    faker_locale: str
    climate: Climate
    areas: tuple[Area, ...]
    solar_share: float
    ev_share: float
    meter_replacements_per_year: float
    reclassified_sites_per_year: float
    anomaly_rates: dict[str, float]
    faults: Faults
    tariff_switches_per_year: float = 0.0  # sites switching retail tariff


def load_city(path: Path) -> City:
    """Read and validate a city file.

    Raises:
        ConfigError: the file is missing, not TOML, or a key is wrong; the
            message names the file and the key.
    """
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: city file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    reader = _Reader(path, document)
    city = reader.table("city")
    climate = reader.table("climate")
    households = reader.table("households")
    registry = reader.table("registry")
    anomalies = reader.table("anomalies")
    faults = reader.table("faults")
    # optional: a city file without [tariffs] has no tariff switches
    tariffs = (
        reader.table("tariffs")
        if "tariffs" in document
        else _Section(path, "tariffs", {})
    )
    areas_raw = document.get("areas")
    if not isinstance(areas_raw, list) or not areas_raw:
        raise ConfigError(f"{path}: areas: at least one [[areas]] table is required")
    areas = tuple(_area(reader, index, raw) for index, raw in enumerate(areas_raw))
    ids = [area.area_id for area in areas]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path}: areas: duplicated area id in {ids}")
    unknown = sorted(set(anomalies.value) - set(ANOMALY_TYPES))
    if unknown:
        raise ConfigError(
            f"{path}: anomalies.{unknown[0]}: unknown anomaly type "
            f"(known: {', '.join(ANOMALY_TYPES)})"
        )
    return City(
        name=city.text("name"),
        country=city.text("country"),
        subdivision=city.text("subdivision", required=False),
        faker_locale=city.text("faker_locale"),
        climate=Climate(
            mean_c=climate.number("mean_c", -30, 40),
            seasonal_amplitude_c=climate.number("seasonal_amplitude_c", 0, 30),
            coldest_day_of_year=int(climate.number("coldest_day_of_year", 1, 366)),
            diurnal_amplitude_c=climate.number("diurnal_amplitude_c", 0, 20),
            noise_c=climate.number("noise_c", 0, 10),
            heat_waves_per_year=climate.number("heat_waves_per_year", 0, 20),
            cold_snaps_per_year=climate.number("cold_snaps_per_year", 0, 20),
            event_amplitude_c=climate.number("event_amplitude_c", 0, 20),
        ),
        areas=areas,
        solar_share=households.number("solar_share", 0, 1),
        ev_share=households.number("ev_share", 0, 1),
        meter_replacements_per_year=registry.number(
            "meter_replacements_per_year", 0, 12
        ),
        reclassified_sites_per_year=registry.number(
            "reclassified_sites_per_year", 0, 12
        ),
        anomaly_rates={
            name: anomalies.number(name, 0, 365, default=0.0) for name in ANOMALY_TYPES
        },
        faults=Faults(
            exact_duplicate_batch_share=faults.number(
                "exact_duplicate_batch_share", 0, 1
            ),
            duplicate_row_share=faults.number("duplicate_row_share", 0, 0.5),
            conflicting_correction_batch_share=faults.number(
                "conflicting_correction_batch_share", 0, 1
            ),
            missing_row_share=faults.number("missing_row_share", 0, 0.5),
            late_batch_share=faults.number("late_batch_share", 0, 1),
            out_of_order_batch_share=faults.number("out_of_order_batch_share", 0, 1),
            malformed_row_share=faults.number("malformed_row_share", 0, 0.5),
            wh_unit_batch_share=faults.number("wh_unit_batch_share", 0, 1),
            local_time_dst_batches=faults.boolean("local_time_dst_batches"),
        ),
        tariff_switches_per_year=tariffs.number(
            "switches_per_year", 0, 365, default=0.0
        ),
    )


def _area(reader: _Reader, index: int, raw: Any) -> Area:
    where = f"areas[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{reader.path}: {where}: expected a table")
    area = _Section(reader.path, where, raw)
    time_zone = area.text("time_zone")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{reader.path}: {where}.time_zone: {time_zone!r} is not an IANA time zone"
        ) from exc
    head_end = area.sub("head_end")
    fmt = head_end.text("format")
    if fmt not in DELIVERY_FORMATS:
        raise ConfigError(
            f"{reader.path}: {where}.head_end.format: {fmt!r} is not one of "
            f"{', '.join(DELIVERY_FORMATS)}"
        )
    batch = head_end.text("batch")
    if batch not in BATCH_SIZES:
        raise ConfigError(
            f"{reader.path}: {where}.head_end.batch: {batch!r} is not one of "
            f"{', '.join(BATCH_SIZES)}"
        )
    mix = area.sub("site_mix")
    for name in mix.value:
        if name not in SITE_TYPES:
            raise ConfigError(
                f"{reader.path}: {where}.site_mix.{name}: unknown site type "
                f"(known: {', '.join(SITE_TYPES)})"
            )
    weights = tuple((name, mix.number(name, 0, 1)) for name in mix.value)
    if not weights or sum(weight for _, weight in weights) <= 0:
        raise ConfigError(f"{reader.path}: {where}.site_mix: needs a positive share")
    area_id = area.text("id")
    if not area_id.replace("_", "").isalnum() or area_id != area_id.lower():
        raise ConfigError(
            f"{reader.path}: {where}.id: {area_id!r} must be lower-case letters, "
            "digits and '_' (it becomes part of batch ids)"
        )
    return Area(
        area_id=area_id,
        name=area.text("name"),
        time_zone=time_zone,
        latitude=area.number("latitude", -90, 90),
        longitude=area.number("longitude", -180, 180),
        radius_km=area.number("radius_km", 0.05, 100),
        heat_island_c=area.number("heat_island_c", -5, 5, default=0.0),
        delivery_format=fmt,
        batch=batch,
        site_mix=weights,
    )


@dataclass(frozen=True)
class _Section:
    path: Path
    where: str
    value: dict[str, Any]

    def _get(self, key: str, required: bool, default: Any = None) -> Any:
        if key not in self.value:
            if required and default is None:
                raise ConfigError(f"{self.path}: {self.where}.{key}: missing")
            return default
        return self.value[key]

    def text(self, key: str, required: bool = True) -> str:
        value = self._get(key, required)
        if value is None and not required:
            return None  # type: ignore[return-value]
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f"{self.path}: {self.where}.{key}: expected text, got {value!r}"
            )
        return value

    def number(
        self, key: str, low: float, high: float, default: float | None = None
    ) -> float:
        value = self._get(key, True, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"{self.path}: {self.where}.{key}: expected a number, got {value!r}"
            )
        if not low <= value <= high:
            raise ConfigError(
                f"{self.path}: {self.where}.{key}: {value} is outside [{low}, {high}]"
            )
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self._get(key, True)
        if not isinstance(value, bool):
            raise ConfigError(
                f"{self.path}: {self.where}.{key}: expected true or false"
            )
        return value

    def sub(self, key: str) -> _Section:
        value = self._get(key, True)
        if not isinstance(value, dict):
            raise ConfigError(f"{self.path}: {self.where}.{key}: expected a table")
        return _Section(self.path, f"{self.where}.{key}", value)


@dataclass(frozen=True)
class _Reader:
    path: Path
    document: dict[str, Any]

    def table(self, key: str) -> _Section:
        value = self.document.get(key)
        if not isinstance(value, dict):
            raise ConfigError(f"{self.path}: [{key}]: missing table")
        return _Section(self.path, key, value)
