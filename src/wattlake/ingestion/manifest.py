"""Batch manifests: what each landed (or rejected) delivery holds."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from wattlake.storage import Lake

LANDED = "landed"
REJECTED = "rejected"


@dataclass(frozen=True)
class Manifest:
    """The record of one batch, stored at `_manifests/<batch_id>.json`."""

    batch_id: str
    source: str
    table: str
    status: str  # landed | rejected
    delivery: str
    delivery_format: str
    delivery_bytes: int
    checksum_sha256: str
    received_at: str  # ISO 8601, UTC
    raw: str | None = None
    rows: int = 0
    unparseable_rows: int = 0
    blank_lines: int = 0
    time_span_start: str | None = None  # earliest parseable reading start (UTC)
    time_span_end: str | None = None  # latest parseable reading start (UTC)
    reason: str | None = None  # why a rejected delivery could not be landed

    def to_json(self) -> bytes:
        """Serialise, keys sorted, for a stable file."""
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, payload: bytes) -> Manifest:
        """Read a manifest written by `to_json`."""
        return cls(**json.loads(payload))


def read_manifest(lake: Lake, batch_id: str) -> Manifest | None:
    """The manifest of a batch, or None if it was never landed."""
    uri = lake.manifest(batch_id)
    if not lake.exists(uri):
        return None
    return Manifest.from_json(lake.read_bytes(uri))


def write_manifest(lake: Lake, manifest: Manifest) -> None:
    """Write a manifest atomically; it is written last, after the raw file."""
    lake.write_bytes(lake.manifest(manifest.batch_id), manifest.to_json())
