"""The lake: the only code that builds lake paths and reads or writes lake objects.

The layout (identical on disk and in S3) is fixed by DESIGN.md::

    <lake>/landing/<source>/<batch_id>.<csv.gz|jsonl.gz|parquet>
    <lake>/raw/<table>/ingest_date=YYYY-MM-DD/<batch_id>.parquet
    <lake>/clean/readings/reading_date=YYYY-MM-DD/*.parquet
    <lake>/clean/validated_readings/ingest_date=YYYY-MM-DD/*.parquet   (dbt's own store)
    <lake>/curated/anomaly_features/reading_date=YYYY-MM-DD/*.parquet
    <lake>/_manifests/<batch_id>.json
    <lake>/_quarantine/<source>/<batch_id>.<format>     deliveries that cannot be landed (+ .reason.json)
    <lake>/_refresh/...                                  the refresh's pending batches and current run,
                                                         and what each date's features were computed from
    <lake>/_truth/...

`<lake>` is a local directory or `s3://bucket/prefix`, optionally on an
S3-compatible endpoint. Writes are atomic per object: a local file is written
to a temporary name and renamed; an S3 PUT is atomic by itself.

Every object has a modification time, which landing records as the time a
delivery arrived: a local file's mtime; in S3 the object's `LastModified`,
unless the writer stored another time in the object's `sent-at` metadata
(`x-amz-meta-sent-at`, ISO 8601 with an offset), because S3 sets
`LastModified` itself at upload and nobody can set it to another time.
`read_object` returns the time with the bytes, from the same read (one GET,
or one open file), so it costs no request or file lookup of its own.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

DELIVERY_FORMATS = ("csv.gz", "jsonl.gz", "parquet")
RAW_TABLES = ("readings", "sites", "meters", "weather", "tariffs")
# The system that delivered a file decides the raw table it lands in. The
# registry delivers two tables; its batch ids start with the table name.
SOURCE_TABLES = {"metering": "readings", "weather": "weather", "tariffs": "tariffs"}
REGISTRY_SOURCE = "registry"
REGISTRY_TABLES = ("sites", "meters")
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=-]*$")
# S3 user metadata (x-amz-meta-sent-at) standing in for LastModified, which
# only S3 can set; written by `write_bytes(..., modified=...)`.
MODIFIED_METADATA = "sent-at"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

log = logging.getLogger(__name__)


class LakeError(ValueError):
    """A lake location, key or object is invalid; the message names it."""


@dataclass(frozen=True)
class Delivery:
    """A file in `landing/`: which source sent it, its batch id and format."""

    source: str
    batch_id: str
    fmt: str
    uri: str

    @property
    def table(self) -> str:
        """The raw table this delivery lands in."""
        if self.source in SOURCE_TABLES:
            return SOURCE_TABLES[self.source]
        if self.source == REGISTRY_SOURCE:
            prefix = self.batch_id.split("_", 1)[0]
            if prefix in REGISTRY_TABLES:
                return prefix
            raise LakeError(
                f"{self.uri}: registry batch ids start with one of "
                f"{', '.join(REGISTRY_TABLES)} followed by '_', got {self.batch_id!r}"
            )
        known = ", ".join([*SOURCE_TABLES, REGISTRY_SOURCE])
        raise LakeError(f"{self.uri}: unknown source {self.source!r} (known: {known})")


@dataclass(frozen=True)
class LakeObject:
    """An object's bytes and when it was last modified (UTC), from one read."""

    data: bytes
    modified: datetime


class _Store(Protocol):
    def read_bytes(self, uri: str) -> bytes: ...
    def read_object(self, uri: str) -> LakeObject: ...
    def write_bytes(
        self, uri: str, data: bytes, modified: datetime | None = None
    ) -> None: ...
    def exists(self, uri: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...
    def delete(self, uri: str) -> None: ...
    def create(self, uri: str, data: bytes) -> bool: ...
    def move(self, source: str, target: str) -> None: ...
    def versions(self, prefix: str) -> dict[str, str]: ...


class _LocalStore:
    def read_bytes(self, uri: str) -> bytes:
        return Path(uri).read_bytes()

    def read_object(self, uri: str) -> LakeObject:
        # One stat of the open file gives its size and mtime (the time of
        # these very bytes, even if the path is replaced meanwhile); reading
        # at the OS level makes no other call (fewer than Path.read_bytes).
        fd = os.open(uri, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            status = os.fstat(fd)
            chunks = []
            want = status.st_size + 1  # all of it, and a byte more to see the end
            while chunk := os.read(fd, want):
                chunks.append(chunk)
                want = 1 << 16  # the file grew: read on to its end
        finally:
            os.close(fd)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        modified = _EPOCH + timedelta(microseconds=status.st_mtime_ns // 1000)
        return LakeObject(data, modified)

    def write_bytes(
        self, uri: str, data: bytes, modified: datetime | None = None
    ) -> None:
        path = Path(uri)
        tmp = _temporary_copy(path, data)
        try:
            if modified is not None:
                # set before the rename: the file appears with its time
                ns = _epoch_ns(modified)
                os.utime(tmp, ns=(ns, ns))
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def exists(self, uri: str) -> bool:
        return Path(uri).is_file()

    def list(self, prefix: str) -> list[str]:
        root = Path(prefix)
        if not root.is_dir():
            return []
        return sorted(
            str(p)
            for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def delete(self, uri: str) -> None:
        Path(uri).unlink(missing_ok=True)

    def create(self, uri: str, data: bytes) -> bool:
        path = Path(uri)
        tmp = _temporary_copy(path, data)
        try:
            os.link(tmp, path)  # atomic, and fails if the path exists
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def move(self, source: str, target: str) -> None:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def versions(self, prefix: str) -> dict[str, str]:
        found = {}
        for uri in self.list(prefix):
            try:
                status = os.stat(uri)
            except FileNotFoundError:
                continue
            found[uri] = f"{status.st_mtime_ns}:{status.st_size}"
        return found


@dataclass
class _S3Store:
    endpoint_url: str | None
    _client: Any = field(default=None, repr=False)

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", endpoint_url=self.endpoint_url)
        return self._client

    @staticmethod
    def split(uri: str) -> tuple[str, str]:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return bucket, key

    def read_bytes(self, uri: str) -> bytes:
        bucket, key = self.split(uri)
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(uri) from exc

    def read_object(self, uri: str) -> LakeObject:
        bucket, key = self.split(uri)
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(uri) from exc
        data = response["Body"].read()
        modified = response["LastModified"].astimezone(UTC)
        sent_at = response.get("Metadata", {}).get(MODIFIED_METADATA)
        if sent_at is not None:
            try:
                modified = _aware(datetime.fromisoformat(sent_at), uri)
            except (ValueError, LakeError):
                log.warning(
                    "%s: metadata %s=%r is not an ISO 8601 time with an offset; "
                    "using the object's LastModified %s instead",
                    uri,
                    MODIFIED_METADATA,
                    sent_at,
                    modified.isoformat(),
                )
        return LakeObject(data, modified)

    def write_bytes(
        self, uri: str, data: bytes, modified: datetime | None = None
    ) -> None:
        bucket, key = self.split(uri)
        extra = {}
        if modified is not None:
            extra["Metadata"] = {MODIFIED_METADATA: _aware(modified, uri).isoformat()}
        self.client.put_object(Bucket=bucket, Key=key, Body=data, **extra)

    def exists(self, uri: str) -> bool:
        bucket, key = self.split(uri)
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "404",
                "NoSuchKey",
                "NotFound",
            ):
                return False
            raise
        return True

    def list(self, prefix: str) -> list[str]:
        bucket, key = self.split(prefix.rstrip("/") + "/")
        uris = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=key
        ):
            uris.extend(
                f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", [])
            )
        return sorted(uris)

    def delete(self, uri: str) -> None:
        bucket, key = self.split(uri)
        self.client.delete_object(Bucket=bucket, Key=key)

    def create(self, uri: str, data: bytes) -> bool:
        bucket, key = self.split(uri)
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
        except self.client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return False
            raise
        return True

    def move(self, source: str, target: str) -> None:
        bucket, key = self.split(source)
        target_bucket, target_key = self.split(target)
        # the copy keeps the object's metadata (its sent-at time among them)
        self.client.copy_object(
            Bucket=target_bucket,
            Key=target_key,
            CopySource={"Bucket": bucket, "Key": key},
        )
        self.client.delete_object(Bucket=bucket, Key=key)

    def versions(self, prefix: str) -> dict[str, str]:
        bucket, key = self.split(prefix.rstrip("/") + "/")
        found = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=key
        ):
            for item in page.get("Contents", []):
                found[f"s3://{bucket}/{item['Key']}"] = (
                    f"{item['ETag']}:{item['LastModified'].isoformat()}"
                )
        return found


@dataclass(frozen=True)
class Lake:
    """A Wattlake lake at `root` (a local directory or `s3://bucket/prefix`)."""

    root: str
    endpoint_url: str | None = None
    _store: _Store = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        root = self.root.rstrip("/")
        if root.startswith("s3://"):
            bucket, _, _ = root.removeprefix("s3://").partition("/")
            if not bucket:
                raise LakeError(f"lake {self.root!r}: no bucket in the S3 URI")
            store: _Store = _S3Store(self.endpoint_url)
        elif "://" in root:
            raise LakeError(
                f"lake {self.root!r}: only local paths and s3:// are supported"
            )
        else:
            root = str(Path(root).resolve())
            store = _LocalStore()
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "_store", store)

    @property
    def is_s3(self) -> bool:
        """True when the lake lives in S3 (or an S3-compatible store)."""
        return self.root.startswith("s3://")

    def ensure_folders(self) -> None:
        """Create the zone folders of a local lake (S3 has no folders to create).

        DuckDB's partitioned COPY creates only the last folder level, so
        `clean/` must exist before dbt publishes clean readings into it.
        """
        if not self.is_s3:
            for zone in ("landing", "raw", "clean", "curated", "_manifests"):
                Path(self.root, zone).mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ paths
    def landing(self, source: str, batch_id: str, fmt: str) -> str:
        """Where a delivery from `source` lands, exactly as sent."""
        _check_batch_id(batch_id)
        if fmt not in DELIVERY_FORMATS:
            raise LakeError(f"batch {batch_id}: unknown delivery format {fmt!r}")
        return f"{self.root}/landing/{source}/{batch_id}.{fmt}"

    def landing_prefix(self) -> str:
        """The folder head-end systems deliver into."""
        return f"{self.root}/landing"

    def raw(self, table: str, ingest_date: date, batch_id: str) -> str:
        """The Parquet copy of a landed batch in the raw zone."""
        _check_table(table)
        _check_batch_id(batch_id)
        return f"{self.root}/raw/{table}/ingest_date={ingest_date:%Y-%m-%d}/{batch_id}.parquet"

    def raw_prefix(self, table: str) -> str:
        """The raw zone folder of one table."""
        _check_table(table)
        return f"{self.root}/raw/{table}"

    def raw_glob(self, table: str) -> str:
        """A glob over every landed batch of a raw table (for DuckDB)."""
        return f"{self.raw_prefix(table)}/*/*.parquet"

    def clean_readings_prefix(self) -> str:
        """Typed, deduplicated readings, partitioned by UTC reading date (dbt writes)."""
        return f"{self.root}/clean/readings"

    @staticmethod
    def reading_date_of(uri: str) -> date | None:
        """The date of the `reading_date=YYYY-MM-DD` partition holding `uri`, if any."""
        _, found, rest = uri.partition("reading_date=")
        return date.fromisoformat(rest.split("/", 1)[0]) if found else None

    def feature_inputs(self) -> dict[str, str]:
        """What the Spark feature job reads from `clean/` (dbt publishes all three)."""
        return {
            "readings": self.clean_readings_prefix(),
            "meter_sites": f"{self.root}/clean/meter_sites",
            "weather_hourly": f"{self.root}/clean/weather_hourly",
        }

    def anomaly_features_prefix(self) -> str:
        """Per-meter anomaly features, partitioned by reading date (Spark writes)."""
        return f"{self.root}/curated/anomaly_features"

    def features_record(self) -> str:
        """What each date's features were computed from (`wattlake features` computes the others)."""
        return f"{self.root}/_refresh/anomaly_features.json"

    def manifest(self, batch_id: str) -> str:
        """The manifest saying what a landed batch holds."""
        _check_batch_id(batch_id)
        return f"{self.root}/_manifests/{batch_id}.json"

    def manifests_prefix(self) -> str:
        """The folder of batch manifests."""
        return f"{self.root}/_manifests"

    def quarantine(self, delivery_uri: str) -> str:
        """Where a delivery in `landing/` that cannot be landed is moved to."""
        prefix = self.landing_prefix() + "/"
        if not delivery_uri.startswith(prefix):
            raise LakeError(f"{delivery_uri}: not under the lake's landing/ folder")
        return f"{self.root}/_quarantine/{delivery_uri.removeprefix(prefix)}"

    def quarantine_prefix(self) -> str:
        """The folder of quarantined deliveries and their reasons."""
        return f"{self.root}/_quarantine"

    def refresh_pending(self, batch_id: str | None = None) -> str:
        """A landed batch no refresh has taken yet (or the folder of them)."""
        if batch_id is None:
            return f"{self.root}/_refresh/pending"
        _check_batch_id(batch_id)
        return f"{self.root}/_refresh/pending/{batch_id}.json"

    def refresh_taken(self, batch_id: str) -> str:
        """The record that a refresh run took a landed batch."""
        _check_batch_id(batch_id)
        return f"{self.root}/_refresh/taken/{batch_id}.json"

    def refresh_run(self, run_id: str | None = None) -> str:
        """A refresh run's record (or the folder of them)."""
        if run_id is None:
            return f"{self.root}/_refresh/runs"
        _check_batch_id(run_id, "refresh run id")
        return f"{self.root}/_refresh/runs/{run_id}.json"

    def refresh_lock(self) -> str:
        """The run in progress: at most one refresh runs on a lake at a time."""
        return f"{self.root}/_refresh/current.json"

    def truth(self, name: str) -> str:
        """Simulator ground truth; read only by evaluation, never by the pipeline."""
        _check_batch_id(name)
        return f"{self.root}/_truth/{name}"

    def uri_for_key(self, key: str) -> str:
        """Turn an S3 object key (as in an S3 event) into a lake URI."""
        if not self.is_s3:
            raise LakeError(
                f"lake {self.root}: object keys only make sense for S3 lakes"
            )
        bucket, _ = _S3Store.split(self.root)
        return f"s3://{bucket}/{key.lstrip('/')}"

    def rebase(self, uri: str, other: Lake) -> str:
        """The same place as `uri` (in this lake) in another lake."""
        return other.root + self._inside(uri).removeprefix(self.root)

    def parse_delivery(self, uri: str) -> Delivery:
        """Name the source, batch id and format of a file under `landing/`."""
        prefix = self.landing_prefix() + "/"
        if not uri.startswith(prefix):
            raise LakeError(f"{uri}: not under the lake's landing/ folder {prefix}")
        relative = uri.removeprefix(prefix)
        source, sep, name = relative.partition("/")
        if not sep or "/" in name:
            raise LakeError(
                f"{uri}: deliveries are landing/<source>/<batch_id>.<format>"
            )
        for fmt in DELIVERY_FORMATS:
            if name.endswith("." + fmt):
                batch_id = name.removesuffix("." + fmt)
                _check_batch_id(batch_id, uri)
                return Delivery(source=source, batch_id=batch_id, fmt=fmt, uri=uri)
        raise LakeError(
            f"{uri}: unknown delivery format (expected .{', .'.join(DELIVERY_FORMATS)})"
        )

    def deliveries(self) -> list[Delivery]:
        """Every file under `landing/`, sorted by URI."""
        return [self.parse_delivery(uri) for uri in self.list(self.landing_prefix())]

    # --------------------------------------------------------------------- io
    def read_bytes(self, uri: str) -> bytes:
        """Read a whole object."""
        return self._store.read_bytes(self._inside(uri))

    def read_object(self, uri: str) -> LakeObject:
        """Read a whole object and when it was last modified, in one read.

        The time is a local file's mtime, or an S3 object's `sent-at`
        metadata when its writer set one (a time that is not ISO 8601 with an
        offset is logged and ignored), else its `LastModified`.
        """
        return self._store.read_object(self._inside(uri))

    def write_bytes(
        self, uri: str, data: bytes, modified: datetime | None = None
    ) -> None:
        """Write a whole object atomically (readers see the old or the new one).

        Args:
            uri: where, inside the lake.
            data: the whole object.
            modified: the modification time to give it (timezone-aware;
                default: now). A local file gets it as its mtime; S3 sets
                `LastModified` itself, so the time goes into the object's
                `sent-at` metadata, which `read_object` prefers.

        """
        if modified is not None:
            _aware(modified, uri)
        self._store.write_bytes(self._inside(uri), data, modified)

    def exists(self, uri: str) -> bool:
        """Whether an object exists."""
        return self._store.exists(self._inside(uri))

    def list(self, prefix: str) -> list[str]:
        """Every object under a folder, sorted."""
        return self._store.list(self._inside(prefix))

    def delete(self, uri: str) -> None:
        """Delete an object (no error if it is absent)."""
        self._store.delete(self._inside(uri))

    def versions(self, prefix: str) -> dict[str, str]:
        """Every object under a folder with a token that changes when it is rewritten.

        One listing (no read of any object): a local file's mtime and size, an
        S3 object's ETag and LastModified.
        """
        return self._store.versions(self._inside(prefix))

    def create(self, uri: str, data: bytes) -> bool:
        """Write an object only if none exists there; False if one did.

        Atomic on both stores (a hard link locally, a conditional PUT with
        `If-None-Match: *` in S3), so two writers racing for the same key
        cannot both win: the refresh uses it as its lock.
        """
        return self._store.create(self._inside(uri), data)

    def move(self, source: str, target: str) -> None:
        """Move an object inside the lake (S3: copy, then delete the source)."""
        self._store.move(self._inside(source), self._inside(target))

    def _inside(self, uri: str) -> str:
        if uri != self.root and not uri.startswith(self.root + "/"):
            raise LakeError(f"{uri}: outside the lake {self.root}")
        return uri


def _temporary_copy(path: Path, data: bytes) -> Path:
    """`data` in a hidden temporary file beside `path` (listings skip it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _aware(moment: datetime, where: str) -> datetime:
    """The same instant in UTC; a time without a UTC offset is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise LakeError(f"{where}: modification time {moment} has no UTC offset")
    return moment.astimezone(UTC)


def _epoch_ns(moment: datetime) -> int:
    """Nanoseconds since the Unix epoch (exact: no float rounding)."""
    return (_aware(moment, "mtime") - _EPOCH) // timedelta(microseconds=1) * 1000


def _check_batch_id(batch_id: str, where: str | None = None) -> None:
    if not _BATCH_ID.match(batch_id):
        raise LakeError(
            f"{where or 'batch id'}: {batch_id!r} is not a valid batch id "
            "(letters, digits, '_', '-', '.', '=' only)"
        )


def _check_table(table: str) -> None:
    if table not in RAW_TABLES:
        raise LakeError(f"unknown raw table {table!r} (known: {', '.join(RAW_TABLES)})")
