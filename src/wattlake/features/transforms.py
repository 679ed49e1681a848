"""Anomaly features as pure `DataFrame -> DataFrame` functions, chained with `.transform`.

One output row per meter and UTC clock hour (`curated/anomaly_features`), with
the meter's day-level features (by its local date) repeated on each hour.

Every trailing statistic is O(n): the hourly and daily series are ordered by
an hour (day) index, and every look-back is a range frame on that index, so a
missing hour is simply absent. The same hour last week is the frame
[-168, -168]; a trailing window is the running sum minus the sum over every
row at least k hours back (frames from the partition's start, which Spark
updates row by row). No row-based sliding frame ever runs over 15-minute rows.

Hourly features
    energy_kwh, interval_count, minutes_reported, min/max_interval_kwh,
    zero_interval_count
    expected_kwh        median of the same hour of the week over the last
                        PROFILE_WEEKS weeks (null with fewer than 2 of them)
    residual_kwh, mad_kwh, robust_zscore
                        residual = observed - expected; the scale is the median
                        absolute deviation (MAD) of those same-hour values,
                        x 1.4826, floored at 5 % of the expected value
    mean/stddev_24h_kwh, mean/stddev_7d_kwh
                        rolling statistics of hourly kWh, this hour included
    max_interval_ratio  the hour's largest interval against the meter's mean
                        interval of the last 7 days (a spike stands out)
    flat_run_hours      consecutive hours whose intervals all repeat one
                        non-zero value, the same as the hour before (stuck)
    zero_run_hours      consecutive hours of nothing but zeros (an outage)
Daily features (local date of the site)
    day_kwh, expected_day_kwh, day_ratio
                        the day's kWh against the median of the same weekday
                        over the previous PROFILE_WEEKS weeks (days with fewer
                        than MIN_DAY_HOURS hours of readings get no ratio)
    night_kwh_per_hour, usual_night_kwh_per_hour, night_ratio
                        mean kWh per hour 00:00-06:00 local (the night base
                        load) against the same median of the meter's nights
    drift_slope_per_day slope of day_ratio over the last DRIFT_DAYS days
    level_shift_ratio   mean kWh of the last 7 days over the 28 days before
    air_temperature_c, heating/cooling_degrees, temperature_expected_kwh,
    temperature_residual_kwh
                        day_kwh against a least-squares fit on heating and
                        cooling degrees over the previous TRAILING_DAYS days
    kwh_per_m2, peer_percentile
                        the site's kWh per m2 and its percentile among sites
                        of the same type and area that day
    peer_day_ratio, peer_site_count
                        the median day_ratio of those sites (of the type in
                        the whole city where the area has fewer than
                        MIN_PEERS), and how many have one: a change all of
                        them share (a school holiday, a closure, a cold day)
                        is the calendar, not the meter
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from wattlake.features import DRIFT_DAYS, LEVEL_DAYS, PROFILE_WEEKS, TRAILING_DAYS

HEATING_BASE_C = 15.5
COOLING_BASE_C = 22.0
NIGHT_HOURS = (0, 6)  # local wall-clock hours [from, to)
MIN_DAY_HOURS = 20  # a day with fewer hours of readings has no day ratio
MIN_PEERS = 3  # sites of a type in an area to compare with; else the whole city's

# day-level features of the site-local date, repeated on each of its hours
DAILY_COLUMNS = (
    "day_kwh",
    "expected_day_kwh",
    "day_ratio",
    "night_kwh_per_hour",
    "usual_night_kwh_per_hour",
    "night_ratio",
    "drift_slope_per_day",
    "level_shift_ratio",
    "air_temperature_c",
    "heating_degrees",
    "cooling_degrees",
    "temperature_expected_kwh",
    "temperature_residual_kwh",
    "kwh_per_m2",
    "peer_percentile",
    "peer_day_ratio",
    "peer_site_count",
)
OUTPUT_COLUMNS = (
    "meter_id",
    "site_id",
    "site_type",
    "area_id",
    "hour_start_utc",
    "hour_start_local",
    "local_date",
    "energy_kwh",
    "interval_count",
    "minutes_reported",
    "min_interval_kwh",
    "max_interval_kwh",
    "zero_interval_count",
    "expected_kwh",
    "residual_kwh",
    "mad_kwh",
    "robust_zscore",
    "mean_24h_kwh",
    "stddev_24h_kwh",
    "mean_7d_kwh",
    "stddev_7d_kwh",
    "max_interval_ratio",
    "flat_run_hours",
    "zero_run_hours",
    *DAILY_COLUMNS,
    "reading_date",
)


def _ratio(numerator: Column, denominator: Column) -> Column:
    """Divide, or null when the denominator is null or ~0 (ANSI-safe)."""
    return F.when(F.abs(denominator) > 1e-9, numerator / denominator)


def _with_median(frame: DataFrame, values: list[Column], name: str) -> DataFrame:
    """Add column `name`: the median of the non-null `values` (null with fewer than 2).

    No lambdas (higher-order functions run interpreted, several times slower):
    sort_array puts the nulls first, so the n values present are the last n.
    The sorted array and n are columns of their own, computed once.
    """
    present = sum(value.isNotNull().cast("int") for value in values)
    frame = frame.withColumn("_present", present).withColumn(
        "_sorted", F.sort_array(F.array(*values))
    )
    count = F.col("_present")
    skipped = F.lit(len(values)) - count
    low = F.element_at("_sorted", (skipped + F.floor((count + 1) / 2)).cast("int"))
    high = F.element_at("_sorted", (skipped + F.floor(count / 2) + 1).cast("int"))
    return frame.withColumn(name, F.when(count >= 2, (low + high) / 2)).drop(
        "_present", "_sorted"
    )


def _mean_and_stddev(n: Column, s: Column, q: Column) -> tuple[Column, Column]:
    mean = _ratio(s, n)
    variance = F.greatest(_ratio(q, n) - mean * mean, F.lit(0.0))
    return mean, F.sqrt(variance)


HOUR_MICROS = 3_600_000_000


def _micros(timestamp: str) -> Column:
    """Microseconds since the epoch.

    Read as a TIMESTAMP (the job's `inferTimestampNTZ` setting), the cast is
    no work at all.
    """
    return F.unix_micros(F.col(timestamp).cast("timestamp"))


def utc_hour(timestamp: str) -> Column:
    """The UTC clock hour `timestamp` falls in, by arithmetic on its microseconds.

    `date_trunc` converts every value through a time zone (a Java date-time
    object per row): a third of the CPU time of aggregating the readings.
    """
    micros = _micros(timestamp)
    return F.timestamp_micros(micros - F.pmod(micros, F.lit(HOUR_MICROS)))


def hourly_energy(readings: DataFrame) -> DataFrame:
    """Clean readings -> one row per meter and UTC clock hour."""
    return readings.groupBy(
        "meter_id", utc_hour("reading_start_utc").alias("hour_start_utc")
    ).agg(
        F.sum("energy_kwh").alias("energy_kwh"),
        F.count(F.lit(1)).cast("int").alias("interval_count"),
        F.sum("interval_minutes").cast("int").alias("minutes_reported"),
        F.min("energy_kwh").alias("min_interval_kwh"),
        F.max("energy_kwh").alias("max_interval_kwh"),
        F.sum(F.when(F.col("energy_kwh") == 0, 1).otherwise(0))
        .cast("int")
        .alias("zero_interval_count"),
    )


def local_hours(hourly: DataFrame, meter_sites: DataFrame) -> DataFrame:
    """Each UTC hour of `hourly` in each site time zone: local time, date and hour.

    A small table (hours x time zones) converted once and joined to the
    meter-hours: converting on every meter-hour parses the zone's name on
    every row.
    """
    local = F.from_utc_timestamp("hour_start_utc", F.col("time_zone"))
    return (
        hourly.select("hour_start_utc")
        .distinct()
        .crossJoin(meter_sites.select("time_zone").distinct())
        .select(
            "time_zone",
            "hour_start_utc",
            local.alias("hour_start_local"),
            F.to_date(local).alias("local_date"),
            F.hour(local).alias("local_hour"),
        )
    )


def with_meter_sites(
    hourly: DataFrame, meter_sites: DataFrame, calendar: DataFrame
) -> DataFrame:
    """Add the site of the meter version in force on each hour's UTC date.

    Hours before a meter's first registry snapshot take version 1; hours of a
    meter the registry does not list are left out (dbt quarantined them).
    The local time, date and hour come from `calendar` (`local_hours` of
    these hours or more).
    """
    sites = F.broadcast(
        meter_sites.select(
            "meter_id",
            "version_number",
            "valid_from",
            "valid_to",
            "site_id",
            "site_type",
            "area_id",
            "floor_area_m2",
            "time_zone",
        ).withColumnRenamed("meter_id", "_meter_id")
    )
    day = F.to_date("hour_start_utc")
    in_force = (
        (F.col("_meter_id") == F.col("meter_id"))
        & ((F.col("valid_from") <= day) | (F.col("version_number") == 1))
        & (F.col("valid_to").isNull() | (day < F.col("valid_to")))
    )
    return (
        hourly.join(sites, in_force, "inner")
        .drop("_meter_id", "valid_from", "valid_to")
        .join(F.broadcast(calendar), ["time_zone", "hour_start_utc"], "left")
    )


def _upto(window: Window, back: int) -> Window:
    """The frame of every row at least `back` steps before this one (range frame)."""
    return window.rangeBetween(Window.unboundedPreceding, -back)


def _exactly(window: Window, column: str, back: int) -> Column:
    """`column` on the row exactly `back` steps before this one, or null.

    A range frame [-back, -back]: at most one row. (Taking the last row of
    the frame up to `back` steps back and checking its index is twice as
    slow: every such frame evaluates its aggregate on every row.)
    """
    return F.max(column).over(window.rangeBetween(-back, -back))


def with_hourly_features(hourly: DataFrame) -> DataFrame:
    """Expected value, residual, robust z-score, rolling statistics, run lengths.

    The rows are ordered by an hour index (hours since 1970), and every
    look-back is a range frame on it, so a missing hour is simply absent: the
    same hour k weeks ago is the frame [-168 k, -168 k], and a trailing sum is
    the running sum minus the sum over every hour at least 24 (or 168) hours
    back. Both kinds of frame are O(n). A first window pass, on narrow rows,
    takes the hour before (for the runs); the second computes the rest.
    """
    hour = F.floor(_micros("hour_start_utc") / HOUR_MICROS)
    ordered = Window.partitionBy("meter_id").orderBy("_h")
    running = ordered.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    value = F.col("energy_kwh")
    weeks = range(PROFILE_WEEKS)
    flat = F.coalesce(
        (F.col("interval_count") >= 2)
        & (F.col("min_interval_kwh") == F.col("max_interval_kwh"))
        & (F.col("max_interval_kwh") != 0),
        F.lit(False),
    )
    zero = F.coalesce(
        (F.col("interval_count") >= 1)
        & (F.col("zero_interval_count") == F.col("interval_count")),
        F.lit(False),
    )
    terms = {
        "_n": value.isNotNull().cast("long"),
        "_s": F.coalesce(value, F.lit(0.0)),
        "_q": F.coalesce(value * value, F.lit(0.0)),
        "_c": F.coalesce("interval_count", F.lit(0)).cast("long"),
    }
    back = {"_n": (24, 168), "_s": (24, 168), "_q": (24, 168), "_c": (168,)}
    # pass 1: the hour before (narrow rows: this pass copies every row)
    hour_index = F.col("_h")
    first = (
        hourly.withColumn("_h", hour)
        .withColumn("_flat", flat)
        .select(
            "*",
            F.lag("_h", 1).over(ordered).alias("_previous_h"),
            F.lag("_flat", 1).over(ordered).alias("_previous_flat"),
            F.lag("max_interval_kwh", 1).over(ordered).alias("_previous_max"),
        )
    )
    follows = F.col("_previous_h") == hour_index - 1
    first = first.withColumn("_zero", zero).withColumn(
        "_flat_continues",
        F.col("_flat")
        & F.coalesce(F.col("_previous_flat"), F.lit(False))
        & (F.col("max_interval_kwh") == F.col("_previous_max"))
        & follows,
    )
    # pass 2: same hour in earlier weeks, running and trailing sums, where the
    # current runs started (a zero run breaks at a non-zero hour, or at a
    # missing hour before this one)
    zero_break_at = F.when(~F.col("_zero"), hour_index).when(
        ~F.coalesce(follows, F.lit(False)), hour_index - 1
    )
    second = first.select(
        "*",
        F.array(*[_exactly(ordered, "energy_kwh", 168 * (w + 1)) for w in weeks]).alias(
            "_same_hour"
        ),
        *[F.sum(term).over(running).alias(name) for name, term in terms.items()],
        *[
            F.coalesce(F.sum(terms[name]).over(_upto(ordered, hours)), F.lit(0)).alias(
                f"{name}_{hours}"
            )
            for name, hours_back in back.items()
            for hours in hours_back
        ],
        F.max(F.when(F.col("_flat") & ~F.col("_flat_continues"), hour_index))
        .over(running)
        .alias("_flat_start"),
        F.max(zero_break_at).over(running).alias("_zero_break"),
    )
    frame = _with_median(
        second, [F.col("_same_hour")[w] for w in weeks], "expected_kwh"
    )
    deviations = [F.abs(F.col("_same_hour")[w] - F.col("expected_kwh")) for w in weeks]
    frame = _with_median(frame, deviations, "mad_kwh")
    scale = F.greatest(F.col("mad_kwh") * 1.4826, F.abs(F.col("expected_kwh")) * 0.05)
    frame = frame.withColumn("residual_kwh", value - F.col("expected_kwh")).withColumn(
        "robust_zscore", _ratio(F.col("residual_kwh"), scale)
    )
    for label, hours in (("24h", 24), ("7d", 168)):
        mean, stddev = _mean_and_stddev(
            *[F.col(c) - F.col(f"{c}_{hours}") for c in ("_n", "_s", "_q")]
        )
        frame = frame.withColumn(f"mean_{label}_kwh", mean).withColumn(
            f"stddev_{label}_kwh", stddev
        )
    mean_interval = _ratio(F.col("_s") - F.col("_s_168"), F.col("_c") - F.col("_c_168"))
    return (
        frame.withColumn(
            "max_interval_ratio", _ratio(F.col("max_interval_kwh"), mean_interval)
        )
        .withColumn(
            "flat_run_hours",
            F.when(F.col("_flat"), hour_index - F.col("_flat_start") + 1)
            .otherwise(0)
            .cast("int"),
        )
        .withColumn(
            "zero_run_hours",
            F.when(F.col("_zero"), hour_index - F.col("_zero_break"))
            .otherwise(0)
            .cast("int"),
        )
        .drop(*[c for c in frame.columns if c.startswith("_")])
    )


def daily_features(
    hourly: DataFrame, meter_sites: DataFrame, weather: DataFrame
) -> DataFrame:
    """Day-level features per meter and local date (see the module docstring).

    Like the hourly features, the day series is ordered by a day index and
    every look-back is a range frame on it (a missing day is absent), in two
    window passes: the same weekday in earlier weeks, then the running sums.
    """
    night = (F.col("local_hour") >= NIGHT_HOURS[0]) & (
        F.col("local_hour") < NIGHT_HOURS[1]
    )
    with_weather = with_meter_sites(
        hourly.where(F.col("energy_kwh").isNotNull()),
        meter_sites,
        local_hours(hourly, meter_sites),
    ).join(
        F.broadcast(weather.select("area_id", "hour_start_utc", "air_temperature_c")),
        ["area_id", "hour_start_utc"],
        "left",
    )
    # the site of the meter version in force at the end of the local day
    # (versions only follow each other), joined after the aggregation: numeric
    # aggregates only, so the aggregation hashes instead of sorting
    sites = F.broadcast(
        meter_sites.select(
            "meter_id", "version_number", "site_type", "area_id", "floor_area_m2"
        )
    )
    days = (
        with_weather.groupBy("meter_id", "local_date")
        .agg(
            F.max("version_number").alias("version_number"),
            F.sum("energy_kwh").alias("day_kwh"),
            F.count(F.lit(1)).alias("_hours"),
            F.avg(F.when(night, F.col("energy_kwh"))).alias("night_kwh_per_hour"),
            F.avg("air_temperature_c").alias("air_temperature_c"),
        )
        .join(sites, ["meter_id", "version_number"])
        .withColumn("_d", F.datediff("local_date", F.lit("2000-01-01").cast("date")))
    )
    ordered = Window.partitionBy("meter_id").orderBy("_d")
    running = ordered.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    # the same weekday in the previous PROFILE_WEEKS weeks; a day with hours
    # missing is neither judged nor a reference
    whole_day = F.when(F.col("_hours") >= MIN_DAY_HOURS, F.col("day_kwh"))
    weeks = range(PROFILE_WEEKS)
    frame = days.withColumn("_whole_day_kwh", whole_day)
    frame = frame.select(
        "*",
        F.array(
            *[_exactly(ordered, "_whole_day_kwh", 7 * (w + 1)) for w in weeks]
        ).alias("_same_day"),
        F.array(
            *[_exactly(ordered, "night_kwh_per_hour", 7 * (w + 1)) for w in weeks]
        ).alias("_same_night"),
    )
    frame = _with_median(
        frame, [F.col("_same_day")[w] for w in weeks], "expected_day_kwh"
    )
    frame = _with_median(
        frame, [F.col("_same_night")[w] for w in weeks], "usual_night_kwh_per_hour"
    )
    index = F.col("_d").cast("double")
    heating = F.greatest(F.lit(HEATING_BASE_C) - F.col("air_temperature_c"), F.lit(0.0))
    cooling = F.greatest(F.col("air_temperature_c") - F.lit(COOLING_BASE_C), F.lit(0.0))
    frame = (
        frame.withColumn(
            "day_ratio", _ratio(F.col("_whole_day_kwh"), F.col("expected_day_kwh"))
        )
        .withColumn("heating_degrees", heating)
        .withColumn("cooling_degrees", cooling)
        .withColumn(
            "night_ratio",
            _ratio(F.col("night_kwh_per_hour"), F.col("usual_night_kwh_per_hour")),
        )
    )
    # sums for the drift slope, level shift and temperature fit: each over
    # every day up to this one, and over every day at least k days back, in
    # one window pass; a trailing sum is the difference of two of them
    y = F.col("day_kwh")
    has_ratio = F.col("day_ratio").isNotNull()
    has_fit = y.isNotNull() & F.col("air_temperature_c").isNotNull()
    drift = {
        "_rn": F.when(has_ratio, 1.0),
        "_rx": F.when(has_ratio, index),
        "_ry": F.col("day_ratio"),
        "_rxx": F.when(has_ratio, index * index),
        "_rxy": F.when(has_ratio, index * F.col("day_ratio")),
    }
    level = {"_dn": F.when(y.isNotNull(), 1.0), "_dy": y}
    fit = {
        "_fn": F.when(has_fit, 1.0),
        "_f1": F.when(has_fit, heating),
        "_f2": F.when(has_fit, cooling),
        "_fy": F.when(has_fit, y),
        "_f11": F.when(has_fit, heating * heating),
        "_f22": F.when(has_fit, cooling * cooling),
        "_f12": F.when(has_fit, heating * cooling),
        "_f1y": F.when(has_fit, heating * y),
        "_f2y": F.when(has_fit, cooling * y),
    }
    backs = (
        [(name, term, (0, DRIFT_DAYS)) for name, term in drift.items()]
        + [
            (name, term, (0, LEVEL_DAYS, LEVEL_DAYS + TRAILING_DAYS))
            for name, term in level.items()
        ]
        + [(name, term, (1, TRAILING_DAYS + 1)) for name, term in fit.items()]
    )
    frame = frame.select(
        "*",
        *[
            F.coalesce(
                F.sum(F.coalesce(term, F.lit(0.0))).over(
                    running if days_back == 0 else _upto(ordered, days_back)
                ),
                F.lit(0.0),
            ).alias(f"{name}_{days_back}")
            for name, term, days_back_list in backs
            for days_back in days_back_list
        ],
    )

    def last(name: str, days: int) -> Column:
        """The sum over the last `days` days, this one included."""
        return F.col(f"{name}_0") - F.col(f"{name}_{days}")

    def before(name: str, days: int) -> Column:
        """The sum over the `days` days before this one."""
        return F.col(f"{name}_1") - F.col(f"{name}_{days + 1}")

    n, sx, sy, sxx, sxy = (
        last(c, DRIFT_DAYS) for c in ("_rn", "_rx", "_ry", "_rxx", "_rxy")
    )
    slope = _ratio(n * sxy - sx * sy, n * sxx - sx * sx)
    frame = frame.withColumn("drift_slope_per_day", F.when(n >= DRIFT_DAYS - 2, slope))
    recent = _ratio(last("_dy", LEVEL_DAYS), last("_dn", LEVEL_DAYS))
    # the TRAILING_DAYS days before the last LEVEL_DAYS days
    earlier_sum = last("_dy", LEVEL_DAYS + TRAILING_DAYS) - last("_dy", LEVEL_DAYS)
    earlier_n = last("_dn", LEVEL_DAYS + TRAILING_DAYS) - last("_dn", LEVEL_DAYS)
    frame = frame.withColumn(
        "level_shift_ratio",
        F.when(
            earlier_n >= TRAILING_DAYS // 2,
            _ratio(recent, _ratio(earlier_sum, earlier_n)),
        ),
    )
    frame = _with_temperature_fit(frame, before)
    peers = Window.partitionBy("local_date", "site_type", "area_id").orderBy(
        "kwh_per_m2"
    )
    # peers: the same type in the same area; where the area has fewer than
    # MIN_PEERS of them, the same type in the whole city
    area = Window.partitionBy("local_date", "site_type", "area_id")
    city = Window.partitionBy("local_date", "site_type")
    area_count = F.count("day_ratio").over(area)
    return (
        frame.withColumn("kwh_per_m2", _ratio(F.col("day_kwh"), F.col("floor_area_m2")))
        .withColumn("peer_percentile", F.percent_rank().over(peers))
        .withColumn(
            "peer_day_ratio",
            F.when(
                area_count >= MIN_PEERS,
                F.percentile_approx("day_ratio", 0.5, 1000).over(area),
            ).otherwise(F.percentile_approx("day_ratio", 0.5, 1000).over(city)),
        )
        .withColumn(
            "peer_site_count",
            F.when(area_count >= MIN_PEERS, area_count)
            .otherwise(F.count("day_ratio").over(city))
            .cast("int"),
        )
        .select("meter_id", "local_date", *DAILY_COLUMNS)
    )


def _with_temperature_fit(frame: DataFrame, before) -> DataFrame:
    """Least squares day_kwh ~ a + b1 heating + b2 cooling over the previous days.

    With no spread in cooling (or heating) degrees, that term is left out.
    """
    n = before("_fn", TRAILING_DAYS)
    s1, s2, sy = (
        before("_f1", TRAILING_DAYS),
        before("_f2", TRAILING_DAYS),
        before("_fy", TRAILING_DAYS),
    )
    c11 = before("_f11", TRAILING_DAYS) - _ratio(s1 * s1, n)
    c22 = before("_f22", TRAILING_DAYS) - _ratio(s2 * s2, n)
    c12 = before("_f12", TRAILING_DAYS) - _ratio(s1 * s2, n)
    c1y = before("_f1y", TRAILING_DAYS) - _ratio(s1 * sy, n)
    c2y = before("_f2y", TRAILING_DAYS) - _ratio(s2 * sy, n)
    frame = (
        frame.withColumn("_n", n)
        .withColumn("_c11", c11)
        .withColumn("_c22", c22)
        .withColumn("_c12", c12)
        .withColumn("_c1y", c1y)
        .withColumn("_c2y", c2y)
        .withColumn("_m1", _ratio(s1, n))
        .withColumn("_m2", _ratio(s2, n))
        .withColumn("_my", _ratio(sy, n))
    )
    spread = 1e-6
    has1, has2 = F.col("_c11") > spread, F.col("_c22") > spread
    det = F.col("_c11") * F.col("_c22") - F.col("_c12") * F.col("_c12")
    both = has1 & has2 & (det > spread * spread)
    b1 = (
        F.when(
            both,
            _ratio(F.col("_c22") * F.col("_c1y") - F.col("_c12") * F.col("_c2y"), det),
        )
        .when(has1, _ratio(F.col("_c1y"), F.col("_c11")))
        .otherwise(0.0)
    )
    b2 = (
        F.when(
            both,
            _ratio(F.col("_c11") * F.col("_c2y") - F.col("_c12") * F.col("_c1y"), det),
        )
        .when(has2 & ~has1, _ratio(F.col("_c2y"), F.col("_c22")))
        .otherwise(0.0)
    )
    frame = frame.withColumn("_b1", b1).withColumn("_b2", b2)
    fitted = (
        F.col("_my")
        + F.col("_b1") * (F.col("heating_degrees") - F.col("_m1"))
        + F.col("_b2") * (F.col("cooling_degrees") - F.col("_m2"))
    )
    usable = (F.col("_n") >= TRAILING_DAYS // 2) & F.col(
        "air_temperature_c"
    ).isNotNull()
    return frame.withColumn(
        "temperature_expected_kwh", F.when(usable, fitted)
    ).withColumn(
        "temperature_residual_kwh",
        F.col("day_kwh") - F.col("temperature_expected_kwh"),
    )


def anomaly_features(
    readings: DataFrame, meter_sites: DataFrame, weather: DataFrame
) -> DataFrame:
    """Clean readings -> one row per meter and UTC hour with data (OUTPUT_COLUMNS)."""
    return features_of_hours(readings.transform(hourly_energy), meter_sites, weather)


def features_of_hours(
    hourly: DataFrame, meter_sites: DataFrame, weather: DataFrame
) -> DataFrame:
    """`hourly_energy`'s meter-hours -> the features (OUTPUT_COLUMNS).

    Both branches, the hourly window and the day-level features, read the
    meter-hours: the job stores them once (`persist`) rather than aggregate
    the readings twice. The days join back to their hours where the window
    left them (a hash join, building on the days, shuffled to the hours'
    partitioning by meter: spark.sql.requireAllClusterKeysForCoPartition is
    off), so the hours are neither shuffled nor sorted again.
    """
    daily = daily_features(hourly, meter_sites, weather)
    return (
        hourly.transform(with_hourly_features)
        .where(F.col("energy_kwh").isNotNull())
        .transform(
            lambda frame: with_meter_sites(
                frame, meter_sites, local_hours(hourly, meter_sites)
            )
        )
        .join(daily.hint("shuffle_hash"), ["meter_id", "local_date"], "left")
        .withColumn("reading_date", F.to_date("hour_start_utc"))
        .select(*OUTPUT_COLUMNS)
    )
