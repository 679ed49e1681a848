"""What runs when new data arrives: the shared logic of the Lambda and `wattlake watch`.

`on_new_objects` lands the deliveries named by new object keys, with exactly
the landing code the CLI uses. Starting the downstream refresh (the AWS state
machine, or the local DAG for `wattlake watch`) builds on this.
"""

from __future__ import annotations

import logging
import os

from wattlake.ingestion.land import LandingConflict, land_delivery
from wattlake.ingestion.manifest import REJECTED
from wattlake.storage import Lake, LakeError

log = logging.getLogger(__name__)


def lake_from_environment() -> Lake:
    """The lake named by `WATTLAKE_LAKE` (and `WATTLAKE_S3_ENDPOINT_URL`)."""
    root = os.environ.get("WATTLAKE_LAKE")
    if not root:
        raise LakeError("WATTLAKE_LAKE is not set: the refresh needs to know its lake")
    return Lake(root, os.environ.get("WATTLAKE_S3_ENDPOINT_URL") or None)


def on_new_objects(keys: list[str], lake: Lake | None = None) -> dict:
    """Land every delivery among `keys` (S3 object keys, or paths of a local lake).

    Keys outside `landing/` are ignored. A delivery already landed with the
    same content is skipped, so a re-delivered event changes nothing. Each
    batch's `received_at` is its object's modification time, as in `land`.

    Returns:
        A summary: batches landed (with rows), skipped, rejected and ignored keys.

    """
    lake = lake or lake_from_environment()
    summary: dict = {"landed": [], "unchanged": [], "rejected": [], "ignored": []}
    for key in keys:
        uri = lake.uri_for_key(key) if lake.is_s3 else key
        try:
            delivery = lake.parse_delivery(uri)
        except LakeError as exc:
            summary["ignored"].append({"key": key, "reason": str(exc)})
            continue
        try:
            manifest = land_delivery(lake, delivery)
        except LandingConflict as exc:
            summary["rejected"].append(
                {"batch_id": delivery.batch_id, "reason": str(exc)}
            )
            log.error("refresh: %s", exc)
            continue
        if manifest is None:
            summary["unchanged"].append(delivery.batch_id)
        elif manifest.status == REJECTED:
            summary["rejected"].append(
                {"batch_id": delivery.batch_id, "reason": manifest.reason}
            )
            log.error("refresh: rejected %s: %s", delivery.uri, manifest.reason)
        else:
            summary["landed"].append(
                {"batch_id": delivery.batch_id, "rows": manifest.rows}
            )
            log.info("refresh: landed %s (%d rows)", delivery.batch_id, manifest.rows)
    return summary
