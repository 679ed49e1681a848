"""The benchmark runs end to end on tiny inputs (it measures nothing here)."""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wattlake import bench
from wattlake.ingestion.land import land_pending
from wattlake.storage import Lake


def test_a_batch_holds_every_meter_every_interval() -> None:
    batch = bench.readings_batch("b", 3, datetime(2025, 3, 3, tzinfo=UTC), 24, 1)
    assert batch.rows == 3 * 96
    assert sorted(set(batch.meter_id)) == ["MTR-000001", "MTR-000002", "MTR-000003"]


def test_the_landing_cases_report_readings_and_baselines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--runs", "1", "--deliveries", "1", "--meters", "5", "--workers", "1"]
    assert bench.main([*args, "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for case in bench.CASES:
        line = next(line for line in out.splitlines() if line.startswith(case.name))
        if case.baseline:
            assert "480" in line and "pyarrow copy" in line  # 5 meters x 96 readings
        else:  # the simulator: 20 sites for 3 days of 96 intervals
            assert "5,760" in line


def _csv_delivery(path: Path, lines: list[str]) -> None:
    with gzip.open(path, "wt", newline="") as out:
        out.write("\n".join(lines) + "\n")


def test_a_late_redelivery_lands_as_its_own_batch_with_corrected_values(
    tmp_path: Path,
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    landing = tmp_path / "lake" / "landing" / "metering"
    landing.mkdir(parents=True)
    template = landing / "readings_campus_20250612.csv.gz"
    lines = ["meter_id,reading_start,interval_minutes,value,unit,quality_code"]
    lines += [
        f"MTR-000001,2025-06-12T{h:02d}:{m:02d}:00Z,15,{1 + h / 10:.4f},kWh,A"
        for h in range(24)
        for m in (0, 15, 30, 45)
    ]
    lines[40] = "MTR-000001,garbled"  # a line that does not parse stays as it was
    _csv_delivery(template, lines)
    arrived = datetime(2025, 6, 13, 6, tzinfo=UTC).timestamp()
    os.utime(template, (arrived, arrived))
    assert len(land_pending(lake, workers=1).landed) == 1

    late = bench.redeliver(template, "t1", every=10, days_later=7)
    assert late.name == "readings_campus_20250612_t1.csv.gz"
    assert late.stat().st_mtime == arrived + 7 * 86400
    landed = land_pending(lake, workers=1).landed
    assert [manifest.batch_id for manifest in landed] == ["readings_campus_20250612_t1"]

    with gzip.open(late, "rt") as source:
        relines = source.read().splitlines()
    assert len(relines) == len(lines) and relines[40] == lines[40]
    for number, (line, reline) in enumerate(zip(lines, relines, strict=True)):
        if number % 10 or number in (0, 40):
            assert reline == line
        else:
            value, revalue = float(line.split(",")[3]), float(reline.split(",")[3])
            assert revalue == pytest.approx(value * 1.01, abs=1e-4)


def test_a_redelivery_needs_a_value_column(tmp_path: Path) -> None:
    template = tmp_path / "readings_campus_20250612.csv.gz"
    _csv_delivery(template, ["meter_id,reading_start,kwh", "MTR-1,2025-06-12,1.0"])
    with pytest.raises(ValueError, match=r"readings_campus_20250612.csv.gz: line 1"):
        bench.redeliver(template, "t1")


def test_the_late_batch_template_is_a_csv_delivery_of_the_middle_date(
    tmp_path: Path,
) -> None:
    landing = tmp_path / "landing" / "metering"
    landing.mkdir(parents=True)
    for name in (
        "readings_campus_20250101.csv.gz",
        "readings_campus_20250102.csv.gz",
        "readings_campus_20250103.csv.gz",
        "readings_suburbs_20250101.csv.gz",
        "readings_suburbs_20250102.csv.gz",
        "readings_suburbs_20250102.jsonl.gz",
        "readings_suburbs_20250103.csv.gz",
        "readings_campus_20250102T05_late20250104.csv.gz",
        "meters_20250102.csv.gz",
    ):
        (landing / name).write_bytes(b"")
    template = bench.late_batch_template(Lake(str(tmp_path)))
    assert template.name == "readings_campus_20250102.csv.gz"
    with pytest.raises(FileNotFoundError, match="no CSV delivery"):
        bench.late_batch_template(Lake(str(tmp_path / "empty")))
