"""Scoring detected anomalies against the truth: overlap matching per type."""

from pathlib import Path

import duckdb
import pytest

from wattlake.evaluate import EvaluationError, Scores, evaluate, score
from wattlake.storage import Lake

TRUTH = [
    # meter, type, start, end
    ("m1", "spike", "2025-03-01 10:00", "2025-03-01 10:30"),
    ("m1", "stuck", "2025-03-02 00:00", "2025-03-02 12:00"),
    ("m2", "stuck", "2025-03-02 00:00", "2025-03-02 03:00"),
    ("m3", "dip", "2025-03-05 08:00", "2025-03-05 10:00"),
]
DETECTED = [
    ("m1", "spike", "2025-03-01 10:00", "2025-03-01 11:00"),  # matches
    ("m1", "stuck", "2025-03-02 01:00", "2025-03-02 05:00"),  # matches (overlap)
    ("m1", "stuck", "2025-03-02 06:00", "2025-03-02 09:00"),  # the same event again
    (
        "m2",
        "stuck",
        "2025-03-02 03:00",
        "2025-03-02 05:00",
    ),  # touches the end: no overlap
    ("m3", "spike", "2025-03-05 08:00", "2025-03-05 09:00"),  # wrong type
]


def relation(connection, name: str, rows) -> str:
    connection.sql(
        f"create table {name} (meter_id varchar, anomaly_type varchar, "
        "start_utc timestamp, end_utc timestamp)"
    )
    connection.executemany(f"insert into {name} values (?, ?, ?, ?)", rows)
    return name


def test_events_match_on_meter_type_and_overlap() -> None:
    connection = duckdb.connect()
    result = score(
        connection,
        relation(connection, "detected", DETECTED),
        relation(connection, "truth", TRUTH),
    )
    assert result.events["spike"] == Scores(1, 2, 1, 1)
    stuck = result.events["stuck"]
    assert stuck == Scores(2, 3, 1, 2)
    assert stuck.precision == pytest.approx(2 / 3)
    assert stuck.recall == pytest.approx(1 / 2)
    assert stuck.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    dip = result.events["dip"]
    assert dip.detected_count == 0 and dip.recall == 0 and dip.f1 == 0


def test_points_are_meter_hours() -> None:
    connection = duckdb.connect()
    result = score(
        connection,
        relation(connection, "detected", DETECTED),
        relation(connection, "truth", TRUTH),
    )
    # true stuck hours: m1 00-11 (12), m2 00-02 (3); detected: m1 01-04, 06-08 (7), m2 03-04 (2)
    assert result.points["stuck"] == Scores(15, 9, 7, 7)
    assert result.points["spike"] == Scores(1, 2, 1, 1)


def test_a_real_export_has_no_truth_to_evaluate(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="no ground truth"):
        evaluate(Lake(str(tmp_path / "lake")), str(tmp_path / "w.duckdb"))
