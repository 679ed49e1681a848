"""What runs when new data arrives: the shared logic of the Lambda and `wattlake watch`.

Two steps, each safe to repeat:

1. `on_new_objects` lands the deliveries named by new object keys, with
   exactly the landing code `wattlake land` uses. Each newly landed batch is
   recorded as *pending* (`_refresh/pending/<batch_id>.json`, keyed on the
   batch, so a re-delivered event adds nothing). A delivery that cannot be
   landed (unreadable, unknown source or format, or a batch id landed before
   with another checksum) is moved to `_quarantine/` beside a
   `.reason.json`, and an alert goes out.
2. `start_refresh` decides whether to start a run of the pipeline for the
   pending batches: not while a run is in progress (at most one at a time,
   held by `_refresh/current.json`, created atomically), and not before the
   oldest pending batch has waited `debounce` (a burst of batches within that
   window starts one run). The run is started through a `Runner`: the AWS
   Step Functions state machine, or the local DAG for `wattlake watch`.

Batches that arrive while a run is in progress stay pending; the next
`start_refresh` after the run ends takes them (the Lambda is also invoked
every minute by a schedule, `wattlake watch` checks on every poll).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from wattlake.features import feature_reach
from wattlake.ingestion.land import LandingConflict, land_delivery
from wattlake.ingestion.manifest import LANDED, REJECTED, Manifest, read_manifest
from wattlake.storage import Lake, LakeError

log = logging.getLogger(__name__)

DEBOUNCE = timedelta(minutes=5)
DEBOUNCE_VARIABLE = "WATTLAKE_REFRESH_DEBOUNCE_SECONDS"
# a lock whose runner has not returned a handle yet, from another host
STARTING = timedelta(minutes=15)

Alert = Callable[[str, str], None]  # (subject, message)


def log_alert(subject: str, message: str) -> None:
    """The local alert: an error in the log."""
    log.error("ALERT %s: %s", subject, message)


def lake_from_environment() -> Lake:
    """The lake named by `WATTLAKE_LAKE` (and `WATTLAKE_S3_ENDPOINT_URL`)."""
    root = os.environ.get("WATTLAKE_LAKE")
    if not root:
        raise LakeError("WATTLAKE_LAKE is not set: the refresh needs to know its lake")
    return Lake(root, os.environ.get("WATTLAKE_S3_ENDPOINT_URL") or None)


def debounce_from_environment() -> timedelta:
    """`WATTLAKE_REFRESH_DEBOUNCE_SECONDS`, else five minutes."""
    value = os.environ.get(DEBOUNCE_VARIABLE, "").strip()
    if not value:
        return DEBOUNCE
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise LakeError(
            f"environment variable {DEBOUNCE_VARIABLE}: expected seconds >= 0, "
            f"got {value!r}"
        )
    return timedelta(seconds=seconds)


# ------------------------------------------------------------------- landing
@dataclass(frozen=True)
class PendingBatch:
    """A landed batch waiting for a refresh run."""

    batch_id: str
    table: str
    landed_at: str  # ISO 8601 UTC: when the refresh landed it (debounce clock)
    first_date: str | None = None  # UTC reading dates of a readings batch
    last_date: str | None = None

    def to_json(self) -> bytes:
        """Serialise, keys sorted."""
        return (json.dumps(asdict(self), sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, payload: bytes) -> PendingBatch:
        """Read what `to_json` wrote."""
        return cls(**json.loads(payload))


def on_new_objects(
    keys: list[str],
    lake: Lake | None = None,
    alert: Alert = log_alert,
    now: datetime | None = None,
) -> dict:
    """Land every delivery among `keys` (S3 object keys, or paths of a local lake).

    Keys outside `landing/` are ignored. A delivery already landed with the
    same content is skipped, so a re-delivered event changes nothing. Each
    batch's `received_at` is its object's modification time, as in `land`.
    A delivery that cannot be landed is quarantined and `alert` is called
    once for it.

    Returns:
        A summary: batches landed (with rows), unchanged, quarantined (with
        the reason) and ignored keys.

    """
    lake = lake or lake_from_environment()
    now = now or datetime.now(UTC)
    summary: dict = {"landed": [], "unchanged": [], "quarantined": [], "ignored": []}
    for key in keys:
        uri = lake.uri_for_key(key) if lake.is_s3 else key
        if not uri.startswith(lake.landing_prefix() + "/"):
            summary["ignored"].append({"key": key, "reason": "not under landing/"})
            continue
        try:
            delivery = lake.parse_delivery(uri)
        except LakeError as exc:  # unknown format, bad batch id, wrong folder
            _quarantine(lake, uri, None, str(exc), alert, summary, now)
            continue
        try:
            manifest = land_delivery(lake, delivery)
        except FileNotFoundError:
            # a re-delivered event for a delivery quarantined since
            if read_manifest(lake, delivery.batch_id) is not None:
                summary["unchanged"].append(delivery.batch_id)
            else:
                summary["ignored"].append({"key": key, "reason": "no such object"})
            continue
        except LandingConflict as exc:  # wrong checksum for a known batch id
            _quarantine(lake, uri, delivery.batch_id, str(exc), alert, summary, now)
            continue
        if manifest is None:  # the same bytes were landed (or rejected) before
            previous = read_manifest(lake, delivery.batch_id)
            if previous is not None and previous.status == REJECTED:
                _quarantine(
                    lake,
                    uri,
                    delivery.batch_id,
                    previous.reason or "",
                    None,
                    summary,
                    now,
                )
                continue
            # nothing new: a run already took it, or it was landed by hand
            # (`wattlake land`, whose user runs the pipeline too)
            summary["unchanged"].append(delivery.batch_id)
        elif manifest.status == REJECTED:
            _quarantine(
                lake, uri, delivery.batch_id, manifest.reason or "", alert, summary, now
            )
        else:
            _ensure_pending(lake, manifest, now)
            summary["landed"].append(
                {"batch_id": delivery.batch_id, "rows": manifest.rows}
            )
            log.info("refresh: landed %s (%d rows)", delivery.batch_id, manifest.rows)
    return summary


def _ensure_pending(lake: Lake, manifest: Manifest, now: datetime) -> None:
    """Record a newly landed batch as pending (once: keyed on the batch)."""
    if manifest.status != LANDED or lake.exists(lake.refresh_taken(manifest.batch_id)):
        return
    pending = PendingBatch(
        batch_id=manifest.batch_id,
        table=manifest.table,
        landed_at=now.astimezone(UTC).isoformat(),
        first_date=_utc_date(manifest.time_span_start),
        last_date=_utc_date(manifest.time_span_end),
    )
    lake.create(lake.refresh_pending(manifest.batch_id), pending.to_json())


def _quarantine(
    lake: Lake,
    uri: str,
    batch_id: str | None,
    reason: str,
    alert: Alert | None,
    summary: dict,
    now: datetime,
) -> None:
    target = lake.quarantine(uri)
    record = {
        "batch_id": batch_id,
        "delivery": uri,
        "quarantined": target,
        "reason": reason,
        "quarantined_at": now.astimezone(UTC).isoformat(),
    }
    lake.write_bytes(
        target + ".reason.json", (json.dumps(record, indent=2) + "\n").encode()
    )
    lake.move(uri, target)
    summary["quarantined"].append(
        {"batch_id": batch_id, "key": uri, "quarantined": target, "reason": reason}
    )
    log.error("refresh: quarantined %s -> %s: %s", uri, target, reason)
    if alert is not None:
        alert(
            f"Wattlake: delivery quarantined ({batch_id or uri.rsplit('/', 1)[-1]})",
            f"{uri} could not be landed and was moved to {target}.\nReason: {reason}",
        )


def _utc_date(moment: str | None) -> str | None:
    if not moment:
        return None
    return datetime.fromisoformat(moment).astimezone(UTC).date().isoformat()


# ------------------------------------------------------------------- refresh
@dataclass(frozen=True)
class RefreshRun:
    """One run of the pipeline for the batches it took."""

    run_id: str
    batch_ids: tuple[str, ...]
    first_date: str | None  # UTC reading dates the new readings fall on
    last_date: str | None
    started_at: str
    owner: str = ""  # host:pid of the process that took the lock
    handle: str = ""  # the runner's id of the run (an execution ARN, a host:pid)

    def to_json(self) -> bytes:
        """Serialise, keys sorted."""
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, payload: bytes) -> RefreshRun:
        """Read what `to_json` wrote."""
        fields = json.loads(payload)
        fields["batch_ids"] = tuple(fields["batch_ids"])
        return cls(**fields)

    def feature_span(self) -> tuple[date, date] | None:
        """The UTC dates the Spark features are recomputed for (None without readings).

        Every date whose features the new readings change (`feature_reach`):
        from the day before the first (a site's local day straddles two UTC
        dates, and its daily features ride on the hourly rows of both) to
        HISTORY_DAYS after the last (a reading is in the baselines of the features of the days
        after it). New readings at the lake's end cost nothing more (the job
        computes only dates with readings); a late batch from weeks ago
        recomputes the weeks since, as a run of every date would.
        """
        if not self.first_date or not self.last_date:
            return None
        return feature_reach(
            date.fromisoformat(self.first_date), date.fromisoformat(self.last_date)
        )


class Runner(Protocol):
    """Starts the pipeline for a refresh run and tells whether one still runs."""

    def start(self, run: RefreshRun) -> str:
        """Start (or, locally, run) the pipeline; return the run's handle."""
        ...

    def is_running(self, handle: str) -> bool:
        """Whether the run with this handle is still in progress."""
        ...


@dataclass(frozen=True)
class RefreshDecision:
    """What `start_refresh` did: idle, waiting, running or started."""

    status: str
    pending: int = 0
    run: RefreshRun | None = None
    detail: str = ""

    def as_dict(self) -> dict:
        """For a Lambda's response and the logs."""
        out: dict = {"status": self.status, "pending": self.pending}
        if self.run is not None:
            out["run"] = json.loads(self.run.to_json())
        if self.detail:
            out["detail"] = self.detail
        return out


def pending_batches(lake: Lake) -> list[PendingBatch]:
    """The landed batches no run has taken yet, oldest first."""
    batches = []
    for uri in lake.list(lake.refresh_pending()):
        try:
            batches.append(PendingBatch.from_json(lake.read_bytes(uri)))
        except FileNotFoundError:  # taken meanwhile
            continue
    return sorted(batches, key=lambda b: (b.landed_at, b.batch_id))


def start_refresh(
    lake: Lake,
    runner: Runner,
    now: datetime | None = None,
    debounce: timedelta = DEBOUNCE,
    everything: bool = False,
) -> RefreshDecision:
    """Start one run for the pending batches, if none runs and the burst is over.

    Safe to call at any time and from several places at once: the run lock is
    created atomically, so two callers never start two runs. With
    `everything` (`wattlake run --target athena`), a run starts even with
    nothing pending, over every reading date landed so far.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    current = _current_run(lake)
    if current is not None:
        if _in_progress(current, runner, now):
            waiting = len(lake.list(lake.refresh_pending()))
            return RefreshDecision(
                "running", waiting, current, "a run is in progress; batches wait"
            )
        log.warning("refresh: run %s is over; releasing its lock", current.run_id)
        lake.delete(lake.refresh_lock())
    pending = pending_batches(lake)
    if not pending and not everything:
        return RefreshDecision("idle")
    if pending and not everything:
        oldest = datetime.fromisoformat(pending[0].landed_at)
        if now - oldest < debounce:
            ready = (oldest + debounce).isoformat()
            return RefreshDecision(
                "waiting", len(pending), None, f"debouncing until {ready}"
            )
    run = _new_run(pending, now, _landed_span(lake) if everything else None)
    if not lake.create(lake.refresh_lock(), run.to_json()):
        return RefreshDecision(
            "running", len(pending), _current_run(lake), "another caller started a run"
        )
    log.info(
        "refresh: starting %s for %d batches (reading dates %s to %s)",
        run.run_id,
        len(run.batch_ids),
        run.first_date or "-",
        run.last_date or "-",
    )
    try:
        handle = runner.start(run)
    except BaseException:
        lake.delete(lake.refresh_lock())  # the batches stay pending for the next try
        raise
    run = RefreshRun(**{**asdict(run), "handle": handle})
    lake.write_bytes(lake.refresh_run(run.run_id), run.to_json())
    for batch in pending:
        lake.write_bytes(lake.refresh_taken(batch.batch_id), run.to_json())
        lake.delete(lake.refresh_pending(batch.batch_id))
    if runner.is_running(handle):
        lake.write_bytes(lake.refresh_lock(), run.to_json())
    else:  # the runner ran it to the end already (the local DAG)
        lake.delete(lake.refresh_lock())
    return RefreshDecision("started", len(pending), run)


def _landed_span(lake: Lake) -> tuple[str | None, str | None]:
    """The first and last UTC reading date of every landed readings batch."""
    firsts, lasts = [], []
    for uri in lake.list(lake.manifests_prefix()):
        manifest = Manifest.from_json(lake.read_bytes(uri))
        if manifest.status == LANDED and manifest.time_span_start:
            firsts.append(_utc_date(manifest.time_span_start))
            lasts.append(_utc_date(manifest.time_span_end))
    return (min(firsts), max(lasts)) if firsts else (None, None)


def _current_run(lake: Lake) -> RefreshRun | None:
    try:
        return RefreshRun.from_json(lake.read_bytes(lake.refresh_lock()))
    except FileNotFoundError:
        return None


def _in_progress(run: RefreshRun, runner: Runner, now: datetime) -> bool:
    """Whether the run holding the lock still runs.

    Before its runner returned a handle, the lock names the process that took
    it: on this host, that process must be alive; elsewhere, the run counts as
    starting for `STARTING` after it took the lock.
    """
    if run.handle:
        return runner.is_running(run.handle)
    host, _, pid = run.owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return process_alive(int(pid))
    return now - datetime.fromisoformat(run.started_at) < STARTING


def process_alive(pid: int) -> bool:
    """Whether a process of this host is alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner() -> str:
    """The calling process, as a run's owner: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _new_run(
    pending: list[PendingBatch],
    now: datetime,
    span: tuple[str | None, str | None] | None = None,
) -> RefreshRun:
    firsts = [b.first_date for b in pending if b.first_date]
    lasts = [b.last_date for b in pending if b.last_date]
    if span is not None and span[0]:
        firsts.append(span[0])
        lasts.append(span[1])
    batch_ids = tuple(sorted(b.batch_id for b in pending))
    digest = hashlib.sha256("\n".join(batch_ids).encode()).hexdigest()[:8]
    return RefreshRun(
        run_id=f"refresh-{now:%Y%m%dT%H%M%SZ}-{digest}",
        batch_ids=batch_ids,
        first_date=min(firsts) if firsts else None,
        last_date=max(lasts) if lasts else None,
        started_at=now.isoformat(),
        owner=owner(),
    )


@dataclass
class RefreshReport:
    """One pass of the refresh: what landed and what was decided."""

    landing: dict = field(default_factory=dict)
    decision: RefreshDecision = field(default_factory=lambda: RefreshDecision("idle"))

    def as_dict(self) -> dict:
        """For a Lambda's response."""
        return {**self.landing, "refresh": self.decision.as_dict()}


def refresh(
    keys: list[str],
    lake: Lake,
    runner: Runner,
    alert: Alert = log_alert,
    now: datetime | None = None,
    debounce: timedelta = DEBOUNCE,
) -> RefreshReport:
    """Land what `keys` name, then start a run if one is due (the Lambda's whole job)."""
    now = now or datetime.now(UTC)
    landing = on_new_objects(keys, lake, alert, now) if keys else {}
    decision = start_refresh(lake, runner, now, debounce)
    return RefreshReport(landing, decision)
