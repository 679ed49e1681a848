"""`wattlake`: one command per pipeline stage, and `run` for all of them in order.

The CLI is thin: it resolves the settings (wattlake.toml + environment + flags),
builds the `Lake`, and calls one stage function per subcommand. Every stage
logs progress and ends with a short summary: what it wrote, how long it took,
where the output is.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.server
import logging
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from wattlake.config import ConfigError, Settings, load_scales, load_settings
from wattlake.storage import Lake, LakeError

if TYPE_CHECKING:
    from wattlake.refresh import RefreshRun

log = logging.getLogger("wattlake")


@dataclass(frozen=True)
class StageResult:
    """One stage's outcome, as the run summary shows it."""

    stage: str
    summary: str
    seconds: float
    ok: bool = True


# --------------------------------------------------------------------------- stages
def stage_simulate(settings: Settings) -> StageResult:
    """Simulate the scale's deliveries into `landing/`."""
    from wattlake.ingestion.simulate import default_city, simulate

    lake = _lake(settings)
    scale = settings.scale
    city = default_city(settings.project_dir)
    log.info(
        "simulate: scale %s: %d sites, %d days from %s, seed %d -> %s",
        scale.name,
        scale.sites,
        scale.days,
        scale.start,
        settings.seed,
        lake.landing_prefix(),
    )
    report = simulate(lake, scale, settings.seed, city)
    return StageResult(
        "simulate",
        f"{report.readings:,} readings, {report.anomalies} anomalies, "
        f"{report.faults:,} delivery faults in {report.deliveries_written} new deliveries "
        f"({report.deliveries_unchanged} already there) -> {report.landing}",
        report.seconds,
    )


def stage_land(settings: Settings) -> StageResult:
    """Land every new delivery: `landing/` -> `raw/` + `_manifests/`."""
    from wattlake.ingestion.land import land_pending

    lake = _lake(settings)
    report = land_pending(lake)
    summary = (
        f"{report.rows:,} rows in {len(report.landed)} new batches "
        f"({report.unchanged} already landed) -> {lake.root}/raw"
    )
    for problem in report.problems:
        log.error("land: %s", problem)
    if report.problems:
        summary += f"; {len(report.problems)} deliveries NOT landed (see errors above)"
    return StageResult("land", summary, report.seconds, ok=not report.problems)


def stage_import(settings: Settings, export: Path, mapping: str) -> StageResult:
    """Import a real meter export through a mapping: `landing/` -> `raw/`."""
    from wattlake.ingestion.importer import import_export
    from wattlake.ingestion.mapping import resolve_mapping

    lake = _lake(settings)
    resolved = resolve_mapping(mapping, settings.project_dir, _site_types(settings))
    log.info(
        "import: %s with mapping %s (%s layout, %d-minute %s, timestamps in %s) -> %s",
        export,
        resolved.path,
        resolved.layout,
        resolved.interval_minutes,
        resolved.unit,
        resolved.time_zone,
        lake.landing_prefix(),
    )
    report = import_export(lake, export, resolved)
    for line in report.lines():
        log.info("import: %s", line)
    for problem in report.problems:
        log.error("import: %s", problem)
    rows = f"{report.readings_rows:,} readings"
    if report.weather_rows:
        rows += f" + {report.weather_rows:,} weather rows"
    summary = (
        f"{rows} from {report.data_lines:,} lines ({report.empty_lines:,} empty) "
        f"in {len(report.batches)} batches ({report.count('landed')} new, "
        f"{report.count('unchanged')} already landed) -> {lake.root}/raw"
    )
    if report.problems:
        summary += f"; {len(report.problems)} batches NOT landed (see errors above)"
    return StageResult("import", summary, report.seconds, ok=not report.problems)


def stage_transform(
    settings: Settings, selector: str | None = None, extra: list[str] | None = None
) -> StageResult:
    """Dbt build (all models, or one selector of selectors.yml)."""
    from wattlake.transform import transform

    report = transform(settings, selector, extra)
    return _transform_result(report, selector)


def stage_unit_tests(settings: Settings) -> StageResult:
    """Dbt's unit tests, on the warehouse as it is."""
    from wattlake.transform import unit_tests

    return _transform_result(unit_tests(settings), "unit tests")


def _transform_result(report, label: str | None) -> StageResult:
    counts = (
        ", ".join(f"{k}={v}" for k, v in sorted(report.statuses.items()))
        or "nothing run"
    )
    marts = ""
    if label != "lake_clean":  # that step builds no marts: do not show older ones
        marts = ", ".join(f"{t} {n:,} rows" for t, n in report.mart_rows.items())
    where = f" -> {report.warehouse}" + (f" ({marts})" if marts else "")
    return StageResult(
        "transform" + (f" [{label}]" if label else ""),
        f"dbt {counts}{where}",
        report.seconds,
    )


def stage_features(
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    force: bool = False,
) -> StageResult:
    """The Spark anomaly feature job in local mode.

    Computes only the dates whose inputs changed since their features were
    (`dates_to_compute`), from the first to the last of them; none, and
    Spark is not started. `force` computes every date of [start, end].
    """
    from wattlake.features.job import (
        dates_to_compute,
        feature_state,
        input_listing,
        local_spark_session,
        nothing_to_compute,
        record_run,
        run_features_on_lake,
    )

    lake = _lake(settings)
    started = time.perf_counter()
    output = lake.anomaly_features_prefix()
    # checked before Spark takes its seconds to start, on one listing
    listing = input_listing(lake)
    report = nothing_to_compute(lake, start, end, listing)
    if report is not None:
        return _features_result(report, started)
    state = feature_state(lake, listing)
    wanted = state.dates(start, end)
    stale, kept = dates_to_compute(lake, state, start, end)
    stale = wanted if force else stale
    if not stale:
        log.info(
            "features: the inputs of every date from %s to %s (readings, registry, "
            "weather, the job's code) are those its features were computed from "
            "(`wattlake features --force` computes anyway)",
            wanted[0],
            wanted[-1],
        )
        return StageResult(
            "features",
            f"{len(wanted)} dates ({wanted[0]} to {wanted[-1]}) unchanged since "
            f"computed: not computed again -> {output}",
            time.perf_counter() - started,
        )
    if stale != wanted:
        log.info(
            "features: %d of %d dates have other inputs than their features were "
            "computed from: computing %s to %s",
            len(stale),
            len(wanted),
            stale[0],
            stale[-1],
        )
    # open ends stay open: a run of every date reads as it always has
    first = None if start is None and stale[0] == wanted[0] else stale[0]
    last = None if end is None and stale[-1] == wanted[-1] else stale[-1]
    log.info("features: starting Spark (local mode)")
    spark = local_spark_session()
    try:
        report = run_features_on_lake(spark, lake, first, last)
    finally:
        spark.stop()
    record_run(lake, state, kept, first, last)
    return _features_result(report, started)


def _features_result(report, started: float) -> StageResult:
    span = f"{report.first_date} to {report.last_date}" if report.rows else "no dates"
    return StageResult(
        "features",
        f"{report.rows:,} meter-hours ({span}) -> {report.output}",
        time.perf_counter() - started,
    )


def stage_evaluate(settings: Settings, skip_without_truth: bool = False) -> StageResult:
    """Detected anomalies (fct_anomalies) against the simulator's ground truth.

    In `wattlake run`, a lake of real exports (no ground truth) skips it.
    """
    from wattlake.evaluate import TRUTH_FILE, evaluate

    lake = _lake(settings)
    if skip_without_truth and not lake.exists(lake.truth(TRUTH_FILE)):
        return StageResult("evaluate", "skipped: no ground truth (real data)", 0.0)
    evaluation = evaluate(lake, str(settings.warehouse))
    for line in evaluation.table():
        log.info("evaluate: %s", line)
    return StageResult(
        "evaluate",
        f"{evaluation.summary()} -> {lake.truth('evaluation.json')}",
        evaluation.seconds,
    )


def stage_export(settings: Settings) -> StageResult:
    """Tableau: the marts' Hyper extract, the packaged workbook, live data sources."""
    from wattlake.export.tableau import export_hyper, tableau_dir
    from wattlake.export.workbook import export_workbook

    started = time.perf_counter()
    extract = export_hyper(settings)
    workbook = export_workbook(settings, extract.columns, extract.path, extract.changed)
    rows = sum(extract.rows.values())
    if extract.rewrite_reason:
        refresh = f"all rewritten: {extract.rewrite_reason}"
    else:
        refresh = f"{len(extract.replaced)} changed and replaced" + (
            f": {', '.join(extract.replaced)}" if extract.replaced else ""
        )
    return StageResult(
        "export",
        f"{len(extract.rows)} marts, {rows:,} rows ({refresh}) -> {extract.path}; "
        f"workbook -> {workbook.workbook}; live Athena/Redshift data sources -> "
        f"{tableau_dir(settings)}/{{athena,redshift}}/*.tds",
        time.perf_counter() - started,
    )


def stage_docs(settings: Settings) -> StageResult:
    """Generate the dbt docs site as one static page."""
    from wattlake.transform import dbt_target_dir, run_dbt

    started = time.perf_counter()
    run_dbt(settings, ["docs", "generate", "--static"])
    site = settings.build_dir / "docs"
    site.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dbt_target_dir(settings) / "static_index.html", site / "index.html")
    return StageResult(
        "docs", f"dbt docs site -> {site / 'index.html'}", time.perf_counter() - started
    )


def stage_watch(
    settings: Settings, interval: float, debounce: float, once: bool
) -> StageResult:
    """Watch the lake's landing/ and run the local DAG for new batches (the Lambda's logic)."""
    from datetime import timedelta

    from wattlake.refresh.local import LocalRunner, Watcher

    started = time.perf_counter()
    lake = _lake(settings)
    lake.ensure_folders()
    runner = LocalRunner(partial(refresh_dag, settings))
    watcher = Watcher(lake, runner, timedelta(seconds=debounce), check_all=once)
    with contextlib.suppress(KeyboardInterrupt):
        watcher.watch(interval, once=once)
    landed = sum(len(b.batch_ids) for b in runner.runs)
    return StageResult(
        "watch",
        f"{len(runner.runs)} refresh runs for {landed} batches -> {settings.warehouse}",
        time.perf_counter() - started,
    )


def refresh_dag(settings: Settings, run: RefreshRun) -> None:
    """The local DAG of one refresh run, as the AWS state machine runs it.

    dbt lake_clean, the Spark features for the dates the new readings reach
    (`RefreshRun.feature_span`), dbt marts (with their tests), and the export;
    a failed stage stops the run.
    """
    span = run.feature_span()
    stages: list[Callable[[], StageResult]] = [
        partial(stage_transform, settings, "lake_clean"),
    ]
    if span:
        stages.append(partial(stage_features, settings, *span))
    stages.append(partial(stage_transform, settings, "marts"))
    if settings.target == "local":
        stages.append(partial(stage_export, settings))
    for stage in stages:
        result = stage()
        _report(result)
        if not result.ok:
            raise RuntimeError(f"refresh {run.run_id}: {result.stage} failed")


def stage_cloud_run(settings: Settings) -> StageResult:
    """The AWS state machine for what landed, followed to its end."""
    from wattlake.refresh.aws import (
        StepFunctionsRunner,
        run_in_the_cloud,
        state_machine_arn,
    )

    started = time.perf_counter()
    lake = _lake(settings)
    if not lake.is_s3:
        raise ConfigError(
            f"--target {settings.target} runs the AWS state machine, which reads an "
            f"S3 lake; the lake is {settings.lake} (set WATTLAKE_LAKE=s3://...)"
        )
    outcome = run_in_the_cloud(lake, StepFunctionsRunner(state_machine_arn(), lake))
    return StageResult(
        "cloud run",
        f"execution {outcome['execution']} {outcome['status']}",
        time.perf_counter() - started,
        ok=outcome["status"] == "SUCCEEDED",
    )


def stage_deploy(settings: Settings, args: argparse.Namespace) -> StageResult:
    """Package and deploy the AWS stacks (infra/)."""
    import os

    from wattlake.deploy import DeployPlan, deploy, git_commit

    started = time.perf_counter()
    region = (
        args.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    if not region:
        raise ConfigError("deploy: give --region (or set AWS_REGION)")
    parameters = {
        "RefreshSchedule": args.schedule,
        "DebounceSeconds": str(args.debounce),
        "AthenaBytesScannedCutoff": str(int(args.athena_scan_limit_gb * 2**30)),
        "EnableRedshift": "false" if args.no_redshift else "true",
        "RedshiftBaseCapacity": str(args.redshift_base_capacity),
    }
    if args.alert_email:
        parameters["AlertEmail"] = args.alert_email
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"deploy: --param {item!r} is not KEY=VALUE")
        parameters[key] = value
    plan = DeployPlan(
        name=args.name,
        region=region,
        image_tag=args.image_tag or git_commit(settings.project_dir),
        parameters=parameters,
    )
    outputs = deploy(settings, plan, dry_run=args.dry_run)
    summary = (
        f"dry run: packaged in {settings.build_dir / 'deploy'}"
        if args.dry_run
        else f"stack {plan.main_stack} in {region}: lake {outputs.get('LakeUri')}"
    )
    return StageResult("deploy", summary, time.perf_counter() - started)


def run_all(settings: Settings) -> list[StageResult]:
    """Every stage in the order of the AWS state machine."""
    if settings.target == "athena":
        # land from here, then the state machine runs the rest on AWS
        cloud = [
            partial(stage_simulate, settings),
            partial(stage_land, settings),
            partial(stage_cloud_run, settings),
        ]
        return [_report_and_return(stage()) for stage in cloud]
    stages: list[Callable[[], StageResult]] = [
        partial(stage_simulate, settings),
        partial(stage_land, settings),
        partial(stage_transform, settings, "lake_clean"),
        partial(stage_features, settings),
        partial(stage_transform, settings, "marts"),
    ]
    if settings.target == "local":
        stages.append(partial(stage_evaluate, settings, skip_without_truth=True))
        stages.append(partial(stage_export, settings))
    stages.append(partial(stage_docs, settings))
    results = []
    for stage in stages:
        result = stage()
        _report(result)
        results.append(result)
    return results


# ----------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs and tests)."""
    parser = argparse.ArgumentParser(
        prog="wattlake",
        description="Wattlake: electricity monitoring for a city. "
        "Settings come from wattlake.toml, then WATTLAKE_* variables, then these flags.",
    )
    parser.add_argument(
        "--lake", help="lake location: a local path or s3://bucket/prefix"
    )
    parser.add_argument(
        "--s3-endpoint-url", help="S3-compatible endpoint, e.g. http://127.0.0.1:5000"
    )
    parser.add_argument(
        "--target", choices=("local", "athena", "redshift"), help="dbt target"
    )
    parser.add_argument("--scale", help="simulator preset (ingestion/scales.toml)")
    parser.add_argument("--seed", type=int, help="simulator seed")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only warnings and the summary"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("simulate", help="simulate meter deliveries into landing/")
    commands.add_parser(
        "land", help="land new deliveries: landing/ -> raw/ + manifests"
    )
    import_ = commands.add_parser(
        "import",
        help="import a real meter export through a mapping: landing/ -> raw/",
    )
    import_.add_argument("export", type=Path, help="the export file (CSV, .gz or not)")
    import_.add_argument(
        "--mapping",
        required=True,
        help="a mapping in ingestion/mappings/ (e.g. london_lcl) or a .toml path",
    )
    transform = commands.add_parser(
        "transform",
        help="dbt build; arguments after -- go to dbt (e.g. -- --select fct_site_daily_usage)",
    )
    transform.add_argument(
        "--selector", help="a selector of selectors.yml (lake_clean, marts)"
    )
    transform.add_argument(
        "--unit-tests",
        action="store_true",
        help="run dbt's unit tests (left out of every build) on the built warehouse",
    )
    transform.add_argument("dbt_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    features = commands.add_parser(
        "features", help="Spark anomaly features: clean/ -> curated/"
    )
    features.add_argument(
        "--start", type=date.fromisoformat, help="first reading date (YYYY-MM-DD)"
    )
    features.add_argument(
        "--end", type=date.fromisoformat, help="last reading date (YYYY-MM-DD)"
    )
    features.add_argument(
        "--force",
        action="store_true",
        help="compute every date, also those whose inputs are unchanged",
    )
    commands.add_parser(
        "evaluate",
        help="precision, recall and F1 of fct_anomalies against the simulator's truth",
    )
    commands.add_parser(
        "export",
        help="Tableau: .hyper extract of the marts, packaged .twbx workbook, live .tds sources",
    )
    docs = commands.add_parser("docs", help="generate the dbt docs site")
    docs.add_argument(
        "--serve", action="store_true", help="serve the site after generating it"
    )
    docs.add_argument(
        "--port", type=int, default=8080, help="port for --serve (default 8080)"
    )
    dashboard = commands.add_parser(
        "dashboard", help="serve the web dashboard on the marts (Streamlit)"
    )
    dashboard.add_argument(
        "--public",
        action="store_true",
        help="public view: areas and site types only, groups under 5 homes suppressed",
    )
    dashboard.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    dashboard.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    commands.add_parser(
        "run",
        help="all stages in order: simulate, land, transform, features, marts, evaluate, "
        "export, docs (--target athena: simulate, land, then the AWS state machine)",
    )
    watch = commands.add_parser(
        "watch",
        help="watch landing/ and refresh the marts when new batches land (the Lambda's logic)",
    )
    watch.add_argument(
        "--interval", type=float, default=5.0, help="seconds between polls (default 5)"
    )
    watch.add_argument(
        "--debounce",
        type=float,
        default=30.0,
        help="a burst of batches within this many seconds starts one run (default 30)",
    )
    watch.add_argument(
        "--once",
        action="store_true",
        help="land and refresh what is new, then stop (instead of watching on)",
    )
    deploy = commands.add_parser(
        "deploy", help="package and deploy the AWS stacks (infra/; README: AWS)"
    )
    deploy.add_argument("--region", help="AWS region (default: AWS_REGION)")
    deploy.add_argument(
        "--name",
        default="wattlake",
        help="stack and resource name prefix: lowercase letters and digits (default wattlake)",
    )
    deploy.add_argument(
        "--schedule",
        default="rate(1 minute)",
        help="how often pending batches are checked (default 'rate(1 minute)')",
    )
    deploy.add_argument(
        "--debounce",
        type=int,
        default=300,
        help="seconds a burst of deliveries is gathered into one run (default 300)",
    )
    deploy.add_argument(
        "--athena-scan-limit-gb",
        type=float,
        default=100.0,
        help="Athena cancels queries scanning more (default 100 GiB)",
    )
    deploy.add_argument(
        "--no-redshift", action="store_true", help="leave out Redshift Serverless"
    )
    deploy.add_argument(
        "--redshift-base-capacity",
        type=int,
        default=8,
        help="Redshift Serverless base RPUs (default 8, the smallest)",
    )
    deploy.add_argument("--alert-email", help="subscribe this address to the alerts")
    deploy.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other parameter of infra/template.yaml (repeatable)",
    )
    deploy.add_argument("--image-tag", help="image tag (default: the git commit)")
    deploy.add_argument(
        "--dry-run",
        action="store_true",
        help="package and print the plan without calling AWS",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `wattlake` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        settings = _settings(args)
        started = time.perf_counter()
        if args.command == "run":
            results = run_all(settings)
            _final_summary(settings, results, time.perf_counter() - started)
            return 0 if all(result.ok for result in results) else 1
        if args.command == "dashboard":
            from wattlake.dashboards import serve

            return serve(settings, args.port, args.host, args.public)
        result = _single(args, settings)
        _report(result, logging.WARNING)  # the command's summary: --quiet keeps it
        if args.command == "docs" and args.serve:
            _serve(settings.build_dir / "docs", args.port)
        return 0 if result.ok else 1
    except (ConfigError, LakeError) as exc:
        log.error("wattlake: %s", exc)
        return 2
    except Exception as exc:  # noqa: BLE001 - every stage error ends here with its message
        if type(exc).__module__.startswith("wattlake"):
            log.error("wattlake %s failed: %s", args.command, exc)
            return 1
        raise


def _single(args: argparse.Namespace, settings: Settings) -> StageResult:
    if args.command == "simulate":
        return stage_simulate(settings)
    if args.command == "land":
        return stage_land(settings)
    if args.command == "import":
        return stage_import(settings, args.export, args.mapping)
    if args.command == "transform":
        extra = [arg for arg in args.dbt_args if arg != "--"]
        if args.unit_tests:
            if extra or args.selector:
                raise ConfigError(
                    "transform --unit-tests runs every dbt unit test: it takes no "
                    f"--selector and no dbt arguments (got {' '.join(extra) or args.selector})"
                )
            return stage_unit_tests(settings)
        return stage_transform(settings, args.selector, extra)
    if args.command == "features":
        return stage_features(settings, args.start, args.end, args.force)
    if args.command == "evaluate":
        return stage_evaluate(settings)
    if args.command == "export":
        return stage_export(settings)
    if args.command == "docs":
        return stage_docs(settings)
    if args.command == "watch":
        return stage_watch(settings, args.interval, args.debounce, args.once)
    if args.command == "deploy":
        return stage_deploy(settings, args)
    raise ValueError(f"unknown command {args.command}")


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings()
    changes: dict[str, object] = {}
    if args.lake:
        from wattlake.config import resolve_lake

        changes["lake"] = resolve_lake(args.lake, Path.cwd(), "--lake")
    if args.s3_endpoint_url:
        changes["s3_endpoint_url"] = args.s3_endpoint_url
    if args.target:
        changes["target"] = args.target
    if args.scale:
        scales = load_scales(settings.project_dir)
        if args.scale not in scales:
            raise ConfigError(
                f"--scale {args.scale!r} is not one of {', '.join(sorted(scales))}"
            )
        changes["scale"] = scales[args.scale]
    if args.seed is not None:
        changes["seed"] = args.seed
    return settings.with_overrides(**changes) if changes else settings


def _lake(settings: Settings) -> Lake:
    return Lake(settings.lake, settings.s3_endpoint_url)


def _site_types(settings: Settings) -> set[str] | None:
    """The site types of `seeds/site_types.csv`, or None without a project."""
    seed = settings.project_dir / "seeds" / "site_types.csv"
    if not seed.is_file():
        return None
    with seed.open(newline="", encoding="utf-8") as handle:
        return {row["site_type"] for row in csv.DictReader(handle)}


def _report_and_return(result: StageResult) -> StageResult:
    _report(result)
    return result


def _report(result: StageResult, level: int = logging.INFO) -> None:
    """A stage's one-line summary (an error when it failed)."""
    level = level if result.ok else logging.ERROR
    log.log(level, "%s: %s (%.1f s)", result.stage, result.summary, result.seconds)


def _final_summary(
    settings: Settings, results: list[StageResult], seconds: float
) -> None:
    width = max(len(result.stage) for result in results)
    lines = [
        "",
        f"Wattlake run finished in {seconds:.0f} s (scale {settings.scale.name}, seed {settings.seed}):",
    ]
    for result in results:
        mark = "ok " if result.ok else "ERR"
        lines.append(
            f"  {mark} {result.stage:<{width}}  {result.seconds:6.1f} s  {result.summary}"
        )
    lines.append("")
    lines.append(f"  lake:       {settings.lake}")
    if settings.target == "local":
        lines.append(
            f"  marts:      {settings.warehouse} (DuckDB: dim_sites, fct_site_daily_usage, fct_area_daily_usage)"
        )
        lines.append(
            "  anomalies:  fct_anomalies, fct_anomaly_alerts (scores against the"
            " simulator's truth: wattlake evaluate)"
        )
        lines.append(
            f"  tableau:    {settings.build_dir / 'tableau' / 'wattlake.twbx'} (workbook;"
            f" extract {settings.build_dir / 'tableau' / 'wattlake.hyper'},"
            f" live sources {settings.build_dir / 'tableau'}/{{athena,redshift}}/)"
        )
        lines.append(
            "  dashboard:  wattlake dashboard  (then open http://127.0.0.1:8501/;"
            " --public for the public view)"
        )
    else:
        lines.append(f"  marts:      dbt target {settings.target}")
    lines.append(
        f"  docs site:  {settings.build_dir / 'docs' / 'index.html'} (serve it: wattlake docs --serve)"
    )
    log.warning("\n".join(lines))


def _serve(site: Path, port: int) -> None:
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        log.info(
            "docs: serving %s at http://127.0.0.1:%d/ (Ctrl-C to stop)", site, port
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
