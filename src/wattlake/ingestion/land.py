"""Landing: each delivery in `landing/` becomes one Parquet file in `raw/` plus a manifest.

Landing is idempotent: a batch whose manifest records the same checksum is
skipped, so landing the same delivery again changes nothing. A delivery that
cannot be read is not landed; its manifest says `rejected` with the reason and
the file stays in `landing/`, so nothing is lost. The raw file is written
first and the manifest last: a batch counts as landed once its manifest exists.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

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
    lake: Lake, delivery: Delivery, received_at: datetime
) -> Manifest | None:
    """Land one delivery; return its new manifest, or None if already landed.

    Raises:
        LandingConflict: the batch id was landed with a different checksum.

    """
    payload = lake.read_bytes(delivery.uri)
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
    table = (
        parsed.table.append_column(
            "batch_id", pa.array([delivery.batch_id] * rows, pa.string())
        )
        .append_column("source_file", pa.array([delivery.uri] * rows, pa.string()))
        .append_column(
            "received_at", pa.array([received_at] * rows, pa.timestamp("us", tz="UTC"))
        )
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    lake.write_bytes(raw_uri, buffer.getvalue())
    span_start, span_end = (
        _time_span(table) if table_name == "readings" else (None, None)
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
    write_manifest(lake, manifest)
    return manifest


def land_pending(lake: Lake, now: datetime | None = None) -> LandingReport:
    """Land every delivery in `landing/` that has no manifest yet."""
    started = time.perf_counter()
    report = LandingReport()
    deliveries = lake.deliveries()
    step = max(1, len(deliveries) // 10)
    for number, delivery in enumerate(deliveries, start=1):
        received_at = now or datetime.now(UTC)
        try:
            manifest = land_delivery(lake, delivery, received_at)
        except LandingConflict as exc:
            report.conflicts.append(str(exc))
            log.error("land: %s", exc)
            continue
        if manifest is None:
            report.unchanged += 1
        elif manifest.status == REJECTED:
            report.rejected.append(manifest)
            log.error("land: rejected %s", manifest.reason)
        else:
            report.landed.append(manifest)
        if number % step == 0:
            log.info(
                "land: %d of %d deliveries checked, %s rows landed",
                number,
                len(deliveries),
                f"{report.rows:,}",
            )
    report.seconds = time.perf_counter() - started
    return report


def _time_span(table: pa.Table) -> tuple[str | None, str | None]:
    starts = pd.to_datetime(
        table["reading_start"].to_pandas(), format="ISO8601", utc=True, errors="coerce"
    )
    if starts.isna().all():
        return None, None
    return starts.min().isoformat(), starts.max().isoformat()
