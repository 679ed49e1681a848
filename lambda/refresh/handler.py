"""AWS Lambda entry point: S3 "Object Created" on landing/, or the schedule.

A deploy wrapper and nothing more: the logic is `wattlake.refresh` (landing,
quarantine, debounce, one run at a time), shared with `wattlake watch`. The
environment is described in `wattlake.refresh.aws`.
"""

import logging

from wattlake.refresh.aws import handle_event

logging.getLogger().setLevel(logging.INFO)


def handler(event: dict, context: object) -> dict:
    return handle_event(event)
