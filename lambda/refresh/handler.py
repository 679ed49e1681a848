"""AWS Lambda entry point: an S3 ObjectCreated event on landing/ -> land the batch.

A deploy wrapper and nothing more: the logic is `wattlake.refresh`, shared with
`wattlake watch`. The function's environment sets WATTLAKE_LAKE (s3://bucket/prefix).
"""

from urllib.parse import unquote_plus

from wattlake.refresh import on_new_objects


def handler(event: dict, context: object) -> dict:
    keys = [
        unquote_plus(record["s3"]["object"]["key"])
        for record in event.get("Records", [])
    ]
    return on_new_objects(keys)
