"""Benchmarks: how fast Wattlake's stages run on this machine.

    python -m wattlake.bench                 # the landing cases (about 1 minute)
    python -m wattlake.bench --scale city    # and a whole city year: landing, the
                                             # dbt transform, a late batch into it,
                                             # the site daily mart against a
                                             # hand-written query, the Spark job
    make bench [SCALE=city] [ARGS="--runs 7 --long-runs 3"]

Each case prepares its inputs in a temporary folder (not timed), then runs
several times and reports the median throughput. A case may carry a baseline,
measured the same way in the same run on the same inputs, so a number can be
read against what this machine does anyway. The report is the one place
Wattlake prints instead of logging.

Add a case: write a function `(workdir, options) -> Trial` and add a `Case`
to `CASES` (or to `CITY_CASES`: run with --scale city, --long-runs times). A
`Trial` resets its outputs (not timed) and runs once (timed), returning how
many items it did.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import logging
import multiprocessing
import os
import platform
import re
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from wattlake.arrow_input import arrow_input
from wattlake.ingestion.deliver import Batch, encode
from wattlake.ingestion.land import land_pending, land_workers
from wattlake.storage import Lake

log = logging.getLogger(__name__)

INTERVAL_MINUTES = 15
# The simulator's share of garbled lines (ingestion/city.toml), so landing
# meets them here too.
MALFORMED_SHARE = 0.0002


class Trial(Protocol):
    """One prepared case: reset its outputs (not timed), run it (timed)."""

    def reset(self) -> None:
        """Remove what the previous run wrote."""

    def run(self) -> int:
        """Do the work once; return the items done (readings, rows...)."""


@dataclass(frozen=True)
class Options:
    """Sizes and repetitions, from the command line."""

    runs: int
    long_runs: int
    deliveries: int
    meters: int
    workers: int
    seed: int = 42
    warehouse: Path | None = None  # an existing city warehouse (read-only)


@dataclass(frozen=True)
class Case:
    """A benchmark: what it measures and how to prepare it (and its baseline)."""

    name: str
    unit: str
    prepare: Callable[[Path, Options], Trial]
    baseline_name: str | None = None
    baseline: Callable[[Path, Options], Trial] | None = None
    long: bool = False  # runs --long-runs times instead of --runs


@dataclass(frozen=True)
class Result:
    """The timed runs of one case."""

    case: Case
    items: int
    seconds: list[float]
    peak_rss_bytes: int
    baseline_seconds: list[float] = field(default_factory=list)
    baseline_items: int = 0
    note: str = ""  # what a case reports besides its rate

    @property
    def rate(self) -> float:
        """Median items per second."""
        return self.items / statistics.median(self.seconds)

    @property
    def baseline_rate(self) -> float | None:
        """Median items per second of the baseline, if the case has one."""
        if not self.baseline_seconds:
            return None
        return self.baseline_items / statistics.median(self.baseline_seconds)


# ------------------------------------------------------------------- readings
def readings_batch(
    batch_id: str,
    meters: int,
    first: datetime,
    hours: int,
    seed: int,
    malformed_share: float = MALFORMED_SHARE,
    prefix: str = "MTR",
) -> Batch:
    """A head-end batch: every meter's 15-minute readings over some hours."""
    rng = np.random.default_rng(seed)
    steps = hours * 60 // INTERVAL_MINUTES
    rows = meters * steps
    starts = np.datetime64(first.replace(tzinfo=None), "s") + (
        np.arange(steps) * INTERVAL_MINUTES * 60
    ).astype("timedelta64[s]")
    ids = np.array([f"{prefix}-{n:06d}" for n in range(1, meters + 1)], object)
    base = rng.lognormal(-1.5, 1.0, meters)
    kwh = np.repeat(base, steps) * rng.lognormal(0.0, 0.25, rows)
    return Batch(
        batch_id=batch_id,
        site_index=np.repeat(np.arange(meters), steps),
        meter_id=np.repeat(ids, steps),
        start_utc=np.tile(starts, meters),
        kwh=kwh,
        unit=np.full(rows, "kWh", object),
        quality_code=np.where(rng.random(rows) < 0.01, "E", "A").astype(object),
        malformed=rng.random(rows) < malformed_share,
        utc_offset_s=np.zeros(rows, np.int64),
    )


def write_delivery(lake: Lake, batch: Batch, fmt: str) -> int:
    """Encode a batch as the simulator's head-ends do and put it in `landing/`."""
    lake.write_bytes(
        lake.landing("metering", batch.batch_id, fmt),
        encode(batch, fmt, INTERVAL_MINUTES),
    )
    return batch.rows


# -------------------------------------------------------------------- landing
@dataclass
class _Landing:
    """Land every delivery of a lake with `land_pending`."""

    lake: Lake
    workers: int

    def reset(self) -> None:
        for zone in ("raw", "_manifests"):
            shutil.rmtree(Path(self.lake.root, zone), ignore_errors=True)

    def run(self) -> int:
        report = land_pending(self.lake, workers=self.workers)
        if report.problems:
            raise RuntimeError(f"landing failed: {report.problems[:3]}")
        return report.rows


def _landing_lake(
    workdir: Path, options: Options, fmt: str, hours: int, malformed_share: float
) -> Lake:
    """`--deliveries` days of `--meters` meters, in batches of `hours` hours."""
    lake = Lake(str(workdir / "lake"))
    day = datetime(2025, 3, 3, tzinfo=UTC)
    for number in range(options.deliveries * 24 // hours):
        first = day + timedelta(hours=number * hours)
        batch_id = f"readings_bench_{number:05d}"
        batch = readings_batch(
            batch_id, options.meters, first, hours, number, malformed_share
        )
        write_delivery(lake, batch, fmt)
    return lake


def landing_case(fmt: str, hours: int = 24) -> Callable[[Path, Options], Trial]:
    """Land `--deliveries` days of `--meters` meters, in batches of `hours` hours."""

    def prepare(workdir: Path, options: Options) -> Trial:
        lake = _landing_lake(workdir, options, fmt, hours, MALFORMED_SHARE)
        return _Landing(lake, options.workers)

    return prepare


def _copy_with_pyarrow(source: str, target: str) -> int:
    """Read a delivery with pyarrow's own reader and write it as zstd Parquet."""
    payload = Path(source).read_bytes()
    if source.endswith(".csv.gz"):
        table = pa_csv.read_csv(
            arrow_input(gzip.decompress(payload)),
            read_options=pa_csv.ReadOptions(use_threads=False),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=lambda row: "skip"),
        )
    elif source.endswith(".jsonl.gz"):
        table = pa_json.read_json(
            arrow_input(gzip.decompress(payload)),
            read_options=pa_json.ReadOptions(use_threads=False),
        )
    else:
        table = pq.read_table(arrow_input(payload), use_threads=False)
    pq.write_table(table, target, compression="zstd")
    return table.num_rows


@dataclass
class _PyarrowCopy:
    """Baseline: each delivery through pyarrow's reader into Parquet, no lineage.

    Nothing is kept as text, no line is accounted for, and a garbled JSON
    line would stop pyarrow's JSON reader, so the baseline's deliveries have
    no garbled lines (the landing case's have the simulator's share).
    """

    sources: list[str]
    target: Path
    workers: int

    def reset(self) -> None:
        shutil.rmtree(self.target, ignore_errors=True)
        self.target.mkdir(parents=True)

    def run(self) -> int:
        targets = [str(self.target / f"{n}.parquet") for n in range(len(self.sources))]
        if min(self.workers, len(self.sources)) <= 1:  # as land_pending decides
            return sum(map(_copy_with_pyarrow, self.sources, targets))
        with ProcessPoolExecutor(self.workers, mp_context=_context()) as pool:
            return sum(pool.map(_copy_with_pyarrow, self.sources, targets))


def pyarrow_copy_case(fmt: str, hours: int = 24) -> Callable[[Path, Options], Trial]:
    """The same deliveries as `landing_case`, copied by pyarrow alone."""

    def prepare(workdir: Path, options: Options) -> Trial:
        lake = _landing_lake(workdir, options, fmt, hours, malformed_share=0.0)
        sources = [delivery.uri for delivery in lake.deliveries()]
        return _PyarrowCopy(sources, workdir / "copies", options.workers)

    return prepare


CASES = [
    Case(
        f"land {fmt}{label}",
        "readings",
        landing_case(fmt, hours),
        "pyarrow copy",
        pyarrow_copy_case(fmt, hours),
    )
    for fmt, hours, label in (
        ("csv.gz", 24, ""),
        ("jsonl.gz", 24, ""),
        ("parquet", 24, ""),
        ("jsonl.gz", 1, " hourly"),
    )
]


# ------------------------------------------------------------------ simulator
# sites: four areas of --meters meters (10,000 by default)
SIMULATOR_DAYS = 3


def _city():  # noqa: ANN202 - the project's City
    from wattlake.config import find_project_dir
    from wattlake.ingestion.simulate import default_city

    return default_city(find_project_dir())


@dataclass
class _Generation:
    """The load model and the anomalies for every meter, in memory, one process."""

    sites: object
    weather: object
    plan: object
    holidays: set[date]
    first: date
    seed: int

    def reset(self) -> None:
        pass

    def run(self) -> int:
        from wattlake.ingestion.anomalies import apply_anomalies
        from wattlake.ingestion.load import day_clock, simulate_day

        members = np.arange(self.sites.count)
        readings = 0
        for offset in range(SIMULATOR_DAYS):
            day = self.first + timedelta(days=offset)
            clock = day_clock(day, "Europe/London", INTERVAL_MINUTES)
            rng = np.random.default_rng([self.seed, offset])
            energy = simulate_day(
                self.sites, members, clock, self.weather, self.holidays, rng
            )
            apply_anomalies(self.plan, energy, members, clock)
            readings += energy.size
        return readings


def generation_case(workdir: Path, options: Options) -> Trial:
    """4 x --meters meters' readings for 3 days, generated in memory (no files)."""
    import holidays as public_holidays

    from wattlake.ingestion.anomalies import plan_anomalies
    from wattlake.ingestion.sites import build_sites
    from wattlake.ingestion.weather import simulate_weather

    city = _city()
    first = date(2025, 7, 1)
    last = first + timedelta(days=SIMULATOR_DAYS - 1)
    sites = build_sites(city, 4 * options.meters, first, SIMULATOR_DAYS, options.seed)
    weather = simulate_weather(
        city.climate, [a.heat_island_c for a in city.areas], first, last, options.seed
    )
    plan = plan_anomalies(
        city, sites, first, SIMULATOR_DAYS, INTERVAL_MINUTES, options.seed
    )
    days = set(
        public_holidays.country_holidays(
            city.country, subdiv=city.subdivision, years=[2025]
        )
    )
    return _Generation(sites, weather, plan, days, first, options.seed)


@dataclass
class _Simulation:
    """`simulate` as `wattlake simulate` runs it: deliveries and truth on disk."""

    root: Path
    scale: object
    city: object
    seed: int
    workers: int

    def reset(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def run(self) -> int:
        from wattlake.ingestion.simulate import simulate

        report = simulate(
            Lake(str(self.root)), self.scale, self.seed, self.city, self.workers
        )
        return report.readings


def simulation_case(workdir: Path, options: Options) -> Trial:
    """The whole simulate stage, 4 x --meters sites over 3 days, in the city's formats."""
    from wattlake.config import Scale

    scale = Scale(
        "bench", 4 * options.meters, date(2025, 7, 1), SIMULATOR_DAYS, INTERVAL_MINUTES
    )
    return _Simulation(workdir / "lake", scale, _city(), options.seed, options.workers)


CASES += [
    Case("simulate generate, 1 proc", "readings", generation_case),
    Case("simulate + deliver", "readings", simulation_case),
]


# ----------------------------------------------------------------- city year
def city_landing(workdir: Path, options: Options) -> Trial:
    """The `city` preset (10,000 meters, 365 days) simulated once, then landed.

    The deliveries are kept in `workdir/city` (with --workdir) so a second
    run does not simulate them again.
    """
    from wattlake.config import find_project_dir, load_scales
    from wattlake.ingestion.simulate import simulate

    root = workdir / "city"
    done = root / "_bench_ready"
    lake = Lake(str(root))
    if not done.exists():
        scale = load_scales(find_project_dir())["city"]
        started = time.perf_counter()
        report = simulate(lake, scale, options.seed, _city(), options.workers)
        log.info(
            "bench: %s city readings simulated in %.0f s",
            f"{report.readings:,}",
            time.perf_counter() - started,
        )
        done.write_text(f"{report.readings}\n")
    return _Landing(lake, options.workers)


def _landed_city(workdir: Path, options: Options) -> Lake:
    """The city year, simulated and landed once (reused from the landing case)."""
    landed = workdir.parent / "case-land-city-year" / "city"
    if (landed / "raw" / "readings").is_dir():
        return Lake(str(landed))
    trial = city_landing(workdir, options)
    if not (workdir / "city" / "raw" / "readings").is_dir():
        trial.run()
    return Lake(str(workdir / "city"))


def _bench_settings(lake: Lake, warehouse: Path):  # noqa: ANN202 - Settings
    from wattlake.config import load_settings

    return load_settings().with_overrides(
        lake=lake.root, warehouse=warehouse, target="local", s3_endpoint_url=None
    )


@dataclass
class _Transform:
    """A full dbt build of the warehouse (clean readings and every mart, no tests)."""

    settings: object
    readings: int

    def reset(self) -> None:
        for path in self.settings.warehouse.parent.glob(
            self.settings.warehouse.name + "*"
        ):
            shutil.rmtree(path) if path.is_dir() else path.unlink()

    def run(self) -> int:
        from wattlake.transform import transform

        transform(self.settings, extra=NO_TESTS)
        return self.readings


# the data tests; `transform` already leaves dbt's unit tests out of every build
NO_TESTS = ["--exclude-resource-type", "test"]


def city_transform(workdir: Path, options: Options) -> Trial:
    """`wattlake transform` of the city year into a new warehouse (tests excluded)."""
    lake = _landed_city(workdir, options)
    readings = _parquet_rows(lake.raw_prefix("readings"))
    # the last run's warehouse is kept: the site daily mart case reads it
    return _Transform(_bench_settings(lake, _city_warehouse(workdir)), readings)


def redeliver(template: Path, tag: str, every: int = 50, days_later: int = 7) -> Path:
    """A corrected re-delivery of a CSV delivery in `landing/`: a late batch.

    The same rows under a new batch id (`<name>_<tag>`), every `every`-th value
    raised by 1 %, arriving `days_later` days after the template (its file
    time): the clean readings take the new values, so each date the template
    covers is restated. Lines that do not parse stay as they were.
    """
    stem = template.name.removesuffix(".csv.gz")
    target = template.with_name(f"{stem}_{tag}.csv.gz")
    with gzip.open(template, "rt", newline="") as source:
        lines = source.read().splitlines()
    header = lines[0].split(",") if lines else []
    if "value" not in header:
        raise ValueError(f"{template}: line 1 names no 'value' column")
    column = header.index("value")
    for number in range(every, len(lines), every):
        fields = lines[number].split(",")
        with contextlib.suppress(IndexError, ValueError):
            fields[column] = f"{float(fields[column]) * 1.01:.4f}"
            lines[number] = ",".join(fields)
    with gzip.open(target, "wt", newline="") as out:
        out.write("\n".join(lines) + "\n")
    arrived = template.stat().st_mtime + days_later * 86400
    os.utime(target, (arrived, arrived))
    return target


@dataclass
class _LateBatch:
    """A late batch into a built warehouse: `wattlake transform` restating its dates.

    Each run lands a new corrected re-delivery of `template` (not timed), then
    times the incremental transform, tests excluded (a refresh also runs the
    Spark job for the dates and the tests). The note names dbt's slowest models.
    """

    settings: object
    template: Path
    readings: int = 0
    note: str = ""
    delivered: list[Path] = field(default_factory=list)

    def reset(self) -> None:
        tag = f"bench{os.getpid()}x{len(self.delivered) + 1}"
        self.delivered.append(redeliver(self.template, tag))
        land_pending(Lake(self.settings.lake), workers=1)

    def run(self) -> int:
        from wattlake.transform import transform

        times = transform(self.settings, extra=NO_TESTS).node_seconds
        slowest = sorted(times, key=times.__getitem__, reverse=True)[:3]
        self.note = "slowest models " + ", ".join(
            f"{node.rsplit('.', 1)[-1]} {times[node]:.0f} s" for node in slowest
        )
        return self.readings

    def close(self) -> None:
        """Take the re-deliveries out of `landing/` (landed, they stay in raw/)."""
        for path in self.delivered:
            path.unlink(missing_ok=True)


def late_batch_template(lake: Lake) -> Path:
    """The lake's CSV delivery of the middle date (by the date in its name).

    Deliveries are named `readings_<area>_<YYYYMMDD>...`: the median date of
    them all, and of that date the first by name.
    """
    named = (
        (_named_date(path.name), path.name, path)
        for path in Path(lake.root, "landing", "metering").glob("readings_*.csv.gz")
    )
    deliveries = sorted(delivery for delivery in named if delivery[0])
    if not deliveries:
        raise FileNotFoundError(f"{lake.root}/landing/metering: no CSV delivery")
    middle = deliveries[len(deliveries) // 2][0]
    return next(path for day, _, path in deliveries if day == middle)


def _named_date(name: str) -> str:
    """The YYYYMMDD date a delivery's name carries after its area, or ''."""
    match = re.match(r"readings_[^_]+_(\d{8})", name)
    return match.group(1) if match else ""


def city_late_batch(workdir: Path, options: Options) -> Trial:
    """A late batch (one area's day, corrected) refreshed into the city warehouse."""
    settings = _built_city(workdir, options)
    template = late_batch_template(Lake(settings.lake))
    with gzip.open(template, "rt") as source:
        readings = sum(1 for _ in source) - 1
    return _LateBatch(settings, template, readings)


@dataclass
class _DailyMart:
    """fct_site_daily_usage rebuilt alone; timed by dbt's own time for the model."""

    settings: object
    rows: int = 0
    last_seconds: float | None = None

    def reset(self) -> None:
        self.last_seconds = None

    def run(self) -> int:
        from wattlake.transform import run_dbt

        report = run_dbt(
            self.settings, ["run", "--select", "fct_site_daily_usage", "--full-refresh"]
        )
        self.last_seconds = sum(report.node_seconds.values())
        return self.rows


# The same result as fct_site_daily_usage, by hand, from the clean Parquet files
# (and the site registry the warehouse holds): the baseline of the mart's model.
# Written as one would by hand for speed: time zones are converted once per
# distinct (zone, instant), not once per reading.
DAILY_BY_HAND = """
create or replace temp table daily_by_hand as
with sites as (
    select s.*, t.opens_at_hour, t.closes_at_hour, t.opens_on_weekends
    from wh.main.dim_sites s left join wh.main.site_types t using (site_type)
),
readings as not materialized (
    select c.meter_id, c.reading_start_utc, c.energy_kwh, c.interval_minutes,
        m.site_id, s.time_zone
    from read_parquet('{clean}/*/*.parquet') c
    join wh.main.int_meters_deduplicated m using (meter_id)
    join sites s on s.site_id = m.site_id
),
instants as (
    select time_zone, reading_start_utc,
        timezone(time_zone, timezone('UTC', reading_start_utc)) as local_start,
        timezone(time_zone, timezone('UTC', date_trunc('hour', reading_start_utc)))
            as local_hour
    from (select distinct time_zone, reading_start_utc from readings)
),
meter_hours as (
    select r.site_id, r.meter_id, date_trunc('hour', r.reading_start_utc) as hour_utc,
        cast(i.local_start as date) as day, i.local_hour,
        sum(r.energy_kwh) as kwh, sum(r.interval_minutes) as minutes, count(*) as n
    from readings r join instants i using (time_zone, reading_start_utc)
    group by all
),
hours as (
    select site_id, hour_utc, day, local_hour,
        sum(kwh) as kwh, sum(kwh * 60.0 / minutes) as kw, sum(minutes) as minutes,
        sum(n) as n, count(*) as meters
    from meter_hours group by all
),
days as (
    select h.site_id, h.day, sum(kwh) as kwh, max(kw) as peak_kw,
        arg_max(local_hour, kw) as peak_at,
        avg(kw) filter (where hour(local_hour) between 1 and 4) as night_kw,
        sum(kwh) filter (where s.opens_at_hour is not null and (
            (isodow(h.day) > 5 and not s.opens_on_weekends)
            or hour(local_hour) < s.opens_at_hour or hour(local_hour) >= s.closes_at_hour
        )) as after_hours_kwh,
        count(*) as hours, sum(n) as n, sum(minutes) as minutes, max(meters) as meters,
        date_diff('minute', timezone(any_value(s.time_zone), h.day::timestamp),
            timezone(any_value(s.time_zone), h.day::timestamp + interval 1 day)) as day_minutes
    from hours h join sites s using (site_id) group by h.site_id, h.day
)
select d.*, kwh * 60.0 / day_minutes / nullif(peak_kw, 0) as load_factor,
    kwh / nullif(s.floor_area_m2, 0) as kwh_per_m2,
    100.0 * minutes / (day_minutes * meters) as coverage_pct
from days d join sites s using (site_id)
"""


@dataclass
class _DailyByHand:
    settings: object

    def reset(self) -> None:
        pass

    def run(self) -> int:
        import duckdb

        with duckdb.connect() as connection:
            connection.execute("set timezone = 'UTC'")
            connection.execute(f"attach '{self.settings.warehouse}' as wh (read_only)")
            connection.execute(
                DAILY_BY_HAND.format(
                    clean=Path(self.settings.lake, "clean", "readings")
                )
            )
            return connection.execute("select count(*) from daily_by_hand").fetchone()[
                0
            ]


def _city_warehouse(workdir: Path) -> Path:
    return workdir.parent / "city-warehouse" / "city.duckdb"


def _built_city(workdir: Path, options: Options):  # noqa: ANN202 - Settings
    """A city warehouse built once, shared by the mart case and its baseline."""
    lake = _landed_city(workdir, options)
    settings = _bench_settings(lake, _city_warehouse(workdir))
    if not settings.warehouse.exists():
        from wattlake.transform import transform

        log.info("bench: building the city warehouse once for the daily mart case")
        transform(settings, extra=NO_TESTS)
    return settings


def daily_mart(workdir: Path, options: Options) -> Trial:
    """fct_site_daily_usage of the city year, the model alone (dbt's time for it)."""
    settings = _built_city(workdir, options)
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        rows = connection.execute(
            "select count(*) from main.fct_site_daily_usage"
        ).fetchone()[0]
    return _DailyMart(settings, rows)


def daily_by_hand(workdir: Path, options: Options) -> Trial:
    """The same site-days computed by one hand-written DuckDB query from clean/."""
    return _DailyByHand(_built_city(workdir, options))


@dataclass
class _SparkFeatures:
    """The Spark feature job (local[2]) over the whole clean/ of a lake."""

    lake: Lake
    readings: int
    spark: object = None

    def reset(self) -> None:
        shutil.rmtree(self.lake.anomaly_features_prefix(), ignore_errors=True)
        if self.spark is None:  # started once, outside the timed runs
            os.environ.setdefault("WATTLAKE_SPARK_MASTER", "local[2]")
            from wattlake.features.job import local_spark_session

            self.spark = local_spark_session("wattlake-bench")

    def run(self) -> int:
        from wattlake.features.job import run_features

        run_features(self.spark, self.lake)
        return self.readings


# The core hourly features of the Spark job (hourly energy, the same hour in
# the previous 8 weeks and its median, rolling 24 h and 7 d mean and standard
# deviation, flatline and zero hours) in one DuckDB query from the same files.
CORE_FEATURES_IN_DUCKDB = """
create temp table core_features as
with hourly as (
    select meter_id, date_trunc('hour', reading_start_utc) as hour_start_utc,
        sum(energy_kwh) as energy_kwh, count(*) as interval_count,
        min(energy_kwh) as min_kwh, max(energy_kwh) as max_kwh,
        count(*) filter (where energy_kwh = 0) as zeros
    from read_parquet('{clean}/*/*.parquet', hive_partitioning = true)
    group by all
),
windowed as (
    select *,
        list_sort([e for e in [
            max(energy_kwh) over (w range between interval 168 hours preceding and interval 168 hours preceding),
            max(energy_kwh) over (w range between interval 336 hours preceding and interval 336 hours preceding),
            max(energy_kwh) over (w range between interval 504 hours preceding and interval 504 hours preceding),
            max(energy_kwh) over (w range between interval 672 hours preceding and interval 672 hours preceding),
            max(energy_kwh) over (w range between interval 840 hours preceding and interval 840 hours preceding),
            max(energy_kwh) over (w range between interval 1008 hours preceding and interval 1008 hours preceding),
            max(energy_kwh) over (w range between interval 1176 hours preceding and interval 1176 hours preceding),
            max(energy_kwh) over (w range between interval 1344 hours preceding and interval 1344 hours preceding)
        ] if e is not null]) as same_hour,
        avg(energy_kwh) over (w range between interval 23 hours preceding and current row) as mean_24h_kwh,
        stddev_pop(energy_kwh) over (w range between interval 23 hours preceding and current row) as stddev_24h_kwh,
        avg(energy_kwh) over (w range between interval 167 hours preceding and current row) as mean_7d_kwh,
        stddev_pop(energy_kwh) over (w range between interval 167 hours preceding and current row) as stddev_7d_kwh,
        interval_count >= 2 and min_kwh = max_kwh and max_kwh <> 0 as is_flat,
        zeros = interval_count as is_zero
    from hourly
    window w as (partition by meter_id order by hour_start_utc)
)
select * exclude (same_hour),
    case when len(same_hour) >= 2 then list_median(same_hour) end as expected_kwh
from windowed
"""


@dataclass
class _CoreFeaturesInDuckdb:
    lake: Lake
    readings: int

    def reset(self) -> None:
        pass

    def run(self) -> int:
        import duckdb

        with duckdb.connect() as connection:
            connection.execute("set timezone = 'UTC'")
            connection.execute(
                CORE_FEATURES_IN_DUCKDB.format(clean=self.lake.clean_readings_prefix())
            )
        return self.readings


def _parquet_rows(folder: str) -> int:
    """Rows of every Parquet file under a local lake folder (from their footers)."""
    return sum(
        pq.ParquetFile(path).metadata.num_rows
        for path in Path(folder).rglob("*.parquet")
    )


def _city_clean(workdir: Path, options: Options) -> tuple[Lake, int]:
    """The built city lake and how many clean readings it holds."""
    lake = Lake(str(_built_city(workdir, options).lake))
    return lake, _parquet_rows(lake.clean_readings_prefix())


def spark_features(workdir: Path, options: Options) -> Trial:
    """The Spark anomaly feature job over the city year's clean readings."""
    return _SparkFeatures(*_city_clean(workdir, options))


def duckdb_features(workdir: Path, options: Options) -> Trial:
    """The job's core hourly features, one DuckDB query over the same files."""
    return _CoreFeaturesInDuckdb(*_city_clean(workdir, options))


# ------------------------------------------------------------------ dashboard
DASHBOARD_PAGES = {
    "city": "City",
    "patterns": "Patterns",
    "sites": "Sites",
    "anomalies": "Anomalies and alerts",
    "quality": "Data quality",
}
PAGE_DONE = """title => {
    const app = document.querySelector('[data-testid="stApp"]');
    const heading = document.querySelector('[data-testid="stMain"] h1');
    const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
    return app && app.dataset.testScriptState === 'notRunning'
        && heading && heading.textContent.includes(title)
        && charts.every(chart => chart.querySelector('svg.marks'));
}"""


class _DashboardPages:
    """Every dashboard page in headless Chromium, on a city warehouse.

    A user opens the dashboard once, then moves between pages with its links.
    Prepared by serving the dashboard, opening it and visiting every page once
    (first visits fill the caches; their times are reported, not the target).
    Each run visits every page again with the same filters (the target: under
    2 s once a page has been seen), then opens the dashboard with filters not
    seen before (one area, two weeks ending another day) and visits every page
    with them. A visit is timed from the click on the page's link until the
    page's script has finished and every chart is drawn. The run's time is the
    slowest page seen again; the note lists every page.
    """

    def __init__(self, warehouse: Path, project_dir: Path) -> None:
        import socket
        import subprocess

        from wattlake.dashboards import dashboard_command

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.warehouse = warehouse
        env = {
            **os.environ,
            "WATTLAKE_PROJECT_DIR": str(project_dir),
            "WATTLAKE_TARGET": "local",
            "WATTLAKE_WAREHOUSE": str(warehouse),
        }
        self.server = subprocess.Popen(
            dashboard_command(port),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.runs = 0
        self.note = ""
        self._wait_for_server()
        from playwright.sync_api import sync_playwright

        chromium = os.environ.get("WATTLAKE_CHROMIUM") or shutil.which("chromium")
        if chromium is None:
            self.close()
            raise RuntimeError("the dashboard case needs chromium (make browser)")
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        self.page = self.browser.new_page(viewport={"width": 1400, "height": 1100})
        self.opened = self._open("")
        self.first = self._visit_all()

    def _wait_for_server(self, seconds: float = 120) -> None:
        import urllib.request

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(
                    f"the dashboard exited with {self.server.returncode}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("the dashboard did not start")

    def _open(self, query: str) -> float:
        """Open the dashboard (City) at an address; seconds until it is drawn."""
        started = time.perf_counter()
        self.page.goto(f"{self.url}/{query}")
        self.page.wait_for_function(PAGE_DONE, arg="City", timeout=300_000)
        return time.perf_counter() - started

    def _visit(self, key: str) -> float:
        title = DASHBOARD_PAGES[key]
        started = time.perf_counter()
        link = self.page.locator('[data-testid="stPageLink-NavLink"]', has_text=title)
        link.first.click()
        self.page.wait_for_function(PAGE_DONE, arg=title, timeout=300_000)
        seconds = time.perf_counter() - started
        errors = self.page.locator(
            '[data-testid="stException"], [data-testid="stAlertContentError"]'
        )
        if errors.count():
            log.warning("bench: %s shows an error: %s", key, errors.first.inner_text())
        return seconds

    def _visit_all(self) -> dict[str, float]:
        # City last: its link from City itself would not rerun the page
        order = [*list(DASHBOARD_PAGES)[1:], "city"]
        return {key: self._visit(key) for key in order}

    def reset(self) -> None:
        """Nothing to reset: the caches are what the case measures."""

    def run(self) -> int:
        """Visit every page again, then with new filters; time the slowest."""
        import duckdb

        self.runs += 1
        again = self._visit_all()
        with duckdb.connect(str(self.warehouse), read_only=True) as connection:
            areas = [
                row[0]
                for row in connection.execute(
                    "select area_id from main.dim_areas order by area_id"
                ).fetchall()
            ]
            last = connection.execute(
                "select max(reading_date_local) from main.fct_area_daily_usage"
            ).fetchone()[0]
        end = last - timedelta(days=7 * self.runs)
        opened = self._open(
            f"?start={end - timedelta(days=13)}&end={end}"
            f"&area={areas[self.runs % len(areas)]}"
        )
        fresh = self._visit_all()
        slowest = max(again, key=again.get)
        self.last_seconds = again[slowest]
        self.note = (
            f"slowest page once seen: {slowest} {again[slowest]:.2f} s (target < 2 s); "
            f"opening the dashboard {self.opened:.2f} s (new filters {opened:.2f} s); "
            "per page first visit / again / new filters: "
            + ", ".join(
                f"{key} {self.first[key]:.2f} / {again[key]:.2f} / {fresh[key]:.2f} s"
                for key in DASHBOARD_PAGES
            )
        )
        log.info("bench: dashboard: %s", self.note)
        return len(DASHBOARD_PAGES)

    def close(self) -> None:
        """Stop the browser and the server."""
        import signal

        for closing in (
            lambda: self.browser.close(),
            lambda: self.playwright.stop(),
        ):
            with contextlib.suppress(Exception):  # what may not have started
                closing()
        with contextlib.suppress(ProcessLookupError, OSError):
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(timeout=15)


def dashboard_pages(workdir: Path, options: Options) -> Trial:
    """Every dashboard page on the city warehouse (--warehouse, or the one built here)."""
    if options.warehouse is not None:
        warehouse = options.warehouse
    else:
        warehouse = _built_city(workdir, options).warehouse
    from wattlake.config import find_project_dir

    return _DashboardPages(warehouse, find_project_dir())


CITY_CASES = [
    Case("land city year", "readings", city_landing, long=True),
    Case("transform city year", "readings", city_transform, long=True),
    Case("late batch into city", "late readings", city_late_batch, long=True),
    Case(
        "site daily mart",
        "site-days",
        daily_mart,
        baseline_name="hand query",
        baseline=daily_by_hand,
        long=True,
    ),
    Case(
        "anomaly features (Spark)",
        "readings",
        spark_features,
        baseline_name="core features in DuckDB",
        baseline=duckdb_features,
        long=True,
    ),
    Case("dashboard pages", "pages", dashboard_pages),
]


# ------------------------------------------------------------------ measuring
class _PeakMemory:
    """Sample the resident memory of this process and its children."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(os.getpid()))
            self._stop.wait(self.every)


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        rss[int(entry.name)] = int(fields[21]) * page
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending.extend(child for child, parent in parents.items() if parent == pid)
    return total


def _timed(trial: Trial, runs: int) -> Iterator[tuple[float, int]]:
    for _ in range(runs):
        trial.reset()
        started = time.perf_counter()
        items = trial.run()
        elapsed = time.perf_counter() - started
        # a trial may time itself more precisely (e.g. one dbt model, not dbt's start-up)
        yield getattr(trial, "last_seconds", None) or elapsed, items


def case_folder(workdir: Path, case: Case, role: str = "case") -> Path:
    """Where a case keeps its inputs and outputs (one folder per case)."""
    return workdir / f"{role}-{case.name.replace(' ', '-').replace('.', '-')}"


def measure(case: Case, options: Options, workdir: Path) -> Result:
    """Prepare a case (and its baseline) and time their runs."""
    runs = options.long_runs if case.long else options.runs
    log.info("bench: preparing %s", case.name)
    trial = case.prepare(case_folder(workdir, case), options)
    try:
        with _PeakMemory() as memory:
            timed = list(_timed(trial, runs))
    finally:
        if hasattr(trial, "close"):
            trial.close()
    baseline: list[tuple[float, int]] = []
    if case.baseline is not None:
        shutil.rmtree(case_folder(workdir, case), ignore_errors=True)
        baseline_folder = case_folder(workdir, case, "baseline")
        baseline = list(_timed(case.baseline(baseline_folder, options), runs))
        shutil.rmtree(baseline_folder, ignore_errors=True)
    return Result(
        case=case,
        items=timed[0][1],
        seconds=[seconds for seconds, _ in timed],
        peak_rss_bytes=memory.peak,
        baseline_seconds=[seconds for seconds, _ in baseline],
        baseline_items=baseline[0][1] if baseline else 0,
        note=getattr(trial, "note", ""),
    )


def report(results: list[Result], options: Options) -> str:
    """The results as a table."""
    lines = [
        f"Wattlake benchmark, {platform.node()}: {_usable_cores()} cores, "
        f"{options.workers} landing workers, Python {platform.python_version()}, "
        f"pyarrow {pa.__version__}; median of the runs",
        "",
        f"{'case':22} {'items':>14} {'median/s':>10} {'runs (s)':28} "
        f"{'peak RSS':>9} {'baseline':>14} {'median/s':>10} {'ratio':>6}",
    ]
    for result in results:
        runs = " ".join(f"{seconds:.2f}" for seconds in result.seconds)
        base, base_rate, ratio = "-", "-", "-"
        if result.baseline_rate is not None:
            base = result.case.baseline_name or "baseline"
            base_rate = _millions(result.baseline_rate)
            ratio = f"{result.rate / result.baseline_rate:.2f}"
        lines.append(
            f"{result.case.name:22} {result.items:>14,} {_millions(result.rate):>10} "
            f"{runs:28} {result.peak_rss_bytes / 2**30:>7.2f}GB {base:>14} "
            f"{base_rate:>10} {ratio:>6}"
        )
    lines += [f"{result.case.name}: {result.note}" for result in results if result.note]
    lines += [
        "",
        f"items: {results[0].case.unit if results else 'readings'} per run; "
        "peak RSS: this process and its workers together, sampled every 50 ms.",
    ]
    return "\n".join(lines)


def _millions(rate: float) -> str:
    if rate < 10_000:  # pages, not readings
        return f"{rate:.2f}"
    return f"{rate / 1e6:.2f} M"


def _context() -> multiprocessing.context.BaseContext:
    """Start worker processes as landing does (fork on Linux), for a fair baseline."""
    return multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the report."""
    parser = argparse.ArgumentParser(
        prog="python -m wattlake.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--scale",
        choices=("landing", "city"),
        default="landing",
        help="landing: the per-format cases; city: also land and transform a city year",
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="timed runs per case (median)"
    )
    parser.add_argument(
        "--long-runs", type=int, default=1, help="timed runs of the city year"
    )
    parser.add_argument(
        "--deliveries", type=int, default=8, help="deliveries per landing case"
    )
    parser.add_argument(
        "--meters",
        type=int,
        default=2500,
        help="meters per delivery (2,500 x 96 a day: a city area's daily batch)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="landing workers (default: WATTLAKE_LAND_WORKERS or the cores)",
    )
    parser.add_argument(
        "--case",
        action="append",
        default=[],
        help="run only the cases whose name contains this (repeatable)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep inputs here (the city deliveries are reused); default: a temporary folder",
    )
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="the dashboard case: an existing city warehouse, opened read-only "
        "(default: the one the city cases build)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("wattlake.ingestion").setLevel(logging.WARNING)  # progress
    options = Options(
        runs=args.runs,
        long_runs=args.long_runs,
        deliveries=args.deliveries,
        meters=args.meters,
        workers=args.workers or land_workers(),
        warehouse=args.warehouse,
    )
    cases = CASES + (CITY_CASES if args.scale == "city" else [])
    if args.case:
        cases = [case for case in cases if any(part in case.name for part in args.case)]
    with tempfile.TemporaryDirectory(prefix="wattlake-bench-") as scratch:
        workdir = args.workdir or Path(scratch)
        results = []
        for case in cases:
            results.append(measure(case, options, workdir))
            if case not in CITY_CASES:  # the city year is reused by the next cases
                shutil.rmtree(case_folder(workdir, case), ignore_errors=True)
    print(report(results, options))  # the report is the bench's output
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
