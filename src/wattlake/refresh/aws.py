"""The refresh on AWS: S3 events in, Step Functions runs out, SNS alerts.

`handle_event` is the whole Lambda (`lambda/refresh/handler.py` only calls
it). It takes three kinds of event:

- EventBridge "Object Created" events from the lake bucket (`detail.object.key`);
- S3 notification records (`Records[].s3.object.key`), the older wiring;
- the every-minute schedule (no object), which only checks whether pending
  batches are due, so a burst's run starts once its debounce window is over
  even when no further delivery arrives, and batches that arrived during a
  run start the next one when it ends.

The function's environment: `WATTLAKE_LAKE` (s3://bucket/prefix),
`WATTLAKE_STATE_MACHINE_ARN`, `WATTLAKE_ALERT_TOPIC_ARN`, optionally
`WATTLAKE_REFRESH_DEBOUNCE_SECONDS` (default 300).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus

from wattlake.refresh import (
    RefreshRun,
    debounce_from_environment,
    lake_from_environment,
    log_alert,
    refresh,
    start_refresh,
)
from wattlake.storage import Lake, LakeError

log = logging.getLogger(__name__)

# Step Functions execution names: 1-80 characters
_NAME_LIMIT = 80


@dataclass
class StepFunctionsRunner:
    """Starts the refresh state machine; a run is in progress while it is RUNNING."""

    state_machine_arn: str
    lake: Lake
    _client: Any = field(default=None, repr=False)

    @property
    def client(self) -> Any:
        """The Step Functions client (created on first use)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("stepfunctions")
        return self._client

    def execution_input(self, run: RefreshRun) -> dict:
        """What the state machine receives: the run, its lake and Spark dates.

        The dates are those the Spark step recomputes (`RefreshRun.feature_span`).
        """
        span = run.feature_span()
        return {
            "run_id": run.run_id,
            "lake": self.lake.root,
            "batch_ids": list(run.batch_ids),
            "has_dates": span is not None,
            "start_date": span[0].isoformat() if span else "",
            "end_date": span[1].isoformat() if span else "",
        }

    def start(self, run: RefreshRun) -> str:
        """Start an execution named after the run; return its ARN."""
        payload = json.dumps(self.execution_input(run))
        try:
            response = self.client.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=run.run_id[:_NAME_LIMIT],
                input=payload,
            )
        except self.client.exceptions.ExecutionAlreadyExists:
            # the same run started before (a retried invocation): same execution
            arn = self.state_machine_arn.replace(":stateMachine:", ":execution:")
            return f"{arn}:{run.run_id[:_NAME_LIMIT]}"
        return response["executionArn"]

    def is_running(self, handle: str) -> bool:
        """Whether the execution is still running."""
        try:
            status = self.client.describe_execution(executionArn=handle)["status"]
        except self.client.exceptions.ExecutionDoesNotExist:
            return False
        return status in ("RUNNING", "PENDING_REDRIVE")


@dataclass
class SnsAlert:
    """Publishes alerts to the stack's SNS topic (and logs them)."""

    topic_arn: str
    _client: Any = field(default=None, repr=False)

    def __call__(self, subject: str, message: str) -> None:
        """Log the alert and publish it to the topic."""
        log_alert(subject, message)
        if self._client is None:
            import boto3

            self._client = boto3.client("sns")
        # SNS subjects: at most 100 characters
        self._client.publish(
            TopicArn=self.topic_arn, Subject=subject[:100], Message=message
        )


def object_keys(event: dict) -> list[str]:
    """The object keys an S3 or EventBridge event names (none for the schedule)."""
    keys = []
    detail = event.get("detail")
    if isinstance(detail, dict) and "object" in detail:
        keys.append(detail["object"]["key"])
    for record in event.get("Records", []):
        keys.append(record["s3"]["object"]["key"])
    # S3 notifications URL-encode keys; batch ids never hold '+' or '%'
    return [unquote_plus(key) for key in keys]


def handle_event(
    event: dict,
    lake: Lake | None = None,
    debounce: timedelta | None = None,
) -> dict:
    """Land what the event names, then start a refresh run if one is due."""
    lake = lake or lake_from_environment()
    machine = os.environ.get("WATTLAKE_STATE_MACHINE_ARN")
    topic = os.environ.get("WATTLAKE_ALERT_TOPIC_ARN")
    if not machine:
        raise LakeError("WATTLAKE_STATE_MACHINE_ARN is not set: nothing to start")
    runner = StepFunctionsRunner(machine, lake)
    alert = SnsAlert(topic) if topic else log_alert
    report = refresh(
        object_keys(event),
        lake,
        runner,
        alert,
        debounce=debounce_from_environment() if debounce is None else debounce,
    )
    result = report.as_dict()
    log.info("refresh: %s", json.dumps(result, default=str))
    return result


def state_machine_arn(region: str | None = None) -> str:
    """`WATTLAKE_STATE_MACHINE_ARN`, else the output of the stack `WATTLAKE_STACK`."""
    arn = os.environ.get("WATTLAKE_STATE_MACHINE_ARN")
    if arn:
        return arn
    import boto3

    stack = os.environ.get("WATTLAKE_STACK", "wattlake")
    cfn = boto3.client("cloudformation", region_name=region)
    try:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except cfn.exceptions.ClientError as exc:
        raise LakeError(
            f"no WATTLAKE_STATE_MACHINE_ARN and no stack {stack!r} to read it from "
            f"({exc}); deploy first (wattlake deploy) or set WATTLAKE_STACK"
        ) from exc
    for output in described.get("Outputs", []):
        if output["OutputKey"] == "StateMachineArn":
            return output["OutputValue"]
    raise LakeError(f"stack {stack!r} has no StateMachineArn output")


def run_in_the_cloud(
    lake: Lake, runner: StepFunctionsRunner, poll_seconds: float = 15.0
) -> dict:
    """`wattlake run --target athena`: one state machine run, followed to its end.

    The run takes the pending batches, or (with none) every landed reading
    date; a run already in progress is waited for first, never doubled.
    Each state the execution enters is logged.
    """
    decision = start_refresh(lake, runner, debounce=timedelta(0), everything=True)
    while decision.status == "running":
        log.info("cloud run: %s; waiting for it to end", decision.detail)
        time.sleep(poll_seconds)
        decision = start_refresh(lake, runner, debounce=timedelta(0), everything=True)
    run = decision.run
    if run is None:
        raise LakeError(f"cloud run: could not start a run ({decision.status})")
    log.info(
        "cloud run: execution %s (%s to %s)",
        run.handle,
        run.first_date or "-",
        run.last_date or "-",
    )
    client = runner.client
    seen = 0
    while True:
        events = client.get_execution_history(executionArn=run.handle, maxResults=1000)[
            "events"
        ]
        for event in events[seen:]:
            entered = event.get("stateEnteredEventDetails")
            if entered:
                log.info("cloud run: %s", entered["name"])
        seen = len(events)
        status = client.describe_execution(executionArn=run.handle)["status"]
        if status != "RUNNING":
            break
        time.sleep(poll_seconds)
    return {"run_id": run.run_id, "execution": run.handle, "status": status}


def publish_folder(folder: str, uri: str) -> int:
    """Upload every file under a local folder to `s3://bucket/prefix/` (the docs site).

    Returns:
        The number of files uploaded.

    """
    import mimetypes
    from pathlib import Path

    import boto3

    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    root = Path(folder)
    if not root.is_dir():
        raise LakeError(f"publish: {folder} is not a folder")
    s3 = boto3.client("s3")
    count = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = prefix.rstrip("/") + "/" + path.relative_to(root).as_posix()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.upload_file(
            str(path), bucket, key.lstrip("/"), ExtraArgs={"ContentType": content_type}
        )
        count += 1
    log.info("publish: %d files from %s to %s", count, folder, uri)
    return count
