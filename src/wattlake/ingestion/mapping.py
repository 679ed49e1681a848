"""Mappings: how the columns of a real meter export become Wattlake deliveries.

A mapping is a TOML file, `ingestion/mappings/<name>.toml`, with four sections:

- `[export]`: the layout (`long`: one reading per line with a meter column;
  `wide`: one line per timestamp, one value column per meter), the timestamp
  column, its `strptime` format and the IANA time zone it is written in, the
  interval and the unit of the values.
- `[ids]`: templates turning the id an export uses for a meter (`{id}`) into
  Wattlake meter and site ids and a site name.
- `[sites]`: what the registry says about the sites (site type, area, time
  zone, and latitude, longitude, floor area where known).
- `[weather]` (optional): which columns are weather observations.

A mapping is validated in full when it is loaded; anything wrong is refused
with a message naming the file and the key.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAPPINGS_DIR = Path("ingestion") / "mappings"
LAYOUTS = ("long", "wide")
UNITS = ("kWh", "Wh", "kW")
# The intervals int_readings_validated accepts.
INTERVAL_MINUTES = (5, 10, 15, 30, 60)
# Optional weather fields of the weather contract, beside air_temperature_c.
WEATHER_FIELDS = ("air_temperature_c", "relative_humidity_pct", "wind_speed_m_s")
# The mapping name goes into batch ids.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ID_TEXT = re.compile(r"^[A-Za-z0-9_.-]*$")

_SECTIONS = {
    "export": {
        "layout",
        "timestamp_column",
        "timestamp_format",
        "time_zone",
        "interval_minutes",
        "unit",
        "delimiter",
        "meter_column",
        "value_column",
        "value_columns",
        "ignore_columns",
    },
    "ids": {"meter_id", "site_id", "site_name"},
    "sites": {
        "site_type",
        "area_id",
        "area_name",
        "time_zone",
        "latitude",
        "longitude",
        "floor_area_m2",
    },
    "weather": {"area_id", *WEATHER_FIELDS},
}
_TOP_LEVEL = {"description"}


class MappingError(ValueError):
    """A mapping file is missing or invalid; the message names the file and key."""


@dataclass(frozen=True)
class Template:
    """An id template such as `lcl-{id}`: text around exactly one `{id}`."""

    prefix: str
    suffix: str

    def apply(self, ident: str) -> str:
        """The template filled in with one exported id."""
        return f"{self.prefix}{ident}{self.suffix}"


@dataclass(frozen=True)
class SitesMapping:
    """The registry rows an import emits: one site and one meter per exported id."""

    site_type: str
    area_id: str
    area_name: str
    time_zone: str
    latitude: float | None
    longitude: float | None
    floor_area_m2: float | None


@dataclass(frozen=True)
class WeatherMapping:
    """Weather columns of the export, delivered as observations of one area."""

    area_id: str
    columns: tuple[tuple[str, str], ...]  # (weather contract field, export column)


@dataclass(frozen=True)
class Mapping:
    """A validated mapping of one kind of meter export."""

    name: str
    path: Path
    description: str
    layout: str
    timestamp_column: str
    timestamp_format: str
    time_zone: str
    interval_minutes: int
    unit: str
    delimiter: str
    meter_column: str | None  # long layout: the column naming the meter
    value_column: str | None  # long layout: the column holding the value
    value_columns: tuple[tuple[str, str], ...]  # wide layout: (column, exported id)
    ignore_columns: tuple[str, ...]
    meter_id: Template
    site_id: Template
    site_name: Template
    sites: SitesMapping
    weather: WeatherMapping | None

    @property
    def used_columns(self) -> tuple[str, ...]:
        """Every export column the mapping reads, in a stable order."""
        columns = [self.timestamp_column]
        if self.layout == "long":
            columns += [str(self.meter_column), str(self.value_column)]
        else:
            columns += [column for column, _ in self.value_columns]
        if self.weather is not None:
            columns += [column for _, column in self.weather.columns]
        return tuple(columns)


def resolve_mapping(
    name_or_path: str, project_dir: Path, site_types: Collection[str] | None = None
) -> Mapping:
    """Load a mapping by name (`ingestion/mappings/<name>.toml`) or by path.

    A value ending in `.toml` or containing a path separator is a path;
    anything else is the name of a mapping shipped with the project.
    """
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return load_mapping(Path(name_or_path), site_types)
    folder = project_dir / MAPPINGS_DIR
    path = folder / f"{name_or_path}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.toml"))
        raise MappingError(
            f"no mapping named {name_or_path!r} in {folder} "
            f"(known: {', '.join(known) or 'none'}); or pass a path to a .toml file"
        )
    return load_mapping(path, site_types)


def load_mapping(path: Path, site_types: Collection[str] | None = None) -> Mapping:
    """Read and validate a mapping file.

    Args:
        path: the TOML file; its stem is the mapping's name (used in batch ids).
        site_types: the site types Wattlake knows (`seeds/site_types.csv`); when
            given, `[sites] site_type` must be one of them.

    Raises:
        MappingError: the file is missing, not TOML, or a key is missing or
            invalid; the message names the file and the key.

    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MappingError(f"{path}: no such mapping file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: cannot read the mapping ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML ({exc})") from exc
    return _Reader(path).mapping(data, site_types)


class _Reader:
    """Validates one mapping file; every error names the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> MappingError:
        return MappingError(f"{self.path}: {key}: {problem}")

    # ------------------------------------------------------------ structure
    def mapping(
        self, data: dict[str, Any], site_types: Collection[str] | None
    ) -> Mapping:
        name = self.path.stem
        if not _NAME.match(name):
            raise MappingError(
                f"{self.path}: the file name {name!r} is the mapping's name and goes "
                "into batch ids: use lower-case letters, digits, '_' and '-'"
            )
        for key, value in data.items():
            if key in _SECTIONS:
                if not isinstance(value, dict):
                    raise self.fail(key, "must be a [section]")
            elif key not in _TOP_LEVEL:
                known = ", ".join([*_TOP_LEVEL, *(f"[{s}]" for s in _SECTIONS)])
                what = "section" if isinstance(value, dict) else "key"
                name = f"[{key}]" if isinstance(value, dict) else key
                raise self.fail(name, f"unknown {what} (known: {known})")
        for section in ("export", "ids", "sites"):
            if section not in data:
                raise self.fail(f"[{section}]", "missing section")
        for section, keys in _SECTIONS.items():
            unknown = sorted(set(data.get(section, {})) - keys)
            if unknown:
                raise self.fail(
                    f"[{section}] {unknown[0]}",
                    f"unknown key (known: {', '.join(sorted(keys))})",
                )

        export, ids, sites = data["export"], data["ids"], data["sites"]
        layout = self.choice(export, "export", "layout", LAYOUTS)
        time_zone = self.zone(export, "export", "time_zone")
        timestamp_format = self.timestamp_format(export)
        interval = export.get("interval_minutes")
        if interval not in INTERVAL_MINUTES or isinstance(interval, bool):
            raise self.fail(
                "[export] interval_minutes",
                f"must be one of {', '.join(map(str, INTERVAL_MINUTES))}, "
                f"got {interval!r}",
            )
        delimiter = export.get("delimiter", ",")
        if (
            not isinstance(delimiter, str)
            or len(delimiter) != 1
            or delimiter in '"\r\n'
        ):
            raise self.fail(
                "[export] delimiter", f"must be one character, got {delimiter!r}"
            )
        timestamp_column = self.text(export, "export", "timestamp_column")

        meter_column = value_column = None
        value_columns: tuple[tuple[str, str], ...] = ()
        if layout == "long":
            for key in ("value_columns",):
                if key in export:
                    raise self.fail(f"[export] {key}", "only for layout = 'wide'")
            meter_column = self.text(export, "export", "meter_column")
            value_column = self.text(export, "export", "value_column")
        else:
            for key in ("meter_column", "value_column"):
                if key in export:
                    raise self.fail(f"[export] {key}", "only for layout = 'long'")
            value_columns = self.value_columns(export)

        ignore = export.get("ignore_columns", [])
        if not isinstance(ignore, list) or not all(
            isinstance(column, str) and column for column in ignore
        ):
            raise self.fail("[export] ignore_columns", "must be a list of column names")

        weather = None
        if "weather" in data:
            if layout != "wide":
                raise self.fail(
                    "[weather]",
                    "only for layout = 'wide' (one observation per line)",
                )
            weather = self.weather(data["weather"], sites)
        mapping = Mapping(
            name=name,
            path=self.path,
            description=self.description(data),
            layout=layout,
            timestamp_column=timestamp_column,
            timestamp_format=timestamp_format,
            time_zone=time_zone,
            interval_minutes=int(interval),
            unit=self.choice(export, "export", "unit", UNITS),
            delimiter=delimiter,
            meter_column=meter_column,
            value_column=value_column,
            value_columns=value_columns,
            ignore_columns=tuple(ignore),
            meter_id=self.template(ids, "meter_id"),
            site_id=self.template(ids, "site_id"),
            site_name=self.template(ids, "site_name", free_text=True),
            sites=self.sites(sites, site_types),
            weather=weather,
        )
        self.distinct_columns(mapping)
        return mapping

    # ------------------------------------------------------------ sections
    def value_columns(self, export: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        columns = export.get("value_columns")
        if not isinstance(columns, dict) or not columns:
            raise self.fail(
                "[export] value_columns",
                "missing: a table of value column = exported meter id (wide layout)",
            )
        for column, ident in columns.items():
            if not isinstance(ident, str) or not ident or not _ID_TEXT.match(ident):
                raise self.fail(
                    f"[export.value_columns] {column!r}",
                    "the meter id must be letters, digits, '_', '-' or '.', "
                    f"got {ident!r}",
                )
        if len(set(columns.values())) != len(columns):
            raise self.fail("[export.value_columns]", "meter ids must be distinct")
        return tuple(columns.items())

    def sites(
        self, sites: dict[str, Any], site_types: Collection[str] | None
    ) -> SitesMapping:
        site_type = self.text(sites, "sites", "site_type")
        if site_types is not None and site_type not in site_types:
            raise self.fail(
                "[sites] site_type",
                f"{site_type!r} is not a known site type "
                f"(seeds/site_types.csv: {', '.join(sorted(site_types))})",
            )
        latitude = self.number(sites, "latitude", -90, 90)
        longitude = self.number(sites, "longitude", -180, 180)
        if (latitude is None) != (longitude is None):
            raise self.fail(
                "[sites] latitude",
                "give latitude and longitude together, or neither",
            )
        floor_area = self.number(sites, "floor_area_m2", 0, math.inf)
        if floor_area is not None and floor_area <= 0:
            raise self.fail("[sites] floor_area_m2", "must be greater than 0")
        return SitesMapping(
            site_type=site_type,
            area_id=self.ident(sites, "sites", "area_id"),
            area_name=self.text(sites, "sites", "area_name"),
            time_zone=self.zone(sites, "sites", "time_zone"),
            latitude=latitude,
            longitude=longitude,
            floor_area_m2=floor_area,
        )

    def weather(self, weather: dict[str, Any], sites: dict[str, Any]) -> WeatherMapping:
        area_id = (
            self.ident(weather, "weather", "area_id")
            if "area_id" in weather
            else self.ident(sites, "sites", "area_id")
        )
        self.text(weather, "weather", "air_temperature_c")  # required by the contract
        columns = tuple(
            (field, self.text(weather, "weather", field))
            for field in WEATHER_FIELDS
            if field in weather
        )
        return WeatherMapping(area_id=area_id, columns=columns)

    def distinct_columns(self, mapping: Mapping) -> None:
        used = [*mapping.used_columns, *mapping.ignore_columns]
        repeated = sorted({column for column in used if used.count(column) > 1})
        if repeated:
            raise self.fail(
                "[export]",
                f"column {repeated[0]!r} is mapped more than once "
                "(each export column is read for one purpose, or ignored)",
            )

    # --------------------------------------------------------------- values
    def text(self, section: dict[str, Any], name: str, key: str) -> str:
        value = section.get(key)
        if value is None:
            raise self.fail(f"[{name}] {key}", "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"[{name}] {key}", f"must be non-empty text, got {value!r}")
        return value

    def description(self, data: dict[str, Any]) -> str:
        value = data.get("description", "")
        if not isinstance(value, str):
            raise self.fail("description", f"must be text, got {value!r}")
        return value

    def ident(self, section: dict[str, Any], name: str, key: str) -> str:
        value = self.text(section, name, key)
        if not _ID_TEXT.match(value):
            raise self.fail(
                f"[{name}] {key}",
                f"ids are letters, digits, '_', '-' and '.', got {value!r}",
            )
        return value

    def choice(
        self, section: dict[str, Any], name: str, key: str, choices: tuple[str, ...]
    ) -> str:
        value = section.get(key)
        if value not in choices:
            raise self.fail(
                f"[{name}] {key}",
                f"must be one of {', '.join(choices)}, got {value!r}",
            )
        return str(value)

    def zone(self, section: dict[str, Any], name: str, key: str) -> str:
        value = self.text(section, name, key)
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise self.fail(
                f"[{name}] {key}",
                f"{value!r} is not an IANA time zone (e.g. UTC, Europe/London)",
            ) from exc
        return value

    def number(
        self, section: dict[str, Any], key: str, low: float, high: float
    ) -> float | None:
        if key not in section:
            return None
        value = section[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"[sites] {key}", f"must be a number, got {value!r}")
        if not low <= value <= high or math.isnan(value):
            raise self.fail(
                f"[sites] {key}", f"must lie in [{low}, {high}], got {value!r}"
            )
        return float(value)

    def timestamp_format(self, export: dict[str, Any]) -> str:
        fmt = self.text(export, "export", "timestamp_format")
        key = "[export] timestamp_format"
        if "%z" in fmt or "%Z" in fmt:
            raise self.fail(
                key,
                "offsets and zone names in the timestamps are not supported: "
                "give the zone in [export] time_zone",
            )
        sample = datetime(2001, 2, 13, 14, 35, 56)
        try:
            parsed = datetime.strptime(sample.strftime(fmt), fmt)
        except ValueError as exc:
            raise self.fail(
                key, f"{fmt!r} is not a usable strptime format ({exc})"
            ) from exc
        wanted = sample if "%S" in fmt else sample.replace(second=0)
        if parsed != wanted:
            raise self.fail(
                key,
                f"{fmt!r} must give year, month, day, hour and minute "
                "(e.g. %Y-%m-%d %H:%M:%S)",
            )
        return fmt

    def template(
        self, ids: dict[str, Any], key: str, free_text: bool = False
    ) -> Template:
        value = self.text(ids, "ids", key)
        if (
            value.count("{id}") != 1
            or value.replace("{id}", "").count("{")
            or (value.replace("{id}", "").count("}"))
        ):
            raise self.fail(
                f"[ids] {key}",
                f"needs '{{id}}' exactly once and no other braces, got {value!r}",
            )
        prefix, _, suffix = value.partition("{id}")
        if not free_text and not _ID_TEXT.match(prefix + suffix):
            raise self.fail(
                f"[ids] {key}",
                f"ids are letters, digits, '_', '-' and '.', got {value!r}",
            )
        return Template(prefix, suffix)
