"""The refresh trigger: wattlake.refresh and the Lambda wrapper that calls it."""

from __future__ import annotations

import gzip
import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wattlake.ingestion.manifest import read_manifest
from wattlake.refresh import on_new_objects
from wattlake.storage import Lake

CSV = "meter_id,reading_start,interval_minutes,value,unit\nm1,2025-03-30T00:00:00Z,15,0.25,kWh\n"


def load_handler(project_dir: Path):
    spec = importlib.util.spec_from_file_location(
        "refresh_handler", project_dir / "lambda" / "refresh" / "handler.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def test_new_objects_are_landed_once_and_others_ignored(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = lake.landing("metering", "b1", "csv.gz")
    arrived = datetime(2025, 3, 31, 0, 5, tzinfo=UTC)
    lake.write_bytes(uri, gzip.compress(CSV.encode()), modified=arrived)
    summary = on_new_objects([uri, f"{lake.root}/raw/readings/x.parquet"], lake)
    assert summary["landed"] == [{"batch_id": "b1", "rows": 1}]
    # received when the delivery arrived, as `wattlake land` records it
    assert read_manifest(lake, "b1").received_at == arrived.isoformat()
    assert len(summary["ignored"]) == 1
    assert on_new_objects([uri], lake)["unchanged"] == ["b1"]


@pytest.mark.aws
def test_lambda_handler_lands_an_s3_event(
    project_dir: Path, s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATTLAKE_LAKE", f"s3://{s3_bucket}/lake")
    monkeypatch.setenv("WATTLAKE_S3_ENDPOINT_URL", s3_endpoint)
    lake = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    arrived = datetime(2025, 3, 31, 0, 5, tzinfo=UTC)
    lake.write_bytes(
        lake.landing("metering", "b1", "csv.gz"),
        gzip.compress(CSV.encode()),
        modified=arrived,
    )
    event = {
        "Records": [
            {
                "s3": {
                    "bucket": {"name": s3_bucket},
                    "object": {"key": "lake/landing/metering/b1.csv.gz"},
                }
            }
        ]
    }
    handler = load_handler(project_dir)
    assert handler(event, None)["landed"] == [{"batch_id": "b1", "rows": 1}]
    assert read_manifest(lake, "b1").received_at == arrived.isoformat()
    assert handler(event, None)["unchanged"] == [
        "b1"
    ]  # a re-delivered event changes nothing
