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


FIRST_DAY = date(2025, 1, 1)


def with_days_of_readings(lake: Lake, days: int) -> list[date]:
    """Inputs of the job: `days` dates of readings, a registry and weather."""
    inputs = lake.feature_inputs()
    dates = [FIRST_DAY + timedelta(days=offset) for offset in range(days)]
    for day in dates:
        lake.write_bytes(f"{inputs['readings']}/reading_date={day}/p.parquet", b"")
    for name in ("meter_sites", "weather_hourly"):
        lake.write_bytes(f"{inputs[name]}/part-0.parquet", b"")
    return dates


@pytest.mark.aws
def test_an_s3_run_without_readings_in_its_dates_computes_nothing(
    s3_endpoint: str, s3_bucket: str
) -> None:
    lake = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    with_days_of_readings(lake, 1)
    # September and its 56 days of history hold no readings: nothing to
    # copy or compute, and Spark is not used (no session needed)
    report = run_features_on_lake(
        None, lake, start=date(2025, 9, 1), end=date(2025, 9, 2)
    )
    assert report.rows == 0 and report.first_date is None
    assert lake.list(lake.anomaly_features_prefix()) == []


def test_a_run_without_readings_in_its_dates_computes_nothing(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    with_days_of_readings(lake, 1)
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
    with_days_of_readings(Lake(str(lake)), 1)

    def no_spark(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr(job, "local_spark_session", no_spark)
    argv = ["--lake", str(lake), "features", "--start", "2025-09-01"]
    with caplog.at_level(logging.INFO):
        assert cli.main([*argv, "--end", "2025-09-02"]) == 0
    assert "no clean readings from 2025-09-01 to 2025-09-02" in caplog.text
    assert "features: 0 meter-hours (no dates)" in caplog.text
    assert "starting Spark" not in caplog.text


def a_run_of(lake: Lake, start: date | None = None, end: date | None = None) -> None:
    """What a run of [start, end] leaves: a feature file per date and the record."""
    state = job.feature_state(lake)
    _, kept = job.dates_to_compute(lake, state, start, end)
    for day in state.dates(start, end):  # what Spark would have written
        lake.write_bytes(
            f"{lake.anomaly_features_prefix()}/reading_date={day}/part-0.parquet",
            b"features",
        )
    job.record_run(lake, state, kept, start, end)


def rewrite_readings(lake: Lake, day: date) -> None:
    """The readings of `day` written again (a late batch restated them)."""
    lake.write_bytes(
        f"{lake.clean_readings_prefix()}/reading_date={day}/p.parquet", b"late"
    )


def to_compute(lake: Lake, start: date | None = None, end: date | None = None):
    return job.dates_to_compute(lake, job.feature_state(lake), start, end)[0]


def test_without_a_record_every_date_is_computed(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    dates = with_days_of_readings(lake, 3)
    assert to_compute(lake) == dates
    assert to_compute(lake, dates[1], dates[1]) == [dates[1]]


def test_after_a_run_with_nothing_changed_no_date_is_computed(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    dates = with_days_of_readings(lake, 3)
    a_run_of(lake)
    assert to_compute(lake) == []
    assert to_compute(lake, dates[1], dates[2]) == []


@pytest.mark.parametrize(
    "change",
    [
        "the weather rewritten",
        "a feature file rewritten",
        "a feature file deleted",
        "other code",
    ],
)
def test_a_change_every_date_reads_computes_every_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    dates = with_days_of_readings(lake, 3)
    a_run_of(lake)
    feature_file = (
        f"{lake.anomaly_features_prefix()}/reading_date={dates[0]}/part-0.parquet"
    )
    if change == "the weather rewritten":
        lake.write_bytes(
            f"{lake.feature_inputs()['weather_hourly']}/part-0.parquet", b"new"
        )
    elif change == "a feature file rewritten":
        lake.write_bytes(feature_file, b"other")  # by a run on EMR, say
    elif change == "a feature file deleted":
        lake.delete(feature_file)
    else:
        monkeypatch.setattr(
            "importlib.metadata.version", lambda name: "another pyspark"
        )
    assert to_compute(lake) == dates


def test_a_changed_date_computes_the_dates_whose_features_read_it(
    tmp_path: Path,
) -> None:
    from wattlake.features import FOLLOWING_DAYS, HISTORY_DAYS

    lake = Lake(str(tmp_path / "lake"))
    dates = with_days_of_readings(lake, 120)
    a_run_of(lake)
    changed = dates[30]
    rewrite_readings(lake, changed)
    # the day before (local days straddle UTC dates) to 56 days after (baselines)
    stale = to_compute(lake)
    assert stale[0] == changed - timedelta(days=FOLLOWING_DAYS)
    assert stale[-1] == changed + timedelta(days=HISTORY_DAYS)
    assert len(stale) == FOLLOWING_DAYS + 1 + HISTORY_DAYS
    # a new date after the last: itself and the day before
    new_day = dates[-1] + timedelta(days=1)
    lake.write_bytes(
        f"{lake.clean_readings_prefix()}/reading_date={new_day}/p.parquet", b""
    )
    assert to_compute(lake, dates[-10], None)[-2:] == [dates[-1], new_day]


def test_a_run_of_the_changed_dates_makes_every_date_current(tmp_path: Path) -> None:
    # a watch refresh (its span) after a run of every date: the next run of
    # every date has nothing to compute
    lake = Lake(str(tmp_path / "lake"))
    dates = with_days_of_readings(lake, 120)
    a_run_of(lake)
    rewrite_readings(lake, dates[30])
    stale = to_compute(lake)
    a_run_of(lake, stale[0], stale[-1])
    assert to_compute(lake) == []


@pytest.mark.aws
def test_the_record_on_an_s3_lake_follows_its_objects(
    s3_endpoint: str, s3_bucket: str
) -> None:
    lake = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    dates = with_days_of_readings(lake, 3)
    a_run_of(lake)
    assert lake.exists(lake.features_record())
    assert to_compute(lake) == []
    # a new ETag: the registry's new bytes change every date's inputs
    lake.write_bytes(f"{lake.feature_inputs()['meter_sites']}/part-0.parquet", b"new")
    assert to_compute(lake) == dates
    a_run_of(lake)
    lake.delete(
        f"{lake.anomaly_features_prefix()}/reading_date={dates[0]}/part-0.parquet"
    )
    assert to_compute(lake) == dates


def test_an_unreadable_record_computes_every_date_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    dates = with_days_of_readings(lake, 3)
    a_run_of(lake)
    lake.write_bytes(lake.features_record(), b"{not json")
    with caplog.at_level(logging.WARNING):
        assert to_compute(lake) == dates
    assert f"{lake.features_record()} is unreadable" in caplog.text


def test_the_cli_skips_spark_for_an_unchanged_lake_unless_forced(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lake = tmp_path / "lake"
    with_days_of_readings(Lake(str(lake)), 3)
    a_run_of(Lake(str(lake)))

    def no_spark(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr(job, "local_spark_session", no_spark)
    with caplog.at_level(logging.INFO):
        assert cli.main(["--lake", str(lake), "features"]) == 0
    assert (
        "features: 3 dates (2025-01-01 to 2025-01-03) unchanged since computed: "
        "not computed again"
    ) in caplog.text
    assert "starting Spark" not in caplog.text
    caplog.clear()
    with (
        caplog.at_level(logging.INFO),
        pytest.raises(AssertionError, match="Spark was started"),
    ):
        cli.main(["--lake", str(lake), "features", "--force"])
    assert "starting Spark" in caplog.text


def test_the_cli_computes_only_from_the_first_to_the_last_changed_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    dates = with_days_of_readings(lake, 120)
    a_run_of(lake)
    rewrite_readings(lake, dates[30])
    asked = []

    def run(spark, lake, start, end):
        asked.append((start, end))
        return job.FeatureReport(0, None, None, 0.0, lake.anomaly_features_prefix())

    class Session:  # what the CLI stops after the run
        def stop(self) -> None:
            pass

    monkeypatch.setattr(job, "local_spark_session", Session)
    monkeypatch.setattr(job, "run_features_on_lake", run)
    assert cli.main(["--lake", lake.root, "features"]) == 0
    assert asked == [(dates[29], dates[29 + 57])]
    # recorded: the run of every date that follows has nothing to compute
    assert cli.main(["--lake", lake.root, "features"]) == 0
    assert len(asked) == 1


def test_the_cli_starts_no_spark_for_dates_with_readings_in_their_history_only(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    with_days_of_readings(lake, 3)  # 2025-01-01 to 01-03: history of 01-10

    def no_spark(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr(job, "local_spark_session", no_spark)
    argv = ["--lake", lake.root, "features", "--start", "2025-01-10"]
    with caplog.at_level(logging.INFO):
        assert cli.main([*argv, "--end", "2025-01-11"]) == 0
    assert "features: 0 meter-hours (no dates)" in caplog.text
