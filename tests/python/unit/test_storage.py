from datetime import date
from pathlib import Path

import pytest

from wattlake.storage import Lake, LakeError


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
