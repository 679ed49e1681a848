"""Landing: each delivery in `landing/` becomes one Parquet file in `raw/` plus a manifest.

Landing is idempotent: a batch whose manifest records the same checksum is
skipped, so landing the same delivery again changes nothing. A delivery that
cannot be read is not landed; its manifest says `rejected` with the reason and
the file stays in `landing/`, so nothing is lost. The raw file is written
first and the manifest last: a batch counts as landed once its manifest exists.

A batch's `received_at` is when its delivery arrived in `landing/`: the
delivery object's modification time (a local file's mtime; in S3 its
`sent-at` metadata when the sender set one, else `LastModified`), read with
the delivery itself. Its UTC date is the batch's `ingest_date` in `raw/`. The
first landing records it: landing the same bytes again, even with another
modification time, changes nothing.

`land_pending` lands deliveries in worker processes, one delivery at a time
each (`WATTLAKE_LAND_WORKERS`, default: the usable cores), so memory stays
bounded by the workers' deliveries whatever the size of the backlog.
"""

from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import repeat

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wattlake.config import ConfigError
from wattlake.ingestion.formats import DeliveryError, parse_delivery
from wattlake.ingestion.manifest import (
    LANDED,
    REJECTED,
    Manifest,
    read_manifest,
    write_manifest,
)
from wattlake.storage import Delivery, Lake, LakeError

log = logging.getLogger(__name__)

WORKERS_VARIABLE = "WATTLAKE_LAND_WORKERS"
# Raw columns written without a Parquet dictionary: source_line counts up by
# one, which delta encoding stores in almost nothing.
_PLAIN_COLUMNS = ("source_line",)
# Reading starts in the form the simulator and most head-end systems write;
# for these, text order is time order and no date parser is needed.
_UTC_SECONDS = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"
)


class LandingConflict(RuntimeError):
    """A batch id was landed before with different content."""


@dataclass
class LandingReport:
    """What one landing pass did."""

    landed: list[Manifest] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[Manifest] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        """Rows written to `raw/` in this pass."""
        return sum(manifest.rows for manifest in self.landed)

    @property
    def problems(self) -> list[str]:
        """One line per delivery that needs a person's attention."""
        return [f"{m.delivery}: {m.reason}" for m in self.rejected] + self.conflicts


def land_delivery(
    lake: Lake, delivery: Delivery, received_at: datetime | None = None
) -> Manifest | None:
    """Land one delivery; return its new manifest, or None if already landed.

    Args:
        lake: the lake.
        delivery: the file in `landing/`.
        received_at: when it arrived, timezone-aware (default: the delivery
            object's modification time, see `Lake.read_object`).

    Raises:
        LandingConflict: the batch id was landed with a different checksum.
        ValueError: `received_at` has no UTC offset.

    """
    stored = lake.read_object(delivery.uri)
    payload = stored.data
    received_at = _utc(received_at or stored.modified)
    checksum = hashlib.sha256(payload).hexdigest()
    previous = read_manifest(lake, delivery.batch_id)
    if previous is not None:
        if previous.checksum_sha256 == checksum:
            return None
        raise LandingConflict(
            f"{delivery.uri}: batch {delivery.batch_id} was {previous.status} before "
            f"with checksum {previous.checksum_sha256[:12]}, this file has {checksum[:12]}; "
            "a corrected delivery needs a new batch id"
        )
    base = Manifest(
        batch_id=delivery.batch_id,
        source=delivery.source,
        table="",
        status=LANDED,
        delivery=delivery.uri,
        delivery_format=delivery.fmt,
        delivery_bytes=len(payload),
        checksum_sha256=checksum,
        received_at=received_at.isoformat(),
    )
    try:
        table_name = delivery.table
        parsed = parse_delivery(payload, delivery.fmt, table_name, delivery.uri)
    except (DeliveryError, LakeError) as exc:
        manifest = replace(base, status=REJECTED, reason=str(exc))
        write_manifest(lake, manifest)
        return manifest

    rows = parsed.table.num_rows
    raw_uri = lake.raw(table_name, received_at.date(), delivery.batch_id)
    lake.write_bytes(
        raw_uri, raw_parquet(parsed.table, delivery.batch_id, delivery.uri, received_at)
    )
    span_start, span_end = (
        _time_span(parsed.table["reading_start"])
        if table_name == "readings"
        else (None, None)
    )
    manifest = replace(
        base,
        table=table_name,
        raw=raw_uri,
        rows=rows,
        unparseable_rows=parsed.unparseable_rows,
        blank_lines=parsed.blank_lines,
        time_span_start=span_start,
        time_span_end=span_end,
    )
    try:
        write_manifest(lake, manifest)
    except BaseException:
        # no manifest, no batch: leave nothing half-landed for readers of raw/
        lake.delete(raw_uri)
        raise
    return manifest


def land_pending(
    lake: Lake, received_at: datetime | None = None, workers: int | None = None
) -> LandingReport:
    """Land every delivery in `landing/` that has no manifest yet.

    Args:
        lake: the lake to land in.
        received_at: the `received_at` of every batch (default: each delivery
            object's modification time: when it arrived).
        workers: processes landing deliveries side by side (default:
            `land_workers()`); 1 lands them in this process.

    """
    started = time.perf_counter()
    report = LandingReport()
    deliveries = lake.deliveries()
    workers = min(land_workers() if workers is None else workers, len(deliveries))
    outcomes = (
        _land_in_workers(lake, deliveries, received_at, workers)
        if workers > 1
        else (_land_one(lake, delivery, received_at) for delivery in deliveries)
    )
    step = max(1, len(deliveries) // 10)
    for number, outcome in enumerate(outcomes, start=1):
        if isinstance(outcome, LandingConflict):
            report.conflicts.append(str(outcome))
            log.error("land: %s", outcome)
        elif outcome is None:
            report.unchanged += 1
        elif outcome.status == REJECTED:
            report.rejected.append(outcome)
            log.error("land: rejected %s", outcome.reason)
        else:
            report.landed.append(outcome)
        if number % step == 0:
            log.info(
                "land: %d of %d deliveries checked, %s rows landed",
                number,
                len(deliveries),
                f"{report.rows:,}",
            )
    report.seconds = time.perf_counter() - started
    return report


def land_workers(environ: Mapping[str, str] | None = None) -> int:
    """How many processes `land_pending` uses: `WATTLAKE_LAND_WORKERS`, else the cores.

    Raises:
        ConfigError: the variable is set to something other than a positive integer.

    """
    env = os.environ if environ is None else environ
    value = env.get(WORKERS_VARIABLE, "").strip()
    if not value:
        return _usable_cores()
    try:
        workers = int(value)
    except ValueError:
        workers = 0
    if workers < 1:
        raise ConfigError(
            f"environment variable {WORKERS_VARIABLE}: expected a positive integer, "
            f"got {value!r}"
        )
    return workers


def raw_parquet(
    parsed: pa.Table, batch_id: str, source_file: str, received_at: datetime
) -> bytes:
    """The raw Parquet file of a batch: its rows plus batch_id, source_file, received_at.

    The three lineage columns hold one value each, so they are written as
    dictionaries; the file stores no Arrow schema, so every reader sees plain
    string, int64 and timestamp columns.
    """
    rows = parsed.num_rows
    first = pa.array(np.zeros(rows, dtype=np.int32))

    def constant(value: pa.Scalar) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(
            first, pa.array([value.as_py()], value.type)
        )

    table = (
        parsed.append_column("batch_id", constant(pa.scalar(batch_id, pa.string())))
        .append_column("source_file", constant(pa.scalar(source_file, pa.string())))
        .append_column(
            "received_at",
            pa.repeat(pa.scalar(received_at, pa.timestamp("us", tz="UTC")), rows),
        )
    )
    buffer = io.BytesIO()
    pq.write_table(
        table,
        buffer,
        compression="zstd",
        store_schema=False,
        use_dictionary=[n for n in table.column_names if n not in _PLAIN_COLUMNS],
        column_encoding=dict.fromkeys(_PLAIN_COLUMNS, "DELTA_BINARY_PACKED"),
    )
    return buffer.getvalue()


def _land_one(
    lake: Lake, delivery: Delivery, received_at: datetime | None
) -> Manifest | LandingConflict | None:
    try:
        return land_delivery(lake, delivery, received_at)
    except LandingConflict as exc:
        return exc


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"received_at {moment} has no UTC offset")
    return moment.astimezone(UTC)


_worker_lakes: dict[tuple[str, str | None], Lake] = {}


def _land_in_worker(
    root: str,
    endpoint_url: str | None,
    delivery: Delivery,
    received_at: datetime | None,
) -> Manifest | LandingConflict | None:
    """Land one delivery in a worker process (which keeps its own lake client)."""
    lake = _worker_lakes.get((root, endpoint_url))
    if lake is None:
        lake = _worker_lakes[(root, endpoint_url)] = Lake(root, endpoint_url)
    return _land_one(lake, delivery, received_at)


def _land_in_workers(
    lake: Lake,
    deliveries: list[Delivery],
    received_at: datetime | None,
    workers: int,
) -> Iterator[Manifest | LandingConflict | None]:
    """Outcomes in delivery order; each worker holds one delivery at a time."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=_start_method()) as pool:
        yield from pool.map(
            _land_in_worker,
            repeat(lake.root),
            repeat(lake.endpoint_url),
            deliveries,
            repeat(received_at),
        )


def _start_method() -> multiprocessing.context.BaseContext:
    """How worker processes start: fork on Linux, spawn elsewhere.

    Forked workers start at once with pyarrow already imported (as the
    simulator's do); each builds its own lake client, so none is shared.
    """
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _time_span(starts: pa.ChunkedArray) -> tuple[str | None, str | None]:
    """Earliest and latest parseable reading start, ISO 8601 in UTC.

    Reading starts repeat (one per meter), so only distinct values are parsed;
    with pandas, as landing always has, unless all of them are whole seconds
    in UTC written with a Z, whose text order is their time order.
    """
    values = pc.unique(starts).drop_null().to_pylist()
    if values and all(_UTC_SECONDS.fullmatch(value) for value in values):
        low, high = min(values), max(values)
        if _pandas_can_hold(low) and _pandas_can_hold(high):
            return low[:-1] + "+00:00", high[:-1] + "+00:00"
    import pandas as pd  # only for other forms: slow to import in every worker

    parsed = pd.to_datetime(
        pd.Series(values, dtype=object), format="ISO8601", utc=True, errors="coerce"
    )
    if parsed.isna().all():
        return None, None
    return parsed.min().isoformat(), parsed.max().isoformat()


def _pandas_can_hold(value: str) -> bool:
    """Whether a `_UTC_SECONDS` text is a real instant that pandas parses too."""
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return datetime(1678, 1, 1) <= moment < datetime(2262, 1, 1)
