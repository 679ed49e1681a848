"""`wattlake watch`: the refresh on a laptop, with the Lambda's logic.

The watcher polls `landing/` (one listing per poll, no object read), hands
every new or rewritten delivery to `on_new_objects` (land, or quarantine and
alert), and asks `start_refresh` whether a run is due; a run is the local DAG
(dbt `lake_clean`, Spark features for the new readings' dates, dbt `marts`),
run in this process by `LocalRunner`. When it starts watching, deliveries
already landed are taken as seen (a long-running watcher starts at once); a
single pass (`--once`) checks every delivery, as `wattlake land` does, so a
delivery dropped again is read and found unchanged.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from wattlake.ingestion.manifest import read_manifest
from wattlake.refresh import (
    Alert,
    RefreshDecision,
    RefreshRun,
    log_alert,
    on_new_objects,
    owner,
    process_alive,
    start_refresh,
)
from wattlake.storage import Lake, LakeError

log = logging.getLogger(__name__)

RETRY_SECONDS = 60.0  # after a failed run, before the next try


@dataclass
class LocalRunner:
    """Runs the local DAG for a refresh run, to its end, in this process."""

    run_dag: Callable[[RefreshRun], None]
    runs: list[RefreshRun] = field(default_factory=list)

    def start(self, run: RefreshRun) -> str:
        """Run the DAG for the run to its end; the handle is this process."""
        log.info(
            "watch: refresh %s: %d batches, reading dates %s to %s",
            run.run_id,
            len(run.batch_ids),
            run.first_date or "-",
            run.last_date or "-",
        )
        self.run_dag(run)
        self.runs.append(run)
        return owner()

    def is_running(self, handle: str) -> bool:
        """Whether another live process of this host runs a refresh."""
        host, _, pid = handle.rpartition(":")
        if not pid.isdigit() or host != socket.gethostname():
            return False
        if int(pid) == os.getpid():  # this process runs its DAG to the end
            return False
        return process_alive(int(pid))


@dataclass(frozen=True)
class PollReport:
    """One poll of the watcher."""

    changed: int
    landing: dict
    decision: RefreshDecision


@dataclass
class Watcher:
    """Polls a lake's `landing/` and refreshes when batches are due."""

    lake: Lake
    runner: LocalRunner
    debounce: timedelta
    alert: Alert = log_alert
    seen: dict[str, str] | None = None
    check_all: bool = False  # first poll: every delivery, not only unlanded ones

    def changed_deliveries(self) -> list[str]:
        """Deliveries new or rewritten since the last poll.

        On the first poll, deliveries whose batch has a manifest are taken as
        seen (they were landed before the watcher started), unless `check_all`.
        """
        versions = self.lake.versions(self.lake.landing_prefix())
        if self.seen is None and self.check_all:
            self.seen = {}
        if self.seen is None:
            self.seen = {
                uri: version
                for uri, version in versions.items()
                if _landed_before(self.lake, uri)
            }
        changed = [
            uri for uri, v in sorted(versions.items()) if self.seen.get(uri) != v
        ]
        self.seen = versions
        return changed

    def poll(self, now: datetime | None = None) -> PollReport:
        """Land what changed, then start a run if one is due."""
        changed = self.changed_deliveries()
        landing = on_new_objects(changed, self.lake, self.alert, now) if changed else {}
        for item in landing.get("quarantined", []):
            self.seen.pop(item["key"], None)
        decision = start_refresh(self.lake, self.runner, now, self.debounce)
        return PollReport(len(changed), landing, decision)

    def watch(self, interval: float, once: bool = False) -> list[PollReport]:
        """Poll every `interval` seconds until interrupted (or until idle, `once`).

        With `once`, it polls until nothing is pending or waiting: the new
        deliveries are landed and refreshed (after their debounce), then it ends.
        """
        reports = []
        log.info(
            "watch: watching %s every %.0f s (debounce %.0f s); Ctrl-C to stop",
            self.lake.landing_prefix(),
            interval,
            self.debounce.total_seconds(),
        )
        while True:
            try:
                report = self.poll(datetime.now(UTC))
            except Exception as exc:
                if once:
                    raise
                # the batches stay pending: alert, and try again after a pause
                self.alert(
                    "Wattlake: refresh failed",
                    f"{exc}; the batches stay pending and are retried in "
                    f"{max(interval, RETRY_SECONDS):.0f} s",
                )
                time.sleep(max(interval, RETRY_SECONDS))
                continue
            reports.append(report)
            _log_poll(report)
            if once and report.decision.status in ("idle", "started"):
                return reports
            time.sleep(interval)


def _landed_before(lake: Lake, uri: str) -> bool:
    try:
        delivery = lake.parse_delivery(uri)
    except LakeError:
        return False
    return read_manifest(lake, delivery.batch_id) is not None


def _log_poll(report: PollReport) -> None:
    landing = report.landing
    if landing:
        log.info(
            "watch: %d deliveries new or rewritten: %d landed, %d unchanged, %d quarantined",
            report.changed,
            len(landing.get("landed", [])),
            len(landing.get("unchanged", [])),
            len(landing.get("quarantined", [])),
        )
    decision = report.decision
    if decision.status != "idle":
        log.info(
            "watch: refresh %s%s",
            decision.status,
            f" ({decision.detail})" if decision.detail else "",
        )
