"""The anomaly features: the Spark job (`job.py`) and its transforms (`transforms.py`).

How far the features of one UTC date reach into the readings, known without
Spark (the refresh Lambda widens its dates with them).
"""

from __future__ import annotations

from datetime import date, timedelta

PROFILE_WEEKS = 8
TRAILING_DAYS = 28
DRIFT_DAYS = 14
LEVEL_DAYS = 7
# days of readings before the first date asked for that the features need
# (so a reading is in the baselines of the features of as many days after it)
HISTORY_DAYS = max(7 * PROFILE_WEEKS, LEVEL_DAYS + TRAILING_DAYS)
# and after the last: an hour's day features are those of its site-local day,
# which reaches up to 14 hours into the next UTC date
FOLLOWING_DAYS = 1


def reading_window(
    start: date | None, end: date | None
) -> tuple[date | None, date | None]:
    """The reading dates the features of [start, end] read (open ends stay open).

    HISTORY_DAYS before `start` (the trailing statistics) to FOLLOWING_DAYS
    after `end` (the site-local days of the last date's late hours).
    """
    return (
        None if start is None else start - timedelta(days=HISTORY_DAYS),
        None if end is None else end + timedelta(days=FOLLOWING_DAYS),
    )


def feature_reach(first: date, last: date) -> tuple[date, date]:
    """The dates whose features read readings of [first, last]: `reading_window` turned round."""
    return (
        first - timedelta(days=FOLLOWING_DAYS),
        last + timedelta(days=HISTORY_DAYS),
    )
