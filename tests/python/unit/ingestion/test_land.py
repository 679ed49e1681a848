import gzip
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wattlake.config import ConfigError
from wattlake.ingestion.formats import CONTRACTS
from wattlake.ingestion.land import (
    LandingConflict,
    land_delivery,
    land_pending,
    land_workers,
)
from wattlake.storage import Lake

READING_COLUMNS = [name for group in CONTRACTS["readings"] for name in group]

WHEN = datetime(2025, 4, 2, 6, 30, tzinfo=UTC)
CSV = (
    "meter_id,reading_start,interval_minutes,value,unit\n"
    "m1,2025-03-30T00:00:00Z,15,0.25,kWh\n"
    "m1,2025-03-30T00:15:00Z,15,0.5,kWh\n"
    "m1,garbled\n"
)


def deliver(
    lake: Lake,
    batch_id: str,
    text: str,
    source: str = "metering",
    arrived: datetime = WHEN,
) -> str:
    """Put a delivery in `landing/`, arrived (last modified) at `arrived`."""
    uri = lake.landing(source, batch_id, "csv.gz")
    lake.write_bytes(uri, gzip.compress(text.encode(), mtime=0), modified=arrived)
    return uri


def test_a_delivery_becomes_one_raw_parquet_and_a_manifest(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    deliver(lake, "b1", CSV)
    report = land_pending(lake)
    assert [m.batch_id for m in report.landed] == ["b1"] and not report.problems
    raw = lake.raw("readings", WHEN.date(), "b1")
    table = pq.read_table(raw)
    assert table.num_rows == 3  # every delivered row, the garbled one too
    assert table["batch_id"].to_pylist() == ["b1"] * 3
    assert table["source_line"].to_pylist() == [2, 3, 4]
    assert table["raw_line"].to_pylist() == [None, None, "m1,garbled"]
    manifest = json.loads(lake.read_bytes(lake.manifest("b1")))
    assert manifest["status"] == "landed"
    assert manifest["rows"] == 3 and manifest["unparseable_rows"] == 1
    assert manifest["raw"] == raw
    assert manifest["time_span_start"] == "2025-03-30T00:00:00+00:00"
    assert manifest["time_span_end"] == "2025-03-30T00:15:00+00:00"
    assert len(manifest["checksum_sha256"]) == 64


def test_landing_again_changes_nothing(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = deliver(lake, "b1", CSV)
    land_pending(lake)
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    later = datetime(2025, 5, 1, tzinfo=UTC)
    report = land_pending(lake, received_at=later)
    assert report.landed == [] and report.unchanged == 1
    # the same bytes delivered again (another modification time): not a conflict
    deliver(lake, "b1", CSV, arrived=later)
    assert lake.read_object(uri).modified == later
    report = land_pending(lake)
    assert report.landed == [] and report.unchanged == 1 and not report.problems
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == files
    assert json.loads(lake.read_bytes(lake.manifest("b1")))["received_at"] == (
        "2025-04-02T06:30:00+00:00"
    )


def test_a_batch_is_received_when_its_file_was_last_modified(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = deliver(lake, "b1", CSV)
    # as a head-end's copy into landing/ leaves it, late at night UTC
    arrived = datetime(2025, 4, 3, 23, 59, 30, 123456, tzinfo=UTC)
    os.utime(uri, ns=(0, int(arrived.timestamp()) * 10**9 + 123_456_789))
    (manifest,) = land_pending(lake).landed
    assert manifest.received_at == "2025-04-03T23:59:30.123456+00:00"
    assert manifest.raw == (
        f"{lake.root}/raw/readings/ingest_date=2025-04-03/b1.parquet"
    )
    assert pq.read_table(manifest.raw)["received_at"].to_pylist() == [arrived] * 3


def test_the_received_at_override_wins_and_needs_an_offset(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = deliver(lake, "b1", CSV)
    deliver(lake, "b2", CSV)
    in_paris = datetime(2025, 4, 5, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    with pytest.raises(ValueError, match="has no UTC offset"):
        land_delivery(lake, lake.parse_delivery(uri), datetime(2025, 4, 5))
    assert not lake.exists(lake.manifest("b1"))
    report = land_pending(lake, received_at=in_paris, workers=2)
    # the UTC date is the ingest date: 2025-04-04 23:30 UTC
    assert {m.received_at for m in report.landed} == {"2025-04-04T23:30:00+00:00"}
    assert {m.raw.split("/")[-2] for m in report.landed} == {"ingest_date=2025-04-04"}


def test_changed_content_under_a_landed_batch_id_is_refused(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    deliver(lake, "b1", CSV)
    land_pending(lake)
    uri = deliver(lake, "b1", CSV + "m2,2025-03-30T00:00:00Z,15,1,kWh\n")
    with pytest.raises(
        LandingConflict, match="a corrected delivery needs a new batch id"
    ):
        land_delivery(lake, lake.parse_delivery(uri))
    report = land_pending(lake)
    assert len(report.conflicts) == 1 and "b1" in report.conflicts[0]


def test_an_unreadable_delivery_is_rejected_and_kept(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = deliver(lake, "b2", "meter_id,value\nm1,1\n")
    report = land_pending(lake)
    assert report.landed == []
    (rejected,) = report.rejected
    assert rejected.status == "rejected"
    assert "missing required column(s) reading_start" in rejected.reason
    assert lake.exists(uri)  # the delivery stays where it was: nothing is lost
    assert lake.list(f"{lake.root}/raw") == []
    # the same file is not retried on every pass
    assert land_pending(lake).unchanged == 1


def test_registry_deliveries_land_in_their_own_tables(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    deliver(
        lake,
        "meters_20250301",
        "meter_id,site_id,installed_on,interval_minutes\nm1,s1,2025-01-01,15\n",
        "registry",
    )
    land_pending(lake)
    table = pq.read_table(lake.raw("meters", WHEN.date(), "meters_20250301"))
    assert table["site_id"].to_pylist() == ["s1"]


@pytest.mark.aws
def test_landing_on_s3_over_http(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    lake = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    deliver(lake, "b1", CSV)  # its arrival time in the sent-at metadata
    report = land_pending(lake)
    assert report.rows == 3
    assert report.landed[0].received_at == WHEN.isoformat()
    raw = lake.raw("readings", WHEN.date(), "b1")
    local = tmp_path / "b1.parquet"
    local.write_bytes(lake.read_bytes(raw))
    assert pq.read_table(local)["received_at"].to_pylist() == [WHEN] * 3
    assert land_pending(lake).unchanged == 1


@pytest.mark.aws
def test_on_s3_a_batch_is_received_at_its_last_modified_time(
    s3_endpoint: str, s3_bucket: str
) -> None:
    import boto3

    lake = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    key = "lake/landing/metering/b1.csv.gz"
    s3.put_object(Bucket=s3_bucket, Key=key, Body=gzip.compress(CSV.encode()))
    last_modified = s3.head_object(Bucket=s3_bucket, Key=key)["LastModified"]
    deliver(lake, "b2", CSV, arrived=WHEN)
    calls: list[tuple[str, str]] = []

    def count(params: dict, model: object, **_: object) -> None:
        calls.append((model.name, params.get("Key", "")))

    client = lake._store.client  # noqa: SLF001 - watch the requests landing makes
    client.meta.events.register("provide-client-params.s3", count)
    report = land_pending(lake, workers=1)
    received = {m.batch_id: m.received_at for m in report.landed}
    assert received == {
        "b1": last_modified.astimezone(UTC).isoformat(),
        "b2": WHEN.isoformat(),
    }
    # the time comes with the delivery's GET: no other request for it
    for name in ("b1", "b2"):
        delivery_key = f"lake/landing/metering/{name}.csv.gz"
        assert [op for op, k in calls if k == delivery_key] == ["GetObject"]


def lake_files(lake: Lake) -> dict[str, object]:
    """What landing wrote, with the lake's own path taken out."""
    root = Path(lake.root)
    files: dict[str, object] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = str(path.relative_to(root))
        if path.suffix == ".parquet":
            files[name] = [
                {k: str(v).replace(lake.root, "<lake>") for k, v in row.items()}
                for row in pq.read_table(path).to_pylist()
            ]
        elif "landing" not in path.parts:
            files[name] = path.read_text().replace(lake.root, "<lake>")
    return files


def test_workers_land_exactly_what_one_process_lands(tmp_path: Path) -> None:
    texts = {"b1": CSV, "b2": CSV + "m2,2025-03-30T00:00:00Z,15,1,kWh\n", "b3": "x\n"}
    outcomes = {}
    for workers in (1, 2):
        lake = Lake(str(tmp_path / f"lake{workers}"))
        for batch_id, text in texts.items():
            deliver(lake, batch_id, text)
        report = land_pending(lake, workers=workers)
        outcomes[workers] = (
            [m.batch_id for m in report.landed],
            [m.batch_id for m in report.rejected],
            lake_files(lake),
        )
        assert land_pending(lake, workers=workers).unchanged == 3
    assert outcomes[1] == outcomes[2]
    assert outcomes[2][:2] == (["b1", "b2"], ["b3"])


def test_a_conflict_found_by_a_worker_is_reported(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    deliver(lake, "b1", CSV)
    deliver(lake, "b2", CSV)
    land_pending(lake, workers=1)
    deliver(lake, "b1", CSV + "m2,2025-03-30T00:00:00Z,15,1,kWh\n")
    report = land_pending(lake, workers=2)
    assert len(report.conflicts) == 1 and "b1" in report.conflicts[0]
    assert report.unchanged == 1


def test_the_raw_file_reads_back_as_plain_columns(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    deliver(lake, "b1", CSV)
    land_pending(lake)
    table = pq.read_table(lake.raw("readings", WHEN.date(), "b1"))
    assert table.schema == pa.schema(
        [
            *[(name, pa.string()) for name in READING_COLUMNS],
            ("extra_fields", pa.string()),
            ("raw_line", pa.string()),
            ("parse_error", pa.string()),
            ("source_line", pa.int64()),
            ("batch_id", pa.string()),
            ("source_file", pa.string()),
            ("received_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    assert table["received_at"].to_pylist() == [WHEN] * 3


@pytest.mark.parametrize(
    ("starts", "span"),
    [
        (["2025-03-30T00:15:00Z", "2025-03-30T00:00:00Z"], ("00:00:00", "00:15:00")),
        (
            ["2025-03-30T01:00:00+01:00", "2025-03-30T00:15:00Z"],
            ("00:00:00", "00:15:00"),
        ),
        (["2025-03-30T00:00:00.5Z", "garbled"], ("00:00:00.500000", "00:00:00.500000")),
        (["2025-02-30T00:00:00Z", "2025-03-30T00:00:00Z"], ("00:00:00", "00:00:00")),
        (["garbled"], None),
    ],
)
def test_the_manifest_time_span_parses_every_form(
    tmp_path: Path, starts: list[str], span: tuple[str, str] | None
) -> None:
    lake = Lake(str(tmp_path))
    lines = "".join(f"m1,{start},15,1,kWh\n" for start in starts)
    deliver(lake, "b1", "meter_id,reading_start,interval_minutes,value,unit\n" + lines)
    (manifest,) = land_pending(lake).landed
    if span is None:
        assert (manifest.time_span_start, manifest.time_span_end) == (None, None)
    else:
        assert manifest.time_span_start == f"2025-03-30T{span[0]}+00:00"
        assert manifest.time_span_end == f"2025-03-30T{span[1]}+00:00"


@pytest.mark.parametrize(("value", "workers"), [("", None), ("3", 3), (" 1 ", 1)])
def test_the_worker_count_comes_from_the_environment(
    value: str, workers: int | None
) -> None:
    expected = workers or land_workers({})
    assert land_workers({"WATTLAKE_LAND_WORKERS": value}) == expected >= 1


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_a_bad_worker_count_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigError, match="WATTLAKE_LAND_WORKERS"):
        land_workers({"WATTLAKE_LAND_WORKERS": value})


def test_a_failed_landing_leaves_nothing_in_raw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(str(tmp_path))
    uri = deliver(lake, "b1", CSV)

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("wattlake.ingestion.land.write_manifest", broken)
    with pytest.raises(OSError, match="disk full"):
        land_delivery(lake, lake.parse_delivery(uri))
    assert lake.list(f"{lake.root}/raw") == []
    assert not lake.exists(lake.manifest("b1"))
    assert lake.exists(uri)  # the delivery itself is kept for the next try
