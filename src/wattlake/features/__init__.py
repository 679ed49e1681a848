"""The anomaly features: the Spark job (`job.py`) and its transforms (`transforms.py`).

How far the features of one UTC date reach into the readings, known without
Spark (the refresh Lambda widens its dates with them):
"""

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
