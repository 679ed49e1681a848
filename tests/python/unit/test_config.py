from datetime import date
from pathlib import Path

import pytest

from wattlake.config import ConfigError, load_settings


def test_defaults_come_from_the_config_file(project_dir: Path) -> None:
    settings = load_settings(project_dir, environ={})
    assert settings.lake == str(project_dir / "lake")
    assert settings.target == "local"
    assert settings.scale.name == "demo"
    assert settings.seed == 42
    assert settings.s3_endpoint_url is None
    assert settings.warehouse == project_dir / "warehouse" / "wattlake.duckdb"


def test_environment_overrides_every_key(project_dir: Path) -> None:
    settings = load_settings(
        project_dir,
        environ={
            "WATTLAKE_LAKE": "s3://city-lake/prod/",
            "WATTLAKE_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "WATTLAKE_TARGET": "athena",
            "WATTLAKE_SCALE": "city",
            "WATTLAKE_SEED": "7",
        },
    )
    assert settings.lake == "s3://city-lake/prod"
    assert settings.s3_endpoint_url == "http://127.0.0.1:9000"
    assert settings.target == "athena"
    assert settings.scale.name == "city" and settings.scale.sites == 10_000
    assert settings.scale.start == date(2025, 1, 1) and settings.scale.days == 365
    assert settings.seed == 7


def test_relative_lake_is_relative_to_the_project(project_dir: Path) -> None:
    settings = load_settings(project_dir, environ={"WATTLAKE_LAKE": "data/my-lake"})
    assert settings.lake == str(project_dir / "data" / "my-lake")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "WATTLAKE_TARGET",
            "bigquery",
            "WATTLAKE_TARGET: target 'bigquery' is not one of",
        ),
        ("WATTLAKE_SCALE", "galaxy", "WATTLAKE_SCALE: scale 'galaxy' is not one of"),
        ("WATTLAKE_SEED", "abc", "WATTLAKE_SEED: seed 'abc' is not an integer"),
        (
            "WATTLAKE_LAKE",
            "gs://bucket",
            "WATTLAKE_LAKE: 'gs://bucket' must be a local path",
        ),
        ("WATTLAKE_S3_ENDPOINT_URL", "localhost:9000", "is not an http(s) URL"),
    ],
)
def test_invalid_values_name_the_key(
    project_dir: Path, variable: str, value: str, message: str
) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        load_settings(project_dir, environ={variable: value})


def test_invalid_config_file_names_the_file(tmp_path: Path, project_dir: Path) -> None:
    (tmp_path / "wattlake.toml").write_text(
        "[wattlake]\nlake = './lake'\ncolour = 'blue'\n"
    )
    (tmp_path / "ingestion").mkdir()
    (tmp_path / "ingestion" / "scales.toml").write_text(
        (project_dir / "ingestion" / "scales.toml").read_text()
    )
    with pytest.raises(
        ConfigError, match=r"wattlake.toml: unknown key\(s\) in \[wattlake\]: colour"
    ):
        load_settings(tmp_path, environ={})


def test_invalid_scale_preset_names_the_field(
    tmp_path: Path, project_dir: Path
) -> None:
    (tmp_path / "wattlake.toml").write_text((project_dir / "wattlake.toml").read_text())
    (tmp_path / "ingestion").mkdir()
    (tmp_path / "ingestion" / "scales.toml").write_text(
        "[demo]\nsites = 0\nstart = 2025-03-01\ndays = 2\ninterval_minutes = 15\n"
    )
    with pytest.raises(
        ConfigError, match=r"scales.toml \[demo\] sites: expected a positive integer"
    ):
        load_settings(tmp_path, environ={})
