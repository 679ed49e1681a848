"""Anomaly features as pure `DataFrame -> DataFrame` functions, chained with `.transform`.

Rolling statistics are O(n): the series is gap-filled to one row per meter and
day, running sums are taken once, and a trailing window is the difference of
two running sums (`lag`), never a row-based sliding frame.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

TRAILING_DAYS = 28
MIN_TRAILING_DAYS = 7


def daily_energy(readings: DataFrame) -> DataFrame:
    """Clean readings -> one row per meter and UTC reading date with its kWh."""
    return readings.groupBy("meter_id", "reading_date").agg(
        F.sum("energy_kwh").alias("energy_kwh"),
        F.count(F.lit(1)).cast("int").alias("interval_count"),
    )


def gap_filled(daily: DataFrame) -> DataFrame:
    """One row per meter for every date between its first and last day.

    Days without readings get null energy, so positions in the ordered series
    are days and a difference of running sums spans a fixed number of days.
    """
    spans = daily.groupBy("meter_id").agg(
        F.min("reading_date").alias("first_date"),
        F.max("reading_date").alias("last_date"),
    )
    calendar = spans.select(
        "meter_id",
        F.explode(
            F.sequence("first_date", "last_date", F.expr("interval 1 day"))
        ).alias("reading_date"),
    )
    return calendar.join(daily, ["meter_id", "reading_date"], "left")


def with_trailing_zscore(daily: DataFrame, days: int = TRAILING_DAYS) -> DataFrame:
    """Add trailing mean, standard deviation and today's z-score against them.

    The trailing window is the previous `days` days, today excluded.
    Needs a gap-filled series (see `gap_filled`). The z-score is null until the
    meter has `MIN_TRAILING_DAYS` days of history, and when the history is flat.
    """
    ordered = Window.partitionBy("meter_id").orderBy("reading_date")
    running = (
        Window.partitionBy("meter_id")
        .orderBy("reading_date")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    value = F.col("energy_kwh")
    present = value.isNotNull().cast("long")
    with_running = (
        daily.withColumn("_n", F.sum(present).over(running))
        .withColumn("_s", F.sum(F.coalesce(value, F.lit(0.0))).over(running))
        .withColumn("_q", F.sum(F.coalesce(value * value, F.lit(0.0))).over(running))
    )

    def trailing(column: str) -> F.Column:
        # sum over the `days` rows before today = running(t-1) - running(t-1-days)
        before = F.lag(column, 1).over(ordered)
        window_start = F.lag(column, days + 1).over(ordered)
        return F.coalesce(before, F.lit(0)) - F.coalesce(window_start, F.lit(0))

    n = trailing("_n")
    mean = trailing("_s") / F.when(n > 0, n)
    # population variance from sums; clamp tiny negative rounding errors
    variance = F.greatest(trailing("_q") / F.when(n > 0, n) - mean * mean, F.lit(0.0))
    stddev = F.sqrt(variance)
    return (
        with_running.withColumn("trailing_day_count", n.cast("int"))
        .withColumn("trailing_mean_kwh", mean)
        .withColumn("trailing_stddev_kwh", stddev)
        .withColumn(
            "energy_zscore",
            F.when(
                (F.col("trailing_day_count") >= MIN_TRAILING_DAYS)
                & (F.col("trailing_stddev_kwh") > 1e-9)
                & value.isNotNull(),
                (value - F.col("trailing_mean_kwh")) / F.col("trailing_stddev_kwh"),
            ),
        )
        .drop("_n", "_s", "_q")
    )


def anomaly_features(readings: DataFrame, days: int = TRAILING_DAYS) -> DataFrame:
    """Clean readings -> per-meter daily features, one row per meter and day with data."""
    return (
        readings.transform(daily_energy)
        .transform(gap_filled)
        .transform(lambda frame: with_trailing_zscore(frame, days))
        .where(F.col("energy_kwh").isNotNull())
        .select(
            "meter_id",
            "energy_kwh",
            "interval_count",
            "trailing_day_count",
            "trailing_mean_kwh",
            "trailing_stddev_kwh",
            "energy_zscore",
            "reading_date",
        )
    )
