"""The refresh: landing, quarantine, debounce and one run at a time.

The logic (wattlake.refresh) is tested on local lakes with a recording runner;
the Lambda (lambda/refresh/handler.py) end to end against a moto server over
HTTP: S3 for the lake, Step Functions running the stack's own state machine
definition, SNS delivering alerts to an SQS queue.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from wattlake.ingestion.manifest import read_manifest
from wattlake.refresh import (
    RefreshRun,
    on_new_objects,
    pending_batches,
    start_refresh,
)
from wattlake.storage import Lake

CSV = "meter_id,reading_start,interval_minutes,value,unit\nm1,2025-03-30T00:00:00Z,15,0.25,kWh\n"
T0 = datetime(2025, 3, 31, 0, 5, tzinfo=UTC)
# the refresh debounce window the Lambda test runs with
DEBOUNCE_SECONDS = 5


def readings_csv(day: str, meter: str = "m1") -> bytes:
    return gzip.compress(
        "meter_id,reading_start,interval_minutes,value,unit\n"
        f"{meter},{day}T00:00:00Z,15,0.25,kWh\n{meter},{day}T23:45:00Z,15,0.5,kWh\n".encode()
    )


def load_handler(project_dir: Path):
    spec = importlib.util.spec_from_file_location(
        "refresh_handler", project_dir / "lambda" / "refresh" / "handler.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


class RecordingRunner:
    """Starts nothing: records runs; a run is in progress until `finish`."""

    def __init__(self, delay: float = 0.0) -> None:
        self.started: list[RefreshRun] = []
        self.running: set[str] = set()
        self.delay = delay
        self.lock = threading.Lock()

    def start(self, run: RefreshRun) -> str:
        time.sleep(self.delay)
        with self.lock:
            self.started.append(run)
            self.running.add(run.run_id)
        return run.run_id

    def is_running(self, handle: str) -> bool:
        return handle in self.running

    def finish(self) -> None:
        self.running.clear()


def deliver(lake: Lake, batch_id: str, payload: bytes, fmt: str = "csv.gz") -> str:
    uri = lake.landing("metering", batch_id, fmt)
    lake.write_bytes(uri, payload, modified=T0)
    return uri


# ------------------------------------------------------------------ local lake
def test_new_objects_are_landed_once_and_others_ignored(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    uri = deliver(lake, "b1", gzip.compress(CSV.encode()))
    summary = on_new_objects([uri, f"{lake.root}/raw/readings/x.parquet"], lake, now=T0)
    assert summary["landed"] == [{"batch_id": "b1", "rows": 1}]
    # received when the delivery arrived, as `wattlake land` records it
    assert read_manifest(lake, "b1").received_at == T0.isoformat()
    assert len(summary["ignored"]) == 1
    [pending] = pending_batches(lake)
    assert (pending.batch_id, pending.first_date, pending.last_date) == (
        "b1",
        "2025-03-30",
        "2025-03-30",
    )
    assert on_new_objects([uri], lake)["unchanged"] == ["b1"]
    assert len(pending_batches(lake)) == 1  # keyed on the batch: still one


def test_undeliverable_batches_are_quarantined_with_a_reason_and_an_alert(
    tmp_path: Path,
) -> None:
    lake = Lake(str(tmp_path))
    alerts: list[tuple[str, str]] = []
    unreadable = deliver(lake, "broken", b"not gzip at all")
    unknown = f"{lake.root}/landing/metering/b2.xlsx"
    lake.write_bytes(unknown, b"whatever")
    good = deliver(lake, "b3", readings_csv("2025-03-29"))
    on_new_objects([good], lake, lambda *a: alerts.append(a))
    # the same batch id again with other bytes: the checksum does not match
    conflict = deliver(lake, "b3", readings_csv("2025-03-30"))

    summary = on_new_objects(
        [unreadable, unknown, conflict], lake, lambda *a: alerts.append(a)
    )
    quarantined = {Path(item["key"]).name: item for item in summary["quarantined"]}
    assert set(quarantined) == {"broken.csv.gz", "b2.xlsx", "b3.csv.gz"}
    assert "gzip" in quarantined["broken.csv.gz"]["reason"].lower()
    assert "unknown delivery format" in quarantined["b2.xlsx"]["reason"]
    assert "checksum" in quarantined["b3.csv.gz"]["reason"]
    for item in quarantined.values():
        assert not lake.exists(item["key"])  # moved out of landing/
        assert lake.exists(item["quarantined"])  # nothing lost
        reason = json.loads(lake.read_bytes(item["quarantined"] + ".reason.json"))
        assert reason["reason"] == item["reason"]
    assert len(alerts) == 3
    assert any("broken" in subject for subject, _ in alerts)
    # the good batch stays landed and pending once; the bad ones are not pending
    assert [b.batch_id for b in pending_batches(lake)] == ["b3"]
    assert read_manifest(lake, "broken").status == "rejected"
    # a re-delivered event for a quarantined delivery starts nothing, alerts nothing
    again = on_new_objects([unreadable], lake, lambda *a: alerts.append(a))
    assert again["unchanged"] == ["broken"] and len(alerts) == 3


def test_a_burst_is_debounced_into_one_run_and_a_run_is_never_doubled(
    tmp_path: Path,
) -> None:
    lake = Lake(str(tmp_path))
    runner = RecordingRunner()
    window = timedelta(minutes=5)
    for minute, (batch, day) in enumerate(
        [("b1", "2025-03-28"), ("b2", "2025-03-30"), ("b3", "2025-03-29")]
    ):
        now = T0 + timedelta(minutes=minute)
        on_new_objects([deliver(lake, batch, readings_csv(day))], lake, now=now)
        assert start_refresh(lake, runner, now, window).status == "waiting"
    assert runner.started == []
    decision = start_refresh(lake, runner, T0 + window, window)
    assert decision.status == "started"
    [run] = runner.started
    assert run.batch_ids == ("b1", "b2", "b3")
    assert (run.first_date, run.last_date) == ("2025-03-28", "2025-03-30")
    # the features of the day before (local days) to 56 days after (baselines)
    assert run.feature_span() == (date(2025, 3, 27), date(2025, 5, 25))
    assert pending_batches(lake) == []

    # a batch during the run waits; the same batch re-delivered adds nothing
    later = T0 + window + timedelta(minutes=1)
    on_new_objects([deliver(lake, "b4", readings_csv("2025-03-31"))], lake, now=later)
    on_new_objects([lake.landing("metering", "b1", "csv.gz")], lake, now=later)
    for minutes in (0, 10, 60):
        decision = start_refresh(
            lake, runner, later + timedelta(minutes=minutes), window
        )
        assert decision.status == "running"
    assert len(runner.started) == 1

    runner.finish()  # the run ended: the next check starts the waiting batch alone
    decision = start_refresh(lake, runner, later + window, window)
    assert decision.status == "started"
    assert runner.started[-1].batch_ids == ("b4",)
    runner.finish()
    assert start_refresh(lake, runner, later + 2 * window, window).status == "idle"


def test_concurrent_callers_start_exactly_one_run(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    on_new_objects([deliver(lake, "b1", readings_csv("2025-03-28"))], lake, now=T0)
    runner = RecordingRunner(delay=0.2)  # a slow start widens any race
    decisions = []
    barrier = threading.Barrier(6)

    def call() -> None:
        barrier.wait()
        decisions.append(start_refresh(lake, runner, T0 + timedelta(hours=1)).status)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runner.started) == 1
    assert sorted(decisions) == ["running"] * 5 + ["started"]


def test_a_run_whose_process_died_releases_its_lock(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    on_new_objects([deliver(lake, "b1", readings_csv("2025-03-28"))], lake, now=T0)
    import socket

    dead = RefreshRun(
        "refresh-dead",
        ("b0",),
        None,
        None,
        T0.isoformat(),
        f"{socket.gethostname()}:999999",
    )
    lake.write_bytes(lake.refresh_lock(), dead.to_json())
    runner = RecordingRunner()
    assert start_refresh(lake, runner, T0 + timedelta(hours=1)).status == "started"


# ------------------------------------------------------ the Lambda against moto
def state_machine_definition(project_dir: Path) -> dict:
    """The state machine of infra/template.yaml, its substitutions filled in."""
    from cfnlint.decode import decode

    template, errors = decode(str(project_dir / "infra" / "template.yaml"))
    assert not errors, errors
    machine = template["Resources"]["RefreshStateMachine"]["Properties"]
    text = json.dumps(machine["Definition"])
    for name in machine["DefinitionSubstitutions"]:
        text = text.replace("${" + name + "}", f"test-{name}")
    return json.loads(text)


def create_state_machine(sfn, project_dir: Path, name: str) -> str:
    """The stack's state machine on the moto server; returns its ARN."""
    return sfn.create_state_machine(
        name=name[:80],
        definition=json.dumps(state_machine_definition(project_dir)),
        roleArn="arn:aws:iam::123456789012:role/wattlake-state-machine",
    )["stateMachineArn"]


def s3_event(bucket: str, key: str) -> dict:
    """An EventBridge "Object Created" event, as S3 sends it."""
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": bucket}, "object": {"key": key}},
    }


SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@pytest.mark.aws
def test_lambda_lands_debounces_quarantines_and_starts_one_execution(
    project_dir: Path,
    s3_endpoint: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)  # Step Functions, SNS, SQS
    sfn = boto3.client("stepfunctions")
    machine = create_state_machine(sfn, project_dir, f"refresh-{s3_bucket}")
    topic = boto3.client("sns").create_topic(Name=f"alerts-{s3_bucket}")["TopicArn"]
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName=f"alerts-{s3_bucket}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("WATTLAKE_LAKE", f"s3://{s3_bucket}/lake")
    monkeypatch.setenv("WATTLAKE_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("WATTLAKE_STATE_MACHINE_ARN", machine)
    monkeypatch.setenv("WATTLAKE_ALERT_TOPIC_ARN", topic)
    # long enough that the burst below always falls inside it, even on a
    # loaded machine (at 1 s, two parallel workers and a build beside them
    # once let it expire between two arrivals)
    monkeypatch.setenv("WATTLAKE_REFRESH_DEBOUNCE_SECONDS", str(DEBOUNCE_SECONDS))
    lake = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    handler = load_handler(project_dir)

    def arrive(batch: str, payload: bytes) -> dict:
        lake.write_bytes(lake.landing("metering", batch, "csv.gz"), payload)
        return handler(
            s3_event(s3_bucket, f"lake/landing/metering/{batch}.csv.gz"), None
        )

    def executions() -> list[dict]:
        return sfn.list_executions(stateMachineArn=machine)["executions"]

    # a burst: two batches within the window start nothing yet
    first = arrive("b1", readings_csv("2025-03-28"))
    assert first["landed"] == [{"batch_id": "b1", "rows": 2}]
    assert first["refresh"]["status"] == "waiting"
    assert arrive("b2", readings_csv("2025-03-29"))["refresh"]["status"] == "waiting"
    # the event for b1 delivered again: nothing new
    again = handler(s3_event(s3_bucket, "lake/landing/metering/b1.csv.gz"), None)
    assert again["unchanged"] == ["b1"] and again["landed"] == []
    assert executions() == []

    # the window is over: the schedule's next call starts one run
    time.sleep(DEBOUNCE_SECONDS + 0.1)
    swept = handler(SCHEDULED, None)
    assert swept["refresh"]["status"] == "started"
    [execution] = executions()
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert described["status"] == "RUNNING"
    assert json.loads(described["input"]) == {
        "run_id": swept["refresh"]["run"]["run_id"],
        "lake": f"s3://{s3_bucket}/lake",
        "batch_ids": ["b1", "b2"],
        "has_dates": True,
        # the day before the readings' dates (local days straddle them) to
        # the last of the 56 days whose baselines hold them
        "start_date": "2025-03-27",
        "end_date": "2025-05-24",
    }

    # while it runs: a new batch waits, a bad one is quarantined and alerted
    assert arrive("b3", readings_csv("2025-03-30"))["refresh"]["status"] == "running"
    bad = arrive("b4", b"\x1f\x8b truncated")
    assert [item["batch_id"] for item in bad["quarantined"]] == ["b4"]
    assert not lake.exists(lake.landing("metering", "b4", "csv.gz"))
    assert lake.exists(f"{lake.root}/_quarantine/metering/b4.csv.gz")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    [alert] = [json.loads(m["Body"]) for m in messages]
    assert "b4" in alert["Subject"] and "quarantine" in alert["Message"]
    time.sleep(DEBOUNCE_SECONDS + 0.1)
    assert handler(SCHEDULED, None)["refresh"]["status"] == "running"
    assert len(executions()) == 1  # never a second run while one is in progress

    sfn.stop_execution(executionArn=execution["executionArn"])
    follow_up = handler(SCHEDULED, None)
    assert follow_up["refresh"]["status"] == "started"
    assert follow_up["refresh"]["run"]["batch_ids"] == ["b3"]
    assert len(executions()) == 2


@pytest.mark.aws
def test_a_cloud_run_waits_for_the_run_in_progress_then_follows_its_own(
    project_dir: Path,
    s3_endpoint: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    from wattlake.refresh.aws import StepFunctionsRunner, run_in_the_cloud

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    sfn = boto3.client("stepfunctions")
    machine = create_state_machine(sfn, project_dir, f"cloud-{s3_bucket}")
    lake = Lake(f"s3://{s3_bucket}/lake", s3_endpoint)
    lake.write_bytes(
        lake.landing("metering", "b1", "csv.gz"), readings_csv("2025-03-28")
    )
    on_new_objects(["lake/landing/metering/b1.csv.gz"], lake)
    runner = StepFunctionsRunner(machine, lake)
    lambdas_run = start_refresh(lake, runner, debounce=timedelta(0)).run
    assert lambdas_run is not None

    done = threading.Event()

    def end_each_run_soon() -> None:  # moto's executions run until stopped
        while not done.wait(0.4):
            for execution in sfn.list_executions(
                stateMachineArn=machine, statusFilter="RUNNING"
            )["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"])

    stopper = threading.Thread(target=end_each_run_soon)
    stopper.start()
    try:
        outcome = run_in_the_cloud(lake, runner, poll_seconds=0.2)
    finally:
        done.set()
        stopper.join()
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 2  # the Lambda's run, then (after it) this one
    assert outcome["execution"] != lambdas_run.handle
    assert outcome["status"] == "ABORTED"
    sent = json.loads(
        sfn.describe_execution(executionArn=outcome["execution"])["input"]
    )
    # nothing pending any more: the whole landed span, widened as above
    assert (sent["batch_ids"], sent["start_date"], sent["end_date"]) == (
        [],
        "2025-03-27",
        "2025-05-23",
    )
