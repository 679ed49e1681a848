"""The same pipeline on an S3 lake: a moto server over HTTP stands in for S3."""

from __future__ import annotations

from pathlib import Path

import boto3
import duckdb
import pyarrow.parquet as pq
import pytest
from pipeline import mart, run_cli

from wattlake.arrow_input import arrow_input

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
    metering = [key for key in keys if key.startswith("city/landing/metering/")]
    assert len(raw_keys) == len(metering) > 0  # one Parquet file per delivery
    landed_rows = sum(
        pq.read_table(
            arrow_input(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
        ).num_rows
        for key in raw_keys
    )

    warehouse = tmp_path / "warehouse" / "wattlake.duckdb"
    daily = mart(warehouse, "fct_site_daily_usage")
    assert len(daily) == 12 * 5
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        # the staging view reads S3 itself: point this session at the moto server
        host = s3_endpoint.removeprefix("http://")
        for setting in (
            f"s3_endpoint='{host}'",
            "s3_url_style='path'",
            "s3_use_ssl=false",
            "s3_access_key_id='testing'",
            "s3_secret_access_key='testing'",
            "s3_region='us-east-1'",
        ):
            connection.execute(f"set {setting}")
        staged = connection.execute(
            "select count(*) from stg_metering__readings"
        ).fetchone()[0]
        cleaned = connection.execute(
            "select count(*) from int_readings_cleaned"
        ).fetchone()[0]
    assert staged == landed_rows  # dbt read every landed row back from S3
    assert (
        daily["interval_count"].sum() == cleaned
    )  # and every clean one reached the mart

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
