"""Shared fixtures: the project, settings on temporary lakes, a moto S3 server, Spark."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from wattlake.config import Settings, load_scales, load_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
# fixtures a whole session shares and that take a pipeline run to build: the
# tests using one of them run on one worker under `pytest -n` (--dist loadgroup)
SHARED_BUILDS = ("pipeline_run", "fixture_build")


def pytest_configure(config: pytest.Config) -> None:
    """Under `pytest -n`, install DuckDB's httpfs once, before the workers run
    dbt (two first runs would install it at once); a single process installs
    it on its first dbt run."""
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        from wattlake.transform import ensure_httpfs

        ensure_httpfs()


def pytest_itemcollected(item: pytest.Item) -> None:
    """Group the tests for `--dist loadgroup`: by shared build, else by module.

    A module's tests share its module-scoped fixtures (a lake built for them),
    and the session's shared builds are built once: on one worker each. (Marked
    as each test is collected: xdist reads the marks when collection ends.)
    """
    fixtures = set(getattr(item, "fixturenames", ()))
    shared = next((name for name in SHARED_BUILDS if name in fixtures), None)
    item.add_marker(pytest.mark.xdist_group(shared or item.nodeid.split("::")[0]))


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return PROJECT_DIR


def make_settings(
    tmp: Path,
    scale: str = "fixture",
    seed: int = 42,
    lake: str | None = None,
    endpoint: str | None = None,
) -> Settings:
    """Settings for a test: everything written under `tmp`."""
    settings = load_settings(PROJECT_DIR, environ={})
    return settings.with_overrides(
        lake=lake or str(tmp / "lake"),
        s3_endpoint_url=endpoint,
        scale=load_scales(PROJECT_DIR)[scale],
        seed=seed,
        build_dir=tmp / "build",
        warehouse=tmp / "warehouse" / "wattlake.duckdb",
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server over HTTP on localhost, for the whole session."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials: moto accepts any, and nothing may reach real AWS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture
def s3_bucket(
    s3_endpoint: str, s3_credentials: None, request: pytest.FixtureRequest
) -> str:
    """A new empty bucket on the moto server; returns its name."""
    import boto3

    name = "wattlake-" + request.node.name.lower().replace("_", "-")[:40]
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession shared by every Spark test."""
    import os

    os.environ.setdefault("WATTLAKE_SPARK_MASTER", "local[2]")
    from wattlake.features.job import local_spark_session

    session = local_spark_session("wattlake-tests")
    yield session
    session.stop()
