"""The benchmark runs end to end on tiny inputs (it measures nothing here)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from wattlake import bench


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
