import logging
import os
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from wattlake.storage import Lake, LakeError

ARRIVED = datetime(2025, 3, 29, 0, 5, 0, 250_000, tzinfo=UTC)


def test_local_layout_matches_the_design(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    root = str(tmp_path / "lake")
    assert lake.landing("metering", "readings_downtown_20250301", "csv.gz") == (
        f"{root}/landing/metering/readings_downtown_20250301.csv.gz"
    )
    assert lake.raw("readings", date(2025, 3, 2), "b1") == (
        f"{root}/raw/readings/ingest_date=2025-03-02/b1.parquet"
    )
    assert lake.raw_glob("sites") == f"{root}/raw/sites/*/*.parquet"
    assert lake.clean_readings_prefix() == f"{root}/clean/readings"
    assert lake.anomaly_features_prefix() == f"{root}/curated/anomaly_features"
    assert lake.manifest("b1") == f"{root}/_manifests/b1.json"
    assert lake.truth("anomalies.parquet") == f"{root}/_truth/anomalies.parquet"


def test_s3_layout_and_event_keys() -> None:
    lake = Lake("s3://city-lake/wattlake/")
    assert lake.root == "s3://city-lake/wattlake"
    assert lake.raw("meters", date(2025, 1, 1), "meters_x") == (
        "s3://city-lake/wattlake/raw/meters/ingest_date=2025-01-01/meters_x.parquet"
    )
    uri = lake.uri_for_key("wattlake/landing/metering/b7.jsonl.gz")
    delivery = lake.parse_delivery(uri)
    assert (delivery.source, delivery.batch_id, delivery.fmt, delivery.table) == (
        "metering",
        "b7",
        "jsonl.gz",
        "readings",
    )


def test_registry_batches_name_their_table(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    assert (
        lake.parse_delivery(lake.landing("registry", "sites_20250301", "csv.gz")).table
        == "sites"
    )
    assert (
        lake.parse_delivery(lake.landing("registry", "meters_x", "parquet")).table
        == "meters"
    )
    with pytest.raises(
        LakeError, match="registry batch ids start with one of sites, meters"
    ):
        _ = lake.parse_delivery(lake.landing("registry", "tariffs_1", "csv.gz")).table
    with pytest.raises(LakeError, match="unknown source 'scada'"):
        _ = lake.parse_delivery(lake.landing("scada", "x", "csv.gz")).table


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("landing/metering/readings.csv", "unknown delivery format"),
        (
            "landing/readings.csv.gz",
            "deliveries are landing/<source>/<batch_id>.<format>",
        ),
        (
            "landing/metering/sub/b.csv.gz",
            "deliveries are landing/<source>/<batch_id>.<format>",
        ),
        ("landing/metering/bad name.csv.gz", "not a valid batch id"),
        ("raw/metering/b.csv.gz", "not under the lake's landing/ folder"),
    ],
)
def test_bad_delivery_paths_are_named(
    tmp_path: Path, relative: str, message: str
) -> None:
    lake = Lake(str(tmp_path))
    with pytest.raises(LakeError, match=message):
        lake.parse_delivery(f"{lake.root}/{relative}")


def test_refuses_paths_outside_the_lake(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(LakeError, match="outside the lake"):
        lake.write_bytes(str(tmp_path / "elsewhere.txt"), b"x")
    with pytest.raises(LakeError, match="only local paths and s3://"):
        Lake("gs://bucket/lake")


def test_local_writes_are_atomic_and_listed(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    target = lake.manifest("b1")
    lake.write_bytes(target, b"one")
    lake.write_bytes(target, b"two")
    assert lake.read_bytes(target) == b"two"
    # no temporary files are left beside the object
    assert [p.name for p in Path(target).parent.iterdir()] == ["b1.json"]
    assert lake.list(lake.manifests_prefix()) == [target]
    lake.delete(target)
    assert not lake.exists(target)


@pytest.mark.aws
def test_s3_store_round_trip_over_http(s3_endpoint: str, s3_bucket: str) -> None:
    lake = Lake(f"s3://{s3_bucket}/city", s3_endpoint)
    uri = lake.landing("metering", "b1", "csv.gz")
    assert not lake.exists(uri)
    lake.write_bytes(uri, b"payload")
    assert lake.exists(uri)
    assert lake.read_bytes(uri) == b"payload"
    assert [d.batch_id for d in lake.deliveries()] == ["b1"]
    lake.delete(uri)
    assert lake.list(lake.landing_prefix()) == []
    with pytest.raises(FileNotFoundError):
        lake.read_bytes(uri)


def test_rebase_maps_a_place_to_the_same_place_in_another_lake(tmp_path: Path) -> None:
    remote = Lake("s3://city-lake/prod")
    local = Lake(str(tmp_path / "work"))
    uri = remote.clean_readings_prefix() + "/reading_date=2025-03-01/readings_0.parquet"
    assert remote.rebase(uri, local) == (
        f"{local.root}/clean/readings/reading_date=2025-03-01/readings_0.parquet"
    )
    assert local.rebase(remote.rebase(uri, local), remote) == uri


def test_a_local_object_is_read_with_its_modification_time(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = lake.landing("metering", "b1", "csv.gz")
    # given in another offset: the same instant comes back in UTC
    lake.write_bytes(
        uri, b"one", modified=ARRIVED.astimezone(timezone(timedelta(hours=2)))
    )
    assert os.stat(uri).st_mtime_ns == int(ARRIVED.timestamp()) * 10**9 + 250_000_000
    stored = lake.read_object(uri)
    assert (stored.data, stored.modified) == (b"one", ARRIVED)
    assert stored.modified.tzinfo == UTC
    # a file touched by anyone else: its mtime, to the microsecond
    touched = 1_743_300_000_123_456_789
    os.utime(uri, ns=(touched, touched))
    assert lake.read_object(uri).modified == datetime(
        2025, 3, 30, 2, 0, 0, 123_456, tzinfo=UTC
    )
    with pytest.raises(LakeError, match="has no UTC offset"):
        lake.write_bytes(uri, b"two", modified=datetime(2025, 3, 29))
    assert lake.read_bytes(uri) == b"one"  # nothing written


@pytest.mark.aws
def test_s3_objects_carry_their_time_in_metadata_else_last_modified(
    s3_endpoint: str, s3_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    import boto3

    lake = Lake(f"s3://{s3_bucket}/city", s3_endpoint)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    timed = lake.landing("metering", "timed", "csv.gz")
    lake.write_bytes(timed, b"payload", modified=ARRIVED)
    key = timed.removeprefix(f"s3://{s3_bucket}/")
    head = s3.head_object(Bucket=s3_bucket, Key=key)
    assert head["Metadata"] == {"sent-at": "2025-03-29T00:05:00.250000+00:00"}
    assert head["LastModified"] > ARRIVED  # S3 set its own time at upload
    assert lake.read_object(timed).modified == ARRIVED

    # written by someone else, without the metadata: S3's LastModified
    s3.put_object(Bucket=s3_bucket, Key="city/landing/metering/plain.csv.gz", Body=b"x")
    plain = lake.uri_for_key("city/landing/metering/plain.csv.gz")
    last_modified = s3.head_object(
        Bucket=s3_bucket, Key="city/landing/metering/plain.csv.gz"
    )["LastModified"]
    stored = lake.read_object(plain)
    assert (stored.data, stored.modified) == (b"x", last_modified)
    assert stored.modified.tzinfo == UTC

    # metadata that is not a time: logged, and LastModified is used
    s3.put_object(
        Bucket=s3_bucket,
        Key="city/landing/metering/odd.csv.gz",
        Body=b"y",
        Metadata={"sent-at": "yesterday"},
    )
    odd = lake.uri_for_key("city/landing/metering/odd.csv.gz")
    with caplog.at_level(logging.WARNING, logger="wattlake.storage"):
        stored = lake.read_object(odd)
    assert (
        stored.modified
        == s3.head_object(Bucket=s3_bucket, Key="city/landing/metering/odd.csv.gz")[
            "LastModified"
        ]
    )
    assert "sent-at='yesterday' is not an ISO 8601 time" in caplog.text
    with pytest.raises(FileNotFoundError):
        lake.read_object(lake.landing("metering", "absent", "csv.gz"))
