import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from wattlake.ingestion.land import LandingConflict, land_delivery, land_pending
from wattlake.storage import Lake

WHEN = datetime(2025, 4, 2, 6, 30, tzinfo=UTC)
CSV = (
    "meter_id,reading_start,interval_minutes,value,unit\n"
    "m1,2025-03-30T00:00:00Z,15,0.25,kWh\n"
    "m1,2025-03-30T00:15:00Z,15,0.5,kWh\n"
    "m1,garbled\n"
)


def deliver(lake: Lake, batch_id: str, text: str, source: str = "metering") -> str:
    uri = lake.landing(source, batch_id, "csv.gz")
    lake.write_bytes(uri, gzip.compress(text.encode(), mtime=0))
    return uri


def test_a_delivery_becomes_one_raw_parquet_and_a_manifest(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    deliver(lake, "b1", CSV)
    report = land_pending(lake, now=WHEN)
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
    deliver(lake, "b1", CSV)
    land_pending(lake, now=WHEN)
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    later = datetime(2025, 5, 1, tzinfo=UTC)
    report = land_pending(lake, now=later)
    assert report.landed == [] and report.unchanged == 1
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == files


def test_changed_content_under_a_landed_batch_id_is_refused(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    deliver(lake, "b1", CSV)
    land_pending(lake, now=WHEN)
    uri = deliver(lake, "b1", CSV + "m2,2025-03-30T00:00:00Z,15,1,kWh\n")
    with pytest.raises(
        LandingConflict, match="a corrected delivery needs a new batch id"
    ):
        land_delivery(lake, lake.parse_delivery(uri), WHEN)
    report = land_pending(lake, now=WHEN)
    assert len(report.conflicts) == 1 and "b1" in report.conflicts[0]


def test_an_unreadable_delivery_is_rejected_and_kept(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = deliver(lake, "b2", "meter_id,value\nm1,1\n")
    report = land_pending(lake, now=WHEN)
    assert report.landed == []
    (rejected,) = report.rejected
    assert rejected.status == "rejected"
    assert "missing required column(s) reading_start" in rejected.reason
    assert lake.exists(uri)  # the delivery stays where it was: nothing is lost
    assert lake.list(f"{lake.root}/raw") == []
    # the same file is not retried on every pass
    assert land_pending(lake, now=WHEN).unchanged == 1


def test_registry_deliveries_land_in_their_own_tables(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    deliver(
        lake,
        "meters_20250301",
        "meter_id,site_id,installed_on,interval_minutes\nm1,s1,2025-01-01,15\n",
        "registry",
    )
    land_pending(lake, now=WHEN)
    table = pq.read_table(lake.raw("meters", WHEN.date(), "meters_20250301"))
    assert table["site_id"].to_pylist() == ["s1"]


@pytest.mark.aws
def test_landing_on_s3_over_http(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    lake = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    deliver(lake, "b1", CSV)
    report = land_pending(lake, now=WHEN)
    assert report.rows == 3
    raw = lake.raw("readings", WHEN.date(), "b1")
    local = tmp_path / "b1.parquet"
    local.write_bytes(lake.read_bytes(raw))
    assert pq.read_table(local).num_rows == 3
    assert land_pending(lake, now=WHEN).unchanged == 1
