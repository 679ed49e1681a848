"""What a dbt invocation's run_results.json says, as the transform report holds it."""

from __future__ import annotations

import json
from pathlib import Path

from wattlake.transform import _read_run_results


def test_statuses_failures_and_each_nodes_time_are_read(tmp_path: Path) -> None:
    path = tmp_path / "run_results.json"
    path.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "unique_id": "model.w.a",
                        "status": "success",
                        "execution_time": 2.5,
                    },
                    {
                        "unique_id": "model.w.b",
                        "status": "error",
                        "message": " boom ",
                        "execution_time": 0.25,
                    },
                    {"unique_id": "test.w.c", "status": "pass", "execution_time": None},
                ]
            }
        )
    )
    statuses, failures, node_seconds = _read_run_results(path)
    assert statuses == {"success": 1, "error": 1, "pass": 1}
    assert failures == ["model.w.b: boom"]
    assert node_seconds == {"model.w.a": 2.5, "model.w.b": 0.25, "test.w.c": 0.0}
    assert _read_run_results(tmp_path / "missing.json") == ({}, [], {})
