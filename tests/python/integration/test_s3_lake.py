"""The same pipeline on an S3 lake: a moto server over HTTP stands in for S3."""

from __future__ import annotations

import io
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from pipeline import mart, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.aws, pytest.mark.spark]


def test_the_pipeline_lands_in_s3_and_dbt_reads_it_back(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    lake = f"s3://{s3_bucket}/city"
    env = {"WATTLAKE_LAKE": lake, "WATTLAKE_S3_ENDPOINT_URL": s3_endpoint}
    completed = run_cli(["run"], tmp_path, env)
    assert "ok  features" in completed.stderr

    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=s3_bucket, Prefix="city/"
        )
        for item in page.get("Contents", [])
    ]
    zones = {key.split("/")[1] for key in keys}
    assert {"landing", "raw", "_manifests", "clean", "curated"} <= zones
    raw_keys = [key for key in keys if key.startswith("city/raw/readings/ingest_date=")]
    assert len(raw_keys) == 15  # one Parquet file per delivery: 3 areas x 5 days
    landed_rows = sum(
        pq.read_table(
            io.BytesIO(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
        ).num_rows
        for key in raw_keys
    )

    warehouse = tmp_path / "warehouse" / "wattlake.duckdb"
    daily = mart(warehouse, "fct_site_daily_usage")
    assert len(daily) == 12 * 5
    assert (
        daily["interval_count"].sum() == landed_rows
    )  # every landed reading reached the mart

    clean_keys = [
        key for key in keys if key.startswith("city/clean/readings/reading_date=")
    ]
    assert len(clean_keys) == len(
        {key.rsplit("/", 1)[0] for key in clean_keys}
    )  # one file a date
    feature_dates = {
        key.split("/")[3]
        for key in keys
        if key.startswith("city/curated/anomaly_features/")
    }
    assert len(feature_dates) == len(clean_keys)
