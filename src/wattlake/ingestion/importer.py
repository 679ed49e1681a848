"""`wattlake import`: a real meter export becomes raw batches, through a mapping.

The importer reads an export (CSV, optionally gzip-compressed) as a mapping
describes it (`wattlake.ingestion.mapping`), and writes what a head-end system
would have delivered: readings in `landing/metering/` (one batch per UTC month),
weather observations in `landing/weather/` (same months) and the sites and
meters it names in `landing/registry/`, each as a Parquet file of text columns
following the data contracts of `wattlake.ingestion.formats`. It then lands
those deliveries with the landing code every delivery goes through. The
export arrived when its file was last modified (downloaded, copied or
written): each delivery gets that modification time, so landing records it as
the batches' `received_at` (and `ingest_date`).

Nothing is lost on the way:

- timestamps are converted to UTC text (`2013-01-01T00:00:00Z`); a timestamp
  that cannot be converted is delivered as exported, so staging quarantines the
  rows as `unparseable_timestamp` (if that text would still read as a date and
  time, the reason is appended in brackets so it cannot be misread as UTC);
- values are delivered exactly as exported (staging trims and casts them);
- a line whose every field is empty (`,,,,,,` or a blank line) carries no data
  and is counted, by name, in the report; every other line is delivered:
  data lines = delivered lines + empty lines, and each delivered line gives one
  readings row per meter it holds (long: 1; wide: one per value column) and, with
  a `[weather]` section, one weather row.

Batch ids are built from the mapping name, the month and a digest of the
export's content, so importing the same file again writes the same bytes under
the same ids and landing skips them; a different export never reuses an id.
A local wall-clock time that occurs twice (the hour repeated when clocks go
back) is read as the earlier instant the first time it appears for a meter and
as the later one the second time; if it does not appear exactly twice, it
cannot be placed and is delivered unconverted.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import time
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from wattlake.arrow_input import arrow_input
from wattlake.ingestion.formats import CONTRACTS
from wattlake.ingestion.land import LandingConflict, land_delivery
from wattlake.ingestion.manifest import REJECTED
from wattlake.ingestion.mapping import Mapping, Template, resolve_mapping
from wattlake.storage import Lake

log = logging.getLogger(__name__)

ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
LANDED = "landed"
UNCHANGED = "unchanged"
CONFLICT = "conflict"
_NOT_A_TIME = np.iinfo(np.int64).max  # sorts after every real instant
_NUMBER = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"


class ExportError(ValueError):
    """An export cannot be imported; the message names the file (and line)."""


class ImportConflict(RuntimeError):
    """`landing/` already holds other content under a batch id of this import."""


@dataclass(frozen=True)
class BatchOutcome:
    """One delivery an import wrote, and what landing did with it."""

    batch_id: str
    source: str  # metering | weather | registry
    rows: int
    status: str  # landed | unchanged | rejected | conflict
    detail: str | None = None


@dataclass(frozen=True)
class ImportReport:
    """Where every line of an export went."""

    export: str
    mapping: str
    layout: str
    data_lines: int  # lines after the header
    delivered_lines: int  # lines that became rows
    empty_lines: int  # lines whose every field is empty: no data, not delivered
    readings_rows: int
    weather_rows: int
    site_rows: int
    meter_rows: int
    meters_per_line: int  # long: 1; wide: the number of value columns
    unconverted_timestamps: int  # delivered lines whose timestamp stays as exported
    unparseable_values: int  # readings rows whose value does not read as a number
    batches: tuple[BatchOutcome, ...]
    seconds: float

    @property
    def problems(self) -> list[str]:
        """One line per delivery that was not landed and needs a person."""
        return [
            f"batch {b.batch_id}: {b.status}: {b.detail}"
            for b in self.batches
            if b.status in (REJECTED, CONFLICT)
        ]

    def count(self, status: str) -> int:
        """How many of the import's batches ended with `status`."""
        return sum(1 for batch in self.batches if batch.status == status)

    def lines(self) -> list[str]:
        """The accounting, one line per fact, as the CLI prints it."""
        per_line = (
            "1 per delivered line"
            if self.meters_per_line == 1
            else f"{self.meters_per_line} per delivered line, one per value column"
        )
        batches = {
            source: sum(1 for b in self.batches if b.source == source)
            for source in ("metering", "weather", "registry")
        }
        return [
            f"{self.export} ({self.layout} layout, mapping {self.mapping})",
            f"{self.data_lines:,} data lines = {self.delivered_lines:,} delivered "
            f"+ {self.empty_lines:,} empty lines (every field empty, e.g. ',,,'; "
            "no data, not delivered)",
            f"readings: {self.readings_rows:,} rows ({per_line}) "
            f"in {batches['metering']} batches",
            f"weather: {self.weather_rows:,} rows (1 per delivered line) "
            f"in {batches['weather']} batches"
            if self.weather_rows
            else "weather: none in this export",
            f"registry: {self.site_rows:,} sites, {self.meter_rows:,} meters",
            f"not convertible, delivered as exported for staging to quarantine: "
            f"{self.unconverted_timestamps:,} timestamps, "
            f"{self.unparseable_values:,} values",
            f"batches: {self.count(LANDED)} landed, {self.count(UNCHANGED)} "
            f"already landed, {self.count(REJECTED)} rejected, "
            f"{self.count(CONFLICT)} in conflict",
        ]


# ---------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Export:
    """An export read as text: every non-empty data line, columns as exported."""

    path: Path
    table: pa.Table  # one row per delivered line, every column a string
    data_lines: int
    empty_lines: int
    digest: str  # of the decompressed content; goes into batch ids


def read_export(path: Path, mapping: Mapping) -> Export:
    """Read an export's lines as the mapping describes them.

    Raises:
        ExportError: the file cannot be read, is not (gzip-compressed) UTF-8
            text, lacks a column of the mapping, has a column the mapping does
            not name, or has a line with the wrong number of fields.

    """
    data = _decompressed(path)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ExportError(
            f"{path}: line {line}: not valid UTF-8 (byte {exc.start} of the text)"
        ) from exc
    end = data.find(b"\n")
    first = (data if end < 0 else data[:end]).decode("utf-8").removesuffix("\r")
    if not first.strip():
        raise ExportError(f"{path}: line 1: the header is missing")
    header = next(csv.reader([first], delimiter=mapping.delimiter))
    _check_header(path, header, mapping)

    invalid: list[tuple[int | None, int, str]] = []
    blank = 0

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        nonlocal blank
        if row.text.strip():
            invalid.append((row.number, row.actual_columns, row.text))
        else:
            blank += 1  # only whitespace: an empty line
        return "skip"

    try:
        table = pacsv.read_csv(
            arrow_input(data),
            # one thread: the reader then numbers invalid rows by physical line
            read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(
                delimiter=mapping.delimiter,
                newlines_in_values=False,
                ignore_empty_lines=False,  # kept as empty rows, so they are counted
                invalid_row_handler=on_invalid_row,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ExportError(f"{path}: not readable as delimited text ({exc})") from exc
    if invalid:
        number, found, text = invalid[0]
        more = (
            f" (and {len(invalid) - 1:,} more such lines)" if len(invalid) > 1 else ""
        )
        raise ExportError(
            f"{path}: line {number}: expected {len(header)} fields, found {found}: "
            f"{text[:80]!r}{more}"
        )
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    data_lines = lines - 1
    if table.num_rows + blank != data_lines:
        raise ExportError(
            f"{path}: read {table.num_rows + blank:,} of its {data_lines:,} data "
            "lines; a quoted field may span lines, which imports do not support"
        )
    empty = pa.array(np.ones(table.num_rows, dtype=bool))
    for name in table.column_names:
        empty = pc.and_(empty, pc.equal(pc.utf8_trim_whitespace(table[name]), ""))
    empty_rows = pc.sum(empty).as_py() or 0
    if empty_rows:
        table = table.filter(pc.invert(empty))
    return Export(
        path=path,
        table=table.combine_chunks(),
        data_lines=data_lines,
        empty_lines=blank + empty_rows,
        digest=hashlib.sha256(data).hexdigest()[:12],
    )


def _decompressed(path: Path) -> bytes:
    try:
        payload = path.read_bytes()
    except FileNotFoundError as exc:
        raise ExportError(f"{path}: no such file") from exc
    except OSError as exc:
        raise ExportError(f"{path}: cannot be read ({exc.strerror})") from exc
    if payload[:2] == b"\x1f\x8b":
        try:
            payload = gzip.decompress(payload)
        except (OSError, EOFError, zlib.error) as exc:
            raise ExportError(f"{path}: not a readable gzip file ({exc})") from exc
    elif path.name.endswith(".gz"):
        raise ExportError(f"{path}: named .gz but not gzip-compressed")
    return payload.removeprefix(b"\xef\xbb\xbf")  # a byte order mark is no data


def _check_header(path: Path, header: list[str], mapping: Mapping) -> None:
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ExportError(f"{path}: line 1: duplicated column(s) {duplicated}")
    missing = [name for name in mapping.used_columns if name not in header]
    if missing:
        raise ExportError(
            f"{path}: line 1: no column(s) {missing} that mapping {mapping.path} "
            f"reads (found {header})"
        )
    unmapped = [
        name
        for name in header
        if name not in mapping.used_columns and name not in mapping.ignore_columns
    ]
    if unmapped:
        raise ExportError(
            f"{path}: line 1: column(s) {unmapped} are not in mapping {mapping.path}; "
            "map them, or list them in [export] ignore_columns to leave them out"
        )


# ------------------------------------------------------------------ timestamps
@dataclass(frozen=True)
class Timestamps:
    """Timestamps of an export's lines, converted to UTC where they can be."""

    text: pa.Array  # UTC ISO 8601 text ending in Z, else the exported text
    instant_ns: np.ndarray  # int64 ns since the epoch, UTC; _NOT_A_TIME if unconverted

    @property
    def converted(self) -> np.ndarray:
        """True where the timestamp was converted."""
        return self.instant_ns != _NOT_A_TIME


def convert_timestamps(
    column: pa.Array, series: pa.Array | None, fmt: str, zone: str
) -> Timestamps:
    """Convert exported wall-clock timestamps in `zone` to UTC, vectorised.

    Args:
        column: the exported timestamp text, one per line.
        series: what each line measures (the meter column of a long export),
            or None when every line belongs to one series (wide exports); a
            repeated wall-clock time is resolved by its order within a series.
        fmt: the strptime format of the timestamps.
        zone: the IANA time zone they are written in.

    """
    encoded = column.dictionary_encode()
    texts = encoded.dictionary
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    stripped = pc.utf8_trim_whitespace(texts).to_pandas()
    local = pd.DatetimeIndex(pd.to_datetime(stripped, format=fmt, errors="coerce"))
    parsed = ~local.isna()
    # Localise each distinct text twice: as the earlier and as the later of the
    # two instants an ambiguous wall-clock time can mean; both are NaT where the
    # wall-clock time does not exist (the hour skipped when clocks go forward).
    first = _utc_ns(local, zone, dst=True)
    second = _utc_ns(local, zone, dst=False)
    earlier, later = np.minimum(first, second), np.maximum(first, second)
    ambiguous = earlier != later
    nonexistent = parsed & (earlier == _NOT_A_TIME)

    instant = earlier[indices]
    rows_ambiguous = ambiguous[indices]
    use_later = np.zeros(len(indices), dtype=bool)
    if rows_ambiguous.any():
        positions = np.flatnonzero(rows_ambiguous)
        keys = pd.DataFrame(
            {
                "series": (
                    0
                    if series is None
                    else series.take(pa.array(positions))
                    .dictionary_encode()
                    .indices.to_numpy(zero_copy_only=False)
                ),
                "text": indices[positions],
            }
        )
        groups = keys.groupby(["series", "text"], sort=False)
        rank = groups.cumcount().to_numpy()
        size = groups["text"].transform("size").to_numpy()
        placed = size == 2
        use_later[positions[placed & (rank == 1)]] = True
        instant[positions[~placed]] = _NOT_A_TIME
        instant[use_later] = later[indices[use_later]]

    def as_text(ns: np.ndarray) -> pa.Array:
        stamps = pd.DatetimeIndex(
            np.where(ns == _NOT_A_TIME, np.datetime64("NaT"), ns.view("M8[ns]"))
        )
        return pa.array(stamps.strftime(ISO_UTC), pa.string(), from_pandas=True)

    take = pa.array(indices)
    unconverted = _unconverted_text(
        texts, stripped, parsed, ambiguous, nonexistent, fmt, zone
    )
    text = pc.if_else(
        pa.array(instant == _NOT_A_TIME),
        unconverted.take(take),
        as_text(earlier).take(take),
    )
    if use_later.any():
        text = pc.if_else(pa.array(use_later), as_text(later).take(take), text)
    return Timestamps(text=text, instant_ns=instant)


def _utc_ns(local: pd.DatetimeIndex, zone: str, dst: bool) -> np.ndarray:
    """UTC ns of wall-clock times; ambiguous ones read as daylight time if `dst`."""
    flags = np.full(len(local), dst, dtype=bool)
    placed = local.tz_localize(zone, ambiguous=flags, nonexistent="NaT")
    ns = placed.tz_convert("UTC").asi8.copy()
    ns[placed.isna()] = _NOT_A_TIME
    return ns


def _unconverted_text(
    texts: pa.Array,
    stripped: pd.Series,
    parsed: np.ndarray,
    ambiguous: np.ndarray,
    nonexistent: np.ndarray,
    fmt: str,
    zone: str,
) -> pa.Array:
    """What to deliver for each distinct text where it cannot be converted."""
    exported = texts.to_pandas().astype(object)
    out = exported.copy()
    readable = (
        ~parsed & pd.to_datetime(stripped, format="ISO8601", errors="coerce").notna()
    )
    out[readable] = exported[readable] + f" [does not match {fmt}]"
    out[nonexistent] = exported[nonexistent] + f" [no such local time in {zone}]"
    out[ambiguous] = exported[ambiguous] + f" [ambiguous local time in {zone}]"
    return pa.array(out, pa.string())


# ---------------------------------------------------------------- deliveries
@dataclass(frozen=True)
class Deliveries:
    """The tables an import delivers, before they are batched."""

    readings: pa.Table  # readings contract, every column text
    reading_months: np.ndarray  # the UTC month of each readings row (see _months)
    weather: pa.Table | None
    weather_months: np.ndarray
    sites: pa.Table
    meters: pa.Table
    unconverted_timestamps: int
    unparseable_values: int


def build_deliveries(export: Export, mapping: Mapping) -> Deliveries:
    """Turn an export's lines into readings, weather and registry rows."""
    table = export.table
    lines = table.num_rows

    def text_of(name: str) -> pa.Array:
        return table[name].combine_chunks()

    times = convert_timestamps(
        text_of(mapping.timestamp_column),
        text_of(mapping.meter_column) if mapping.layout == "long" else None,
        mapping.timestamp_format,
        mapping.time_zone,
    )
    if lines and not times.converted.any():
        first = text_of(mapping.timestamp_column)[0].as_py()
        raise ExportError(
            f"{export.path}: no value of column {mapping.timestamp_column!r} "
            f"matches timestamp_format {mapping.timestamp_format!r} of mapping "
            f"{mapping.path} in time zone {mapping.time_zone} (line 2: {first!r})"
        )
    months = _months(times.instant_ns)

    if mapping.layout == "long":
        exported_ids = pc.utf8_trim_whitespace(text_of(mapping.meter_column))
        meter_ids = _filled(mapping.meter_id, exported_ids)
        values = text_of(mapping.value_column)
        starts, row_months = times.text, months
        ids, first_ns = _first_reading_per_id(exported_ids, times.instant_ns)
    else:
        columns = [column for column, _ in mapping.value_columns]
        width = len(columns)
        # line-major order: the meters of line 1, then of line 2, ...
        order = (np.arange(lines)[:, None] + np.arange(width)[None, :] * lines).ravel()
        values = pa.concat_arrays([text_of(column) for column in columns]).take(
            pa.array(order)
        )
        per_meter = pa.array(
            [mapping.meter_id.apply(ident) for _, ident in mapping.value_columns]
        )
        meter_ids = per_meter.take(pa.array(np.tile(np.arange(width), lines)))
        line_of_row = pa.array(np.repeat(np.arange(lines), width))
        starts = times.text.take(line_of_row)
        row_months = np.repeat(months, width)
        ids = [ident for _, ident in mapping.value_columns]
        first_ns = [
            _first_instant(times.instant_ns, _non_empty(text_of(column)))
            for column in columns
        ]
    rows = len(values)
    readings = pa.table(
        {
            "meter_id": meter_ids,
            "reading_start": starts,
            "interval_minutes": _constant(str(mapping.interval_minutes), rows),
            "value": values,
            "unit": _constant(mapping.unit, rows),
        }
    )
    _check_contract(readings, "readings")
    unparseable = rows - (
        pc.sum(pc.match_substring_regex(values, _NUMBER)).as_py() or 0
    )

    weather = None
    if mapping.weather is not None:
        weather = pa.table(
            {
                "area_id": _constant(mapping.weather.area_id, lines),
                "observed_at": times.text,
                **{field: text_of(column) for field, column in mapping.weather.columns},
            }
        )
        _check_contract(weather, "weather")
    sites, meters = _registry(mapping, ids, first_ns)
    return Deliveries(
        readings=readings,
        reading_months=row_months,
        weather=weather,
        weather_months=months,
        sites=sites,
        meters=meters,
        unconverted_timestamps=int((~times.converted).sum()),
        unparseable_values=int(unparseable),
    )


def _filled(template: Template, ids: pa.Array) -> pa.Array:
    """The template filled with each id; an empty id stays empty (no meter)."""
    filled = pc.binary_join_element_wise(template.prefix, ids, template.suffix, "")
    return pc.if_else(pc.equal(ids, ""), "", filled)


def _constant(text: str, rows: int) -> pa.Array:
    return pa.array([text], pa.string()).take(pa.array(np.zeros(rows, np.int32)))


def _non_empty(column: pa.Array) -> np.ndarray:
    return pc.not_equal(pc.utf8_trim_whitespace(column), "").to_numpy(
        zero_copy_only=False
    )


def _first_instant(instant_ns: np.ndarray, mask: np.ndarray) -> int:
    chosen = instant_ns[mask]
    return int(chosen.min()) if len(chosen) else _NOT_A_TIME


def _first_reading_per_id(
    ids: pa.Array, instant_ns: np.ndarray
) -> tuple[list[str], list[int]]:
    """The distinct non-empty exported ids, sorted, with their first instant."""
    encoded = ids.dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    firsts = pd.Series(instant_ns).groupby(codes).min()
    names = encoded.dictionary.to_pylist()
    pairs = sorted(
        (names[code], int(first)) for code, first in firsts.items() if names[code]
    )
    return [name for name, _ in pairs], [first for _, first in pairs]


def _months(instant_ns: np.ndarray) -> np.ndarray:
    """Each line's UTC month, as months since 1970-01.

    An unconverted line goes with the line before it (at the start: after it).
    """
    converted = instant_ns != _NOT_A_TIME
    months = np.full(len(instant_ns), np.nan)
    months[converted] = (
        instant_ns[converted].view("M8[ns]").astype("M8[M]").astype(np.int64)
    )
    if converted.all():
        return months.astype(np.int64)
    return pd.Series(months).ffill().bfill().to_numpy().astype(np.int64)


def _month_label(month: int) -> str:
    return str(np.datetime64(month, "M"))  # YYYY-MM


def _registry(
    mapping: Mapping, ids: list[str], first_ns: list[int]
) -> tuple[pa.Table, pa.Table]:
    """One site and one meter per exported id.

    A meter's `installed_on` is the local date of its first reading in the
    export (the export does not say when it was installed).
    """
    sites = mapping.sites
    firsts = pd.DatetimeIndex(
        [None if ns == _NOT_A_TIME else pd.Timestamp(ns, tz="UTC") for ns in first_ns],
        dtype="datetime64[ns, UTC]",
    )
    installed = firsts.tz_convert(sites.time_zone).strftime("%Y-%m-%d")

    def number(value: float | None) -> str | None:
        return None if value is None else repr(value)

    count = len(ids)
    site_table = pa.table(
        {
            "site_id": [mapping.site_id.apply(i) for i in ids],
            "site_name": [mapping.site_name.apply(i) for i in ids],
            "site_type": [sites.site_type] * count,
            "area_id": [sites.area_id] * count,
            "area_name": [sites.area_name] * count,
            "floor_area_m2": [number(sites.floor_area_m2)] * count,
            "latitude": [number(sites.latitude)] * count,
            "longitude": [number(sites.longitude)] * count,
            "time_zone": [sites.time_zone] * count,
        },
        schema=_text_schema(CONTRACTS["sites"][0]),
    )
    meter_table = pa.table(
        {
            "meter_id": [mapping.meter_id.apply(i) for i in ids],
            "site_id": [mapping.site_id.apply(i) for i in ids],
            "installed_on": list(
                pd.Series(installed, dtype=object).where(~firsts.isna(), None)
            ),
            "interval_minutes": [str(mapping.interval_minutes)] * count,
        },
        schema=_text_schema(CONTRACTS["meters"][0]),
    )
    return site_table, meter_table


def _text_schema(names: tuple[str, ...]) -> pa.Schema:
    return pa.schema([(name, pa.string()) for name in names])


def _check_contract(table: pa.Table, contract: str) -> None:
    required, optional = CONTRACTS[contract]
    names = table.column_names
    if names[: len(required)] != list(required) or not set(names) <= {
        *required,
        *optional,
    }:
        raise AssertionError(f"{contract} delivery columns {names} break the contract")


# ------------------------------------------------------------- write and land
@dataclass(frozen=True)
class Batch:
    """One delivery of an import: where it goes and what it holds."""

    source: str
    batch_id: str
    table: pa.Table


def plan_batches(deliveries: Deliveries, mapping: Mapping, digest: str) -> list[Batch]:
    """Readings and weather per UTC month, then the registry's sites and meters."""
    batches = [
        Batch("registry", f"{table}_{mapping.name}_{digest}", rows)
        for table, rows in (("sites", deliveries.sites), ("meters", deliveries.meters))
        if rows.num_rows
    ]
    parts = [("metering", "readings", deliveries.readings, deliveries.reading_months)]
    if deliveries.weather is not None:
        parts.append(
            ("weather", "weather", deliveries.weather, deliveries.weather_months)
        )
    for source, kind, table, months in parts:
        for month in np.unique(months):
            rows = table.filter(pa.array(months == month))
            label = _month_label(int(month))
            batches.append(
                Batch(source, f"{mapping.name}_{kind}_{label}_{digest}", rows)
            )
    return batches


def parquet_bytes(table: pa.Table) -> bytes:
    """A table as Parquet; the same table always gives the same bytes."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", store_schema=False)
    return buffer.getvalue()


def deliver_and_land(
    lake: Lake, batches: list[Batch], received_at: datetime
) -> list[BatchOutcome]:
    """Write the batches into `landing/`, modified at `received_at`, and land each one.

    A batch whose delivery is already in `landing/` with the same rows is not
    written again (landing then skips it: same bytes, same checksum); if it
    was never landed, it lands with its own modification time.

    Raises:
        ImportConflict: `landing/` holds other rows under one of the batch ids;
            nothing is written.

    """
    planned: list[tuple[Batch, str, bytes | None]] = []
    conflicts = []
    for batch in batches:
        uri = lake.landing(batch.source, batch.batch_id, "parquet")
        payload = parquet_bytes(batch.table)
        if lake.exists(uri):
            existing = lake.read_bytes(uri)
            if existing != payload and not _same_rows(existing, batch.table):
                conflicts.append(uri)
            payload = None  # the delivery is there already
        planned.append((batch, uri, payload))
    if conflicts:
        raise ImportConflict(
            f"{len(conflicts)} deliveries of this import are already in landing/ "
            f"with other rows, e.g. {conflicts[0]}; deliveries are immutable: "
            "was the mapping changed since this file was imported?"
        )
    outcomes = []
    for batch, uri, payload in planned:
        if payload is not None:
            lake.write_bytes(uri, payload, modified=received_at)
        try:
            manifest = land_delivery(lake, lake.parse_delivery(uri))
        except LandingConflict as exc:
            outcomes.append(
                BatchOutcome(batch.batch_id, batch.source, 0, CONFLICT, str(exc))
            )
            log.error("import: %s", exc)
            continue
        if manifest is None:
            status, detail = UNCHANGED, None
        elif manifest.status == REJECTED:
            status, detail = REJECTED, manifest.reason
            log.error("import: rejected %s", manifest.reason)
        else:
            status, detail = LANDED, None
        outcomes.append(
            BatchOutcome(
                batch.batch_id, batch.source, batch.table.num_rows, status, detail
            )
        )
    return outcomes


def _same_rows(payload: bytes, table: pa.Table) -> bool:
    try:
        existing = pq.read_table(arrow_input(payload))
    except (pa.ArrowInvalid, OSError):
        return False
    return existing.equals(table)


# ----------------------------------------------------------------------- entry
def import_export(
    lake: Lake, path: Path, mapping: Mapping, received_at: datetime | None = None
) -> ImportReport:
    """Import one export: read, convert, deliver into `landing/`, land.

    Args:
        lake: the lake to deliver into.
        path: the export file (CSV, optionally gzip-compressed).
        mapping: how to read it (see `wattlake.ingestion.mapping`).
        received_at: when the export arrived (default: the export file's
            modification time).

    Raises:
        ExportError: the export cannot be read; the message names the file
            and, where it applies, the line.
        ImportConflict: a batch id of this import holds other rows in `landing/`.

    """
    started = time.perf_counter()
    export = read_export(path, mapping)
    log.info(
        "import: read %s data lines of %s (%.1f s)",
        f"{export.data_lines:,}",
        path,
        time.perf_counter() - started,
    )
    deliveries = build_deliveries(export, mapping)
    batches = plan_batches(deliveries, mapping, export.digest)
    log.info(
        "import: %s readings rows, %s weather rows, %s meters in %d batches (%.1f s)",
        f"{deliveries.readings.num_rows:,}",
        f"{deliveries.weather.num_rows if deliveries.weather is not None else 0:,}",
        f"{deliveries.meters.num_rows:,}",
        len(batches),
        time.perf_counter() - started,
    )
    if received_at is None:
        received_at = modification_time(path)
    outcomes = deliver_and_land(lake, batches, received_at)
    width = 1 if mapping.layout == "long" else len(mapping.value_columns)
    report = ImportReport(
        export=str(path),
        mapping=str(mapping.path),
        layout=mapping.layout,
        data_lines=export.data_lines,
        delivered_lines=export.table.num_rows,
        empty_lines=export.empty_lines,
        readings_rows=deliveries.readings.num_rows,
        weather_rows=(
            deliveries.weather.num_rows if deliveries.weather is not None else 0
        ),
        site_rows=deliveries.sites.num_rows,
        meter_rows=deliveries.meters.num_rows,
        meters_per_line=width,
        unconverted_timestamps=deliveries.unconverted_timestamps,
        unparseable_values=deliveries.unparseable_values,
        batches=tuple(outcomes),
        seconds=time.perf_counter() - started,
    )
    _check_accounting(report)
    return report


def modification_time(path: Path) -> datetime:
    """When a file was last modified, in UTC (to the microsecond)."""
    nanoseconds = path.stat().st_mtime_ns
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
        microseconds=nanoseconds // 1000
    )


def _check_accounting(report: ImportReport) -> None:
    """Every line is delivered or counted as empty; every delivered line fans out."""
    weather_per_line = 1 if report.weather_rows else 0
    if (
        report.data_lines != report.delivered_lines + report.empty_lines
        or report.readings_rows != report.delivered_lines * report.meters_per_line
        or report.weather_rows != report.delivered_lines * weather_per_line
    ):
        raise AssertionError(f"import of {report.export} does not add up: {report}")


def import_file(
    lake: Lake,
    path: Path,
    mapping: str,
    project_dir: Path,
    site_types: Collection[str] | None = None,
) -> ImportReport:
    """Import an export with a mapping given by name or path (as the CLI does)."""
    return import_export(lake, path, resolve_mapping(mapping, project_dir, site_types))
