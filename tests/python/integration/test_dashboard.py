"""`wattlake dashboard` served for real and opened in headless Chromium.

One server for the full view and one for the public view, on the warehouse
`wattlake run` built; every page is opened, its charts (by title) and captions
checked, and a screenshot saved under test-output/dashboard/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.spark]

PROJECT_DIR = Path(__file__).resolve().parents[3]
SCREENSHOTS = PROJECT_DIR / "test-output" / "dashboard"
WATTLAKE = str(Path(sys.executable).with_name("wattlake"))

# page path -> the chart titles it must show
FULL_PAGES = {
    "city": [
        "Energy per day (kWh), this period and the same days last year",
        "Map of areas: energy per floor area (kWh per m²)",
        "Top movers: change in energy against the previous period (kWh)",
    ],
    "patterns": [
        "Load shape: average demand by weekday and hour (kW)",
        "Average day per month (kW)",
        "Weekday vs weekend (kW)",
        "Energy per day by season (kWh per day)",
        "Average day per site type (kW per site)",
        "Temperature vs usage: energy per day (kWh) against mean temperature (°C)",
    ],
    "sites": [
        "Daily energy with its expected range (kWh)",
        "Cost breakdown by month (GBP)",
    ],
    "anomalies": [
        "Excess energy of anomalies by area (kWh)",
        "Cost of anomalies by type (GBP)",
        "Open alerts by severity (count)",
        "Expected vs observed energy of open alerts (kWh)",
    ],
    "quality": [
        "Coverage per area and day (%)",
        "Quarantined readings by reason (rows)",
        "Freshness per source (h since the last delivery)",
    ],
}
# the fixture's 12 sites make no area or area x type group of 5 homes; only the
# site type "home" (7 homes) may be shown, so these are the public charts
PUBLIC_PAGES = {
    "city": [],
    "patterns": ["Average day per site type (kW per site)"],
    "anomalies": [
        "Excess energy of anomalies by area (kWh)",
        "Cost of anomalies by type (GBP)",
    ],
    "quality": [
        "Quarantined readings by reason (rows)",
        "Freshness per source (h since the last delivery)",
    ],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the dashboard exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the dashboard did not answer at {url} in {seconds} s")


@pytest.fixture(scope="module")
def servers(pipeline_run) -> Iterator[dict[str, str]]:
    """`wattlake dashboard` and `wattlake dashboard --public` on the run's warehouse."""
    tmp, _ = pipeline_run
    env = {
        **os.environ,
        "WATTLAKE_LAKE": str(tmp / "lake"),
        "WATTLAKE_TARGET": "local",
        "WATTLAKE_BUILD_DIR": str(tmp / "build"),
        "WATTLAKE_WAREHOUSE": str(tmp / "warehouse" / "wattlake.duckdb"),
    }
    started: dict[str, tuple[str, subprocess.Popen]] = {}
    logs = tmp / "dashboard-logs"
    logs.mkdir(exist_ok=True)
    try:
        # One after the other: a port is picked only once the server before listens,
        # so the kernel cannot hand the same free port to both.
        for view, flags in (("full", []), ("public", ["--public"])):
            port = _free_port()
            assert all(not url.endswith(f":{port}") for url, _ in started.values())
            log = (logs / f"{view}.log").open("w")
            process = subprocess.Popen(
                [WATTLAKE, "dashboard", "--port", str(port), *flags],
                cwd=PROJECT_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            url = f"http://127.0.0.1:{port}"
            started[view] = (url, process)
            try:
                _wait_healthy(url, process)
            except AssertionError as exc:
                raise AssertionError(
                    f"{exc}\n{(logs / f'{view}.log').read_text()[-3000:]}"
                ) from exc
        yield {view: url for view, (url, _) in started.items()}
    finally:  # each server is its own process group: stop all of it
        for _, process in started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in started.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("WATTLAKE_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        pytest.fail(
            "no chromium on PATH: `apt-get install -y chromium` (make test does it) "
            "or set WATTLAKE_CHROMIUM to the browser's path"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    yield page
    context.close()


def page_url(server: str, path: str) -> str:
    """A page's address: the default page (City) lives at the root, the others at /<key>."""
    return f"{server}/" if path == "city" else f"{server}/{path}"


def open_page(page, url: str, charts: int) -> None:  # noqa: ANN001 - a Playwright page
    """Open a dashboard page and wait until its script ran and its charts drew."""
    page.goto(url)
    # Streamlit marks the app root with the script's state: wait for a finished run
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=30_000
    )
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=30_000)
    # the sidebar's page links are drawn some tens of ms after the run has ended
    # and the page's title is up (measured): a page without charts is read too
    # early otherwise
    page.wait_for_selector('[data-testid="stPageLink-NavLink"]', timeout=30_000)
    if charts:
        page.locator(".vega-embed svg.marks").nth(charts - 1).wait_for(timeout=30_000)


def assert_no_error(page) -> None:  # noqa: ANN001
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Traceback" not in text
    # Streamlit's dialog for an address no page has
    assert page.get_by_text("Page not found").count() == 0


def svg_texts(page, role: str) -> list[str]:  # noqa: ANN001
    """The texts of one role in the charts' SVG (titles, axis titles, legends)."""
    return page.locator(f".vega-embed svg.marks .role-{role}").evaluate_all(
        "elements => elements.map(e => e.textContent)"
    )


def chart_titles(page) -> list[str]:  # noqa: ANN001
    return svg_texts(page, "title-text")


@pytest.mark.parametrize("path", list(FULL_PAGES))
def test_every_page_shows_its_charts_and_no_error(servers, page, path: str) -> None:
    open_page(page, page_url(servers["full"], path), len(FULL_PAGES[path]))
    titles = chart_titles(page)
    assert sorted(titles) == sorted(FULL_PAGES[path])
    # each chart has a caption saying how to read it; its axes carry units
    assert page.locator('[data-testid="stCaptionContainer"]').count() >= len(titles)
    axes = svg_texts(page, "axis-title")
    assert any("(" in axis and ")" in axis for axis in axes), axes
    assert_no_error(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"full-{path}.png"), full_page=True)


def test_filters_live_in_the_url_and_follow_the_page_links(servers, page) -> None:
    url = f"{servers['full']}/patterns?start=2025-03-29&end=2025-03-31&area=downtown"
    open_page(page, url, len(FULL_PAGES["patterns"]))
    chips = page.locator('[data-testid="stMultiSelect"]').first.inner_text()
    assert "Downtown" in chips
    page.locator('[data-testid="stPageLink-NavLink"]', has_text="City").click()
    # City is the default page: its address is the root
    page.wait_for_url(lambda url: "/patterns" not in url, timeout=30_000)
    open_page(page, page.url, len(FULL_PAGES["city"]))
    assert "start=2025-03-29" in page.url and "end=2025-03-31" in page.url
    assert "area=downtown" in page.url
    assert (
        "2025-03-29 to 2025-03-31"
        in page.locator('[data-testid="stMain"]').inner_text()
    )
    assert_no_error(page)


@pytest.mark.parametrize("path", list(PUBLIC_PAGES))
def test_the_public_view_never_shows_a_site_and_suppresses_small_groups(
    servers, page, path: str
) -> None:
    open_page(page, page_url(servers["public"], path), len(PUBLIC_PAGES[path]))
    assert sorted(chart_titles(page)) == sorted(PUBLIC_PAGES[path])
    main = page.locator('[data-testid="stMain"]').inner_text()
    body = page.locator("body").inner_text()
    legends = svg_texts(page, "legend-label")
    if path == "patterns":
        assert legends == ["home"]
    assert not {"apartment_block", "office", "hospital", "factory"} & set(legends)
    assert "Groups with fewer than 5 homes" in main
    assert "12 sites of this selection are not counted" in main
    assert "SITE-" not in body and "MTR-" not in body
    links = page.locator('[data-testid="stPageLink-NavLink"]').all_inner_texts()
    assert links == ["City", "Patterns", "Anomalies and alerts", "Data quality"]
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    assert_no_error(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"public-{path}.png"), full_page=True)


def test_the_public_view_has_no_sites_page(servers, page) -> None:
    page.goto(f"{servers['public']}/sites")
    page.get_by_text("Page not found").wait_for(timeout=30_000)
    assert "SITE-" not in page.locator("body").inner_text()


def test_a_running_dashboard_does_not_lock_out_the_next_refresh(
    servers, page, pipeline_run
) -> None:
    import duckdb

    open_page(page, f"{servers['full']}/quality", len(FULL_PAGES["quality"]))
    warehouse = pipeline_run[0] / "warehouse" / "wattlake.duckdb"
    # what `wattlake run` does first: open the warehouse for writing
    duckdb.connect(str(warehouse)).close()


def test_every_dashboard_query_parses_as_athena_and_redshift_sql(pipeline_run) -> None:
    """The one query layer runs on Athena and Redshift too: its SQL parses there."""
    from functools import partial

    import sqlfluff

    from wattlake.dashboards.queries import DashboardError, DuckDBSource, Filters, Marts

    source = DuckDBSource(pipeline_run[0] / "warehouse" / "wattlake.duckdb")
    asked: list[str] = []

    def run(sql: str):  # noqa: ANN202 - a DataFrame
        asked.append(sql)
        return source.query(sql)

    by_filters = (
        "city_totals",
        "city_daily",
        "area_intensity",
        "top_movers",
        "hourly_by_area",
        "site_type_day",
        "temperature_usage",
        "alerts",
        "anomaly_summary",
        "coverage_by_area",
        "worst_meters",
        "quarantine_by_reason",
        "find_sites",
    )
    for public in (False, True):
        marts = Marts(run=run, public=public)
        first, last = marts.period_bounds()
        narrow = Filters(first, last, areas=("downtown",), site_types=("home",))
        questions = [marts.last_refresh, marts.anomaly_types, marts.freshness]
        for filters in (Filters(first, last), narrow):
            questions += [partial(getattr(marts, name), filters) for name in by_filters]
        questions += [
            partial(marts.site_daily, "SITE-000001", narrow),
            partial(marts.site_anomalies, "SITE-000001"),
            partial(marts.site_costs, "SITE-000001", narrow),
        ]
        for question in questions:
            try:
                question()
            except DashboardError as exc:  # the public view refuses site questions
                assert public and "no single" in str(exc)
    distinct = list(dict.fromkeys(asked))
    assert len(distinct) >= 20
    for sql in distinct:
        for dialect in ("athena", "redshift"):
            sqlfluff.parse(sql, dialect=dialect)  # raises on SQL it cannot parse
