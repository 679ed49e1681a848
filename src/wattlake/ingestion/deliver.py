"""Head-end deliveries: batches of readings with the faults real head-ends produce.

Batches are encoded as gzip CSV, gzip JSON Lines or Parquet.

Faults (ground truth in `_truth/faults.parquet`, one row per affected reading
or batch): missing intervals, rows repeated inside a batch, a batch sent twice
under a new id, estimated values corrected by a later batch, part of a batch
arriving days late in a batch of its own, rows out of time order, malformed
lines, a meter reporting Wh instead of kWh, and local wall-clock timestamps
(no offset) on the days daylight saving time changes.

Each batch also knows when it arrives in `landing/` (`Batch.arrives_at`): the
simulator gives every delivery that modification time, which landing records
as `received_at`. On time is `DELIVERY_DELAY` after the batch's period ends; a
copy sent twice comes `RESEND_DELAY` after the original, a correction
`CORRECTION_DELAY` after the batch it corrects, and a late part at
`LATE_HOUR` o'clock (local time) on its late day.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from wattlake.ingestion.city import Faults

COLUMNS = (
    "meter_id",
    "reading_start",
    "interval_minutes",
    "value",
    "unit",
    "quality_code",
)
# When deliveries arrive (see the module docstring).
DELIVERY_DELAY = timedelta(minutes=5)
RESEND_DELAY = timedelta(hours=1)
CORRECTION_DELAY = timedelta(hours=6)
LATE_HOUR = 12


@dataclass
class Batch:
    """Readings of one batch before encoding (one element per row)."""

    batch_id: str
    site_index: np.ndarray  # int: which site each row belongs to
    meter_id: np.ndarray  # object
    start_utc: (
        np.ndarray
    )  # datetime64[s], as the meter labelled it (clock skew included)
    kwh: np.ndarray  # float
    unit: np.ndarray  # object: "kWh" or "Wh"
    quality_code: np.ndarray  # object
    malformed: np.ndarray  # bool: written as a garbled line
    utc_offset_s: np.ndarray  # the site's UTC offset at each reading (seconds)
    local_time: bool = (
        False  # written in local wall-clock time without offset (a fault)
    )
    arrives_at: datetime | None = None  # when it arrives in landing/ (aware)

    def take(self, index: np.ndarray, batch_id: str | None = None) -> Batch:
        """A batch of some of these rows (in the order of `index`)."""
        return Batch(
            batch_id=batch_id or self.batch_id,
            site_index=self.site_index[index],
            meter_id=self.meter_id[index],
            start_utc=self.start_utc[index],
            kwh=self.kwh[index],
            unit=self.unit[index],
            quality_code=self.quality_code[index],
            malformed=self.malformed[index],
            utc_offset_s=self.utc_offset_s[index],
            local_time=self.local_time,
            arrives_at=self.arrives_at,
        )

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.meter_id)


class FaultLog:
    """Ground truth of the delivery faults, collected as column chunks."""

    def __init__(self) -> None:
        self._chunks: list[tuple[np.ndarray, ...]] = []

    def __len__(self) -> int:
        return sum(len(chunk[0]) for chunk in self._chunks)

    def add(
        self, kind: str, batch: Batch, index: np.ndarray | None, detail: str
    ) -> None:
        """Record a fault on some rows of a batch (or, with no index, on the whole batch)."""
        if index is None:
            meters = np.array([None], dtype=object)
            starts = np.array(["NaT"], dtype="datetime64[s]")
        else:
            meters, starts = batch.meter_id[index], batch.start_utc[index]
        count = len(meters)
        self._chunks.append(
            (
                np.full(count, kind, dtype=object),
                np.full(count, batch.batch_id, dtype=object),
                meters,
                starts,
                np.full(count, detail, dtype=object),
            )
        )

    def extend(self, other: FaultLog) -> None:
        """Append another log."""
        self._chunks.extend(other._chunks)

    def table(self) -> pa.Table:
        """The log as a table."""
        names = ("fault_type", "batch_id", "meter_id", "reading_start_utc", "detail")
        if not self._chunks:
            columns = [np.array([], dtype=object)] * 3 + [np.array([], "datetime64[s]")]
            columns.append(np.array([], dtype=object))
        else:
            columns = [
                np.concatenate(parts) for parts in zip(*self._chunks, strict=True)
            ]
        return pa.table(
            {
                name: pa.array(
                    column.astype("datetime64[us]")
                    if name == "reading_start_utc"
                    else column,
                    pa.timestamp("us", tz="UTC")
                    if name == "reading_start_utc"
                    else pa.string(),
                )
                for name, column in zip(names, columns, strict=True)
            }
        )


def apply_faults(
    batch: Batch,
    faults: Faults,
    rng: np.random.Generator,
    log: FaultLog,
    late_at: datetime | None,
    local_time_export: bool,
) -> list[Batch]:
    """Turn one clean batch into what the head-end actually sends (one or more batches).

    Args:
        batch: the batch, with `arrives_at` set to when it arrives on time.
        faults: the city's fault rates.
        rng: the batch's random stream.
        log: ground truth of the faults, added to.
        late_at: when a late part would arrive, in the area's time zone (its
            local date names the late batch; None: nothing may be late).
        local_time_export: the head-end writes this batch in local wall-clock
            time without offset (as some do around a DST change).
    """
    if batch.arrives_at is None:
        raise ValueError(f"batch {batch.batch_id}: arrives_at is not set")
    out: list[Batch] = []
    rows = np.arange(batch.rows)
    missing = rng.random(batch.rows) < faults.missing_row_share
    if missing.any():
        log.add("missing_interval", batch, rows[missing], "reading never sent")
    keep = rows[~missing]
    if late_at is not None and rng.random() < faults.late_batch_share and keep.size:
        meters = np.unique(batch.site_index[keep])
        chosen = rng.choice(
            meters, size=max(1, int(len(meters) * rng.uniform(0.1, 0.4))), replace=False
        )
        is_late = np.isin(batch.site_index[keep], chosen)
        late, keep = keep[is_late], keep[~is_late]
        late_batch = batch.take(late, f"{batch.batch_id}_late{late_at:%Y%m%d}")
        late_batch.arrives_at = late_at
        days = (late_at.date() - _batch_day(batch)).days
        log.add(
            "late_delivery", late_batch, np.arange(late_batch.rows), f"{days} days late"
        )
        out.append(late_batch)
    sent = batch.take(keep)
    if sent.rows and rng.random() < faults.wh_unit_batch_share:
        site = rng.choice(np.unique(sent.site_index))
        cells = np.flatnonzero(sent.site_index == site)
        sent.unit[cells] = "Wh"
        log.add("wh_unit", sent, cells, "value sent in Wh instead of kWh")
    if sent.rows and rng.random() < faults.conflicting_correction_batch_share:
        cells = np.flatnonzero(rng.random(sent.rows) < rng.uniform(0.05, 0.2))
        if cells.size:
            correction = sent.take(cells, f"{batch.batch_id}_correction")
            correction.arrives_at = batch.arrives_at + CORRECTION_DELAY
            sent.kwh[cells] = np.round(
                sent.kwh[cells] * rng.uniform(0.3, 3.0, cells.size), 4
            )
            sent.quality_code[cells] = "E"
            log.add(
                "corrected_reading",
                correction,
                np.arange(correction.rows),
                "estimated value replaced by a later correction batch",
            )
            out.append(correction)
    if sent.rows:
        repeated = np.flatnonzero(rng.random(sent.rows) < faults.duplicate_row_share)
        if repeated.size:
            log.add("duplicate_row", sent, repeated, "row sent twice in its batch")
            sent = sent.take(np.sort(np.concatenate([np.arange(sent.rows), repeated])))
        malformed = rng.random(sent.rows) < faults.malformed_row_share
        if malformed.any():
            sent.malformed[malformed] = True
            log.add("malformed_row", sent, np.flatnonzero(malformed), "garbled line")
        if rng.random() < faults.out_of_order_batch_share:
            sent = sent.take(rng.permutation(sent.rows))
            log.add("out_of_order", sent, None, "rows not in time order")
        if local_time_export:
            sent.local_time = True
            log.add(
                "local_time_export",
                sent,
                None,
                "timestamps in local wall-clock time without offset on a DST change day",
            )
        out.insert(0, sent)
        if rng.random() < faults.exact_duplicate_batch_share:
            resend = sent.take(np.arange(sent.rows), f"{batch.batch_id}_resend")
            resend.arrives_at = batch.arrives_at + RESEND_DELAY
            log.add("duplicate_batch", resend, None, f"copy of {batch.batch_id}")
            out.append(resend)
    return out


def _batch_day(batch: Batch) -> date:
    return batch.start_utc.min().astype("datetime64[D]").item()


def late_arrival(day: date, last_day: date, rng: np.random.Generator) -> date | None:
    """When a late part of `day`'s batch arrives: 1 to 5 days later, within the period."""
    if day >= last_day:
        return None
    return min(day + timedelta(days=int(rng.integers(1, 6))), last_day)


def late_arrival_time(day: date, time_zone: str) -> datetime:
    """When a late part arrives on its late `day`: `LATE_HOUR` o'clock, local time."""
    return datetime(day.year, day.month, day.day, LATE_HOUR, tzinfo=ZoneInfo(time_zone))


def on_time_arrival(period_end: datetime) -> datetime:
    """When a batch whose period ends at `period_end` arrives on time (in UTC)."""
    return period_end.astimezone(UTC) + DELIVERY_DELAY


def local_midnight(day: date, time_zone: str) -> datetime:
    """The start of a local day (a moment, with its UTC offset)."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(time_zone))


# ----------------------------------------------------------------- encoding
def _timestamps(batch: Batch) -> pa.Array:
    """reading_start as delivered text: ISO 8601 UTC with Z, or local without offset."""
    starts = batch.start_utc
    suffix = "Z"
    if batch.local_time:
        starts = starts + batch.utc_offset_s.astype("timedelta64[s]")
        suffix = ""
    unique, inverse = np.unique(starts, return_inverse=True)
    text = np.char.add(np.datetime_as_string(unique, unit="s"), suffix)
    return pa.array(text.astype(str)).take(pa.array(inverse))


def _values(batch: Batch) -> pa.Array:
    wh = batch.unit == "Wh"
    values = np.where(wh, np.round(batch.kwh * 1000.0, 1), np.round(batch.kwh, 4)) + 0.0
    return pa.array(values, pa.float64())


def encode(batch: Batch, fmt: str, interval_minutes: int) -> bytes:
    """The batch as the head-end sends it."""
    if fmt == "parquet":
        return _parquet(batch, interval_minutes)
    values = pc.cast(_values(batch), pa.string())
    fields = [
        pa.array(batch.meter_id, pa.string()),
        _timestamps(batch),
        pa.scalar(str(interval_minutes)),
        values,
        pa.array(batch.unit, pa.string()),
        pa.array(batch.quality_code, pa.string()),
    ]
    if fmt == "csv.gz":
        header = ",".join(COLUMNS) + "\n"
        lines = pc.binary_join_element_wise(*fields, ",")
    elif fmt == "jsonl.gz":
        header = ""
        lines = pc.binary_join_element_wise(
            '{"meter_id": "',
            fields[0],
            '", "reading_start": "',
            fields[1],
            f'", "interval_minutes": {interval_minutes}, "value": ',
            fields[3],
            ', "unit": "',
            fields[4],
            '", "quality_code": "',
            fields[5],
            '"}',
            "",
        )
    else:
        raise ValueError(f"unknown delivery format {fmt!r}")
    # a garbled line is cut short, as a broken transfer leaves it
    if batch.malformed.any():
        lines = pc.if_else(
            pa.array(batch.malformed), pc.utf8_slice_codeunits(lines, 0, 27), lines
        )
    return gzip.compress(
        header.encode() + _joined_lines(lines), compresslevel=1, mtime=0
    )


def _joined_lines(lines: pa.Array) -> bytes:
    """Every string of the array followed by a newline, as one bytes object."""
    with_newline = pc.binary_join_element_wise(lines, "\n", "")
    if len(with_newline) == 0:
        return b""
    offsets = np.frombuffer(with_newline.buffers()[1], dtype=np.int32)
    first = offsets[with_newline.offset]
    last = offsets[with_newline.offset + len(with_newline)]
    return with_newline.buffers()[2].to_pybytes()[first:last]


def _parquet(batch: Batch, interval_minutes: int) -> bytes:
    starts = batch.start_utc.astype("datetime64[ms]")
    if batch.local_time:
        starts = starts + batch.utc_offset_s.astype("timedelta64[s]")
        stamp_type = pa.timestamp("ms")  # local wall-clock time, no zone
    else:
        stamp_type = pa.timestamp("ms", tz="UTC")
    stamps = pa.array(starts, stamp_type)
    # a garbled Parquet row: its timestamp is lost
    stamps = pc.if_else(pa.array(batch.malformed), pa.scalar(None, stamp_type), stamps)
    table = pa.table(
        {
            "meter_id": pa.array(batch.meter_id, pa.string()).dictionary_encode(),
            "reading_start": stamps,
            "interval_minutes": pa.array(
                np.full(batch.rows, interval_minutes, np.int16)
            ),
            "value": _values(batch),
            "unit": pa.array(batch.unit, pa.string()).dictionary_encode(),
            "quality_code": pa.array(
                batch.quality_code, pa.string()
            ).dictionary_encode(),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def encode_table(columns: dict[str, list | np.ndarray], fmt: str) -> bytes:
    """Reference data (registry, weather) as the source system sends it, all text."""
    table = pa.table(
        {name: pa.array(list(values), pa.string()) for name, values in columns.items()}
    )
    if fmt == "parquet":
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        return buffer.getvalue()
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(quoting_style="needed"))
    return gzip.compress(buffer.getvalue(), compresslevel=6, mtime=0)
