"""Scoring detected anomalies against the truth: overlap matching per type."""

import io
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
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


def _truth_parquet(rows) -> bytes:
    meter, kind, start, end = zip(*rows, strict=True)
    table = pa.table(
        {
            "meter_id": list(meter),
            "anomaly_type": list(kind),
            "start_utc": pa.array(
                [datetime.fromisoformat(s) for s in start], pa.timestamp("us", tz="UTC")
            ),
            "end_utc": pa.array(
                [datetime.fromisoformat(e) for e in end], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def evaluate_on(tmp_path: Path, truth: list, detected: list):
    """Evaluate `detected` against `truth` with features for 2025-03-01..04-30.

    The warm-up runs until 03-15; the data ends on 05-01.
    """
    lake = Lake(str(tmp_path / "lake"))
    for day in ("2025-03-01", "2025-04-30"):
        lake.write_bytes(
            f"{lake.anomaly_features_prefix()}/reading_date={day}/p.parquet", b""
        )
    lake.write_bytes(lake.truth("anomalies.parquet"), _truth_parquet(truth))
    warehouse = str(tmp_path / "w.duckdb")
    with duckdb.connect(warehouse) as connection:
        relation(connection, "fct_anomalies", detected)
    return lake, evaluate(lake, warehouse)


def test_warm_up_and_cut_off_events_are_left_out_with_what_overlaps_them(
    tmp_path: Path,
) -> None:
    truth = [
        # in the warm-up: a drift needs history (left out, with its detection)
        ("m1", "drift", "2025-03-05 00:00", "2025-03-12 00:00"),
        # judged: a night load inside the data
        ("m2", "night_load", "2025-04-01 00:00", "2025-04-08 00:00"),
        # cut off: 2 days of a night load (shortest 5) at the end (left out)
        ("m3", "night_load", "2025-04-29 00:00", "2025-05-01 00:00"),
        # at the end but longer than a level shift's shortest (14 days): judged
        ("m4", "level_shift", "2025-04-10 00:00", "2025-05-01 00:00"),
        # a stuck run (shortest 12 h) cut to 6 h: left out; a spike is never warm-up
        ("m5", "stuck", "2025-04-30 18:00", "2025-05-01 00:00"),
        ("m6", "spike", "2025-03-02 10:00", "2025-03-02 10:15"),
    ]
    detected = [
        ("m1", "level_shift", "2025-03-06 00:00", "2025-03-10 00:00"),
        ("m2", "night_load", "2025-04-02 00:00", "2025-04-06 00:00"),
        ("m3", "night_load", "2025-04-29 00:00", "2025-05-01 00:00"),
        ("m3", "level_shift", "2025-04-30 00:00", "2025-05-01 00:00"),
        ("m5", "stuck", "2025-04-30 18:00", "2025-05-01 00:00"),
        ("m6", "spike", "2025-03-02 10:00", "2025-03-02 11:00"),
        ("m7", "dip", "2025-04-20 08:00", "2025-04-20 10:00"),
    ]
    lake, result = evaluate_on(tmp_path, truth, detected)
    assert result.excluded == {
        "warm_up": {"drift": 1},
        "cut_off": {"night_load": 1, "stuck": 1},
    }
    assert result.events["night_load"] == Scores(1, 1, 1, 1)
    assert result.events["level_shift"] == Scores(1, 0, 0, 0)
    assert result.events["spike"] == Scores(1, 1, 1, 1)
    assert result.events["dip"] == Scores(0, 1, 0, 0)
    assert "drift" not in result.events and "stuck" not in result.events
    report = lake.read_bytes(lake.truth("evaluation.json")).decode()
    assert '"cut_off": {\n      "night_load": 1' in report
    assert any("cut off by the end of the data" in line for line in result.table())


def test_the_return_of_a_warm_up_level_shift_is_left_out_with_it(
    tmp_path: Path,
) -> None:
    truth = [
        # raised from the data's start: its end is all the detector can see
        ("m1", "level_shift", "2025-03-01 00:00", "2025-03-20 00:00"),
        # the same on m2, and then a true drift of m2's own
        ("m2", "level_shift", "2025-03-01 00:00", "2025-03-20 00:00"),
        ("m2", "drift", "2025-04-01 00:00", "2025-04-10 00:00"),
        # a warm-up drift: its end is no new level
        ("m3", "drift", "2025-03-02 00:00", "2025-03-10 00:00"),
    ]
    detected = [
        # m1's return: left out; 28 days after the end: judged
        ("m1", "level_shift", "2025-03-20 00:00", "2025-04-05 00:00"),
        ("m1", "level_shift", "2025-04-17 00:00", "2025-04-25 00:00"),
        # m2's drift inside the return window: judged, and found
        ("m2", "drift", "2025-04-03 00:00", "2025-04-09 00:00"),
        # after the warm-up drift: judged
        ("m3", "level_shift", "2025-03-12 00:00", "2025-03-30 00:00"),
    ]
    _, result = evaluate_on(tmp_path, truth, detected)
    assert result.excluded == {"warm_up": {"level_shift": 2, "drift": 1}}
    assert result.events["level_shift"] == Scores(0, 2, 0, 0)
    assert result.events["drift"] == Scores(1, 1, 1, 1)
    assert result.returns_left_out == {"level_shift": 1}
    assert any(
        "after a warm-up level shift ended: its return): 1 level_shift" in line
        for line in result.table()
    )


def test_the_summary_says_when_no_true_event_is_scored(tmp_path: Path) -> None:
    truth = [("m1", "dip", "2025-03-05 10:00", "2025-03-05 14:00")]  # warm-up
    detected = [("m1", "dip", "2025-03-05 10:00", "2025-03-05 13:00")]
    _, result = evaluate_on(tmp_path, truth, detected)
    assert result.summary() == "event F1: no true event to score (1 left out)"
    truth.append(("m2", "spike", "2025-04-01 10:00", "2025-04-01 10:15"))
    _, result = evaluate_on(tmp_path / "scored", truth, detected)
    assert result.summary() == "event F1 spike 0.00"
