"""The feature job's checks that come before Spark does any work."""

import logging
from datetime import date, timedelta
from pathlib import Path

import pytest

from wattlake import cli
from wattlake.features import job
from wattlake.features.job import (
    FeatureJobError,
    feature_input_uris,
    run_features,
    run_features_on_lake,
)
from wattlake.storage import Lake


def test_a_range_ending_before_it_starts_is_refused(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(
        FeatureJobError, match="--end 2025-04-01 is before --start 2025-05-01"
    ):
        # refused before Spark is used: no session needed
        run_features(None, lake, start=date(2025, 5, 1), end=date(2025, 4, 1))


def test_a_one_day_range_is_accepted_and_then_needs_clean_readings(
    tmp_path: Path,
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(
        FeatureJobError,
        match=r"no \w+ in .*run `wattlake transform --selector lake_clean`",
    ):
        run_features(None, lake, start=date(2025, 5, 1), end=date(2025, 5, 1))


def test_a_dated_run_reads_its_dates_and_their_history_only(tmp_path: Path) -> None:
    from wattlake.features import FOLLOWING_DAYS, HISTORY_DAYS

    lake = Lake(str(tmp_path / "lake"))
    first_day = date(2025, 1, 1)
    for offset in range(120):
        day = first_day + timedelta(days=offset)
        lake.write_bytes(
            f"{lake.clean_readings_prefix()}/reading_date={day}/part-0.parquet", b""
        )
    registry = f"{lake.feature_inputs()['meter_sites']}/part-0.parquet"
    lake.write_bytes(registry, b"")

    start, end = date(2025, 4, 1), date(2025, 4, 2)
    uris = feature_input_uris(lake, start, end)
    days = sorted(day for uri in uris if (day := Lake.reading_date_of(uri)))
    assert days[0] == start - timedelta(days=HISTORY_DAYS)
    # and the day after: the site-local day of the end date's last hours
    assert days[-1] == end + timedelta(days=FOLLOWING_DAYS) == date(2025, 4, 3)
    assert len(days) == HISTORY_DAYS + 2 + FOLLOWING_DAYS
    assert registry in uris  # not partitioned by date: always read
    # an undated run reads everything
    assert len(feature_input_uris(lake)) == 121


def with_one_day_of_readings(lake: Lake) -> None:
    """Inputs of the job: readings on 2025-01-01 only, a registry and weather."""
    inputs = lake.feature_inputs()
    for uri in (
        f"{inputs['readings']}/reading_date=2025-01-01/part-0.parquet",
        f"{inputs['meter_sites']}/part-0.parquet",
        f"{inputs['weather_hourly']}/part-0.parquet",
    ):
        lake.write_bytes(uri, b"")


@pytest.mark.aws
def test_an_s3_run_without_readings_in_its_dates_computes_nothing(
    s3_endpoint: str, s3_bucket: str
) -> None:
    lake = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    with_one_day_of_readings(lake)
    # September and its 56 days of history hold no readings: nothing to
    # copy or compute, and Spark is not used (no session needed)
    report = run_features_on_lake(
        None, lake, start=date(2025, 9, 1), end=date(2025, 9, 2)
    )
    assert report.rows == 0 and report.first_date is None
    assert lake.list(lake.anomaly_features_prefix()) == []


def test_a_run_without_readings_in_its_dates_computes_nothing(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    with_one_day_of_readings(lake)
    # September and its history hold no readings: a report of nothing, before
    # Spark is used (reading back an output never written would fail)
    report = run_features(None, lake, start=date(2025, 9, 1), end=date(2025, 9, 2))
    assert report.rows == 0 and report.first_date is None


def test_the_cli_reports_dates_without_readings_without_starting_spark(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lake = tmp_path / "lake"
    with_one_day_of_readings(Lake(str(lake)))

    def no_spark(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr(job, "local_spark_session", no_spark)
    argv = ["--lake", str(lake), "features", "--start", "2025-09-01"]
    with caplog.at_level(logging.INFO):
        assert cli.main([*argv, "--end", "2025-09-02"]) == 0
    assert "no clean readings from 2025-09-01 to 2025-09-02" in caplog.text
    assert "features: 0 meter-hours (no dates)" in caplog.text
    assert "starting Spark" not in caplog.text


def a_run_of_every_date(lake: Lake) -> job.FeatureReport:
    """Record a run of every date over `with_one_day_of_readings` and its output."""
    with_one_day_of_readings(lake)
    output = f"{lake.anomaly_features_prefix()}/reading_date=2025-01-01/part-0.parquet"
    state = job.feature_state(lake, None, None)
    lake.write_bytes(output, b"features")  # what Spark would have written
    report = job.FeatureReport(24, date(2025, 1, 1), date(2025, 1, 1), 9.0, "out")
    job.record_run(lake, state, report)
    return report


def test_a_rerun_with_nothing_changed_is_reported_from_the_record(
    tmp_path: Path,
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    assert (
        job.unchanged_since_last_run(lake, job.feature_state(lake, None, None)) is None
    )
    a_run_of_every_date(lake)
    report = job.unchanged_since_last_run(lake, job.feature_state(lake, None, None))
    assert report is not None
    assert (report.rows, report.first_date, report.last_date) == (
        24,
        date(2025, 1, 1),
        date(2025, 1, 1),
    )
    assert report.output == lake.anomaly_features_prefix()


@pytest.mark.parametrize(
    "change",
    [
        "an input rewritten",
        "a new date of readings",
        "a feature file rewritten",
        "a feature file deleted",
        "other dates asked for",
        "other code",
    ],
)
def test_a_rerun_computes_again_when_anything_it_depends_on_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    a_run_of_every_date(lake)
    inputs = lake.feature_inputs()
    output = lake.anomaly_features_prefix()
    start = None
    if change == "an input rewritten":
        lake.write_bytes(f"{inputs['weather_hourly']}/part-0.parquet", b"changed")
    elif change == "a new date of readings":
        lake.write_bytes(f"{inputs['readings']}/reading_date=2025-01-02/p.parquet", b"")
    elif change == "a feature file rewritten":
        lake.write_bytes(f"{output}/reading_date=2025-01-01/part-0.parquet", b"other")
    elif change == "a feature file deleted":
        lake.delete(f"{output}/reading_date=2025-01-01/part-0.parquet")
    elif change == "other dates asked for":
        start = date(2025, 1, 1)
    else:
        monkeypatch.setattr(
            "importlib.metadata.version", lambda name: "another pyspark"
        )
    state = job.feature_state(lake, start, None)
    assert job.unchanged_since_last_run(lake, state) is None


@pytest.mark.aws
def test_the_record_of_a_run_on_an_s3_lake_follows_its_objects(
    s3_endpoint: str, s3_bucket: str
) -> None:
    lake = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    a_run_of_every_date(lake)
    assert lake.exists(lake.features_record())
    assert job.unchanged_since_last_run(lake, job.feature_state(lake, None, None))
    registry = f"{lake.feature_inputs()['meter_sites']}/part-0.parquet"
    lake.write_bytes(registry, b"another registry")  # a new ETag
    assert (
        job.unchanged_since_last_run(lake, job.feature_state(lake, None, None)) is None
    )
    a_run_of_every_date(lake)
    lake.delete(
        f"{lake.anomaly_features_prefix()}/reading_date=2025-01-01/part-0.parquet"
    )
    assert (
        job.unchanged_since_last_run(lake, job.feature_state(lake, None, None)) is None
    )


def test_a_rerun_ignores_readings_outside_its_dates_and_history(
    tmp_path: Path,
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    with_one_day_of_readings(lake)
    start = date(2025, 1, 1)
    state = job.feature_state(lake, start, start)
    job.record_run(lake, state, job.FeatureReport(24, start, start, 1.0, "out"))
    # a date after the range, read by no run of these dates
    lake.write_bytes(
        f"{lake.clean_readings_prefix()}/reading_date=2025-03-01/p.parquet", b""
    )
    assert job.unchanged_since_last_run(lake, job.feature_state(lake, start, start))


def test_an_unreadable_record_is_computed_anew_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    a_run_of_every_date(lake)
    lake.write_bytes(lake.features_record(), b"{not json")
    with caplog.at_level(logging.WARNING):
        assert (
            job.unchanged_since_last_run(lake, job.feature_state(lake, None, None))
            is None
        )
    assert f"{lake.features_record()} is unreadable" in caplog.text


def test_the_cli_skips_spark_for_an_unchanged_lake_unless_forced(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lake = tmp_path / "lake"
    a_run_of_every_date(Lake(str(lake)))

    def no_spark(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr(job, "local_spark_session", no_spark)
    with caplog.at_level(logging.INFO):
        assert cli.main(["--lake", str(lake), "features"]) == 0
    assert (
        "features: 24 meter-hours (2025-01-01 to 2025-01-01), unchanged since the "
        "last run: not computed again"
    ) in caplog.text
    assert "starting Spark" not in caplog.text
    caplog.clear()
    with (
        caplog.at_level(logging.INFO),
        pytest.raises(AssertionError, match="Spark was started"),
    ):
        cli.main(["--lake", str(lake), "features", "--force"])
    assert "starting Spark" in caplog.text
