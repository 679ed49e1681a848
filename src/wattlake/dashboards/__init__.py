"""The web dashboard: a Streamlit app (`app.py`) on one query layer (`queries.py`)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from wattlake.config import Settings

log = logging.getLogger(__name__)

APP = Path(__file__).with_name("app.py")


def dashboard_command(
    port: int = 8501, host: str = "127.0.0.1", public: bool = False
) -> list[str]:
    """The command that serves the dashboard (what `wattlake dashboard` runs)."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
        "--theme.base",
        "light",
    ]
    return [*command, "--", "--public"] if public else command


def dashboard_environment(settings: Settings) -> dict[str, str]:
    """The app's settings, passed on so that CLI flags (--target...) reach it."""
    return {
        **os.environ,
        "WATTLAKE_PROJECT_DIR": str(settings.project_dir),
        "WATTLAKE_TARGET": settings.target,
        "WATTLAKE_WAREHOUSE": str(settings.warehouse),
        "WATTLAKE_LAKE": settings.lake,
        "WATTLAKE_BUILD_DIR": str(settings.build_dir),
    }


def serve(settings: Settings, port: int, host: str, public: bool) -> int:
    """Serve the dashboard until Ctrl-C.

    The process becomes Streamlit's (exec), so a signal sent to `wattlake
    dashboard` stops the server itself and leaves nothing running behind.
    """
    view = "public view" if public else "full view"
    log.info(
        "dashboard: %s of %s at http://%s:%d/ (Ctrl-C to stop)",
        view,
        settings.warehouse if settings.target == "local" else settings.target,
        host,
        port,
    )
    command = dashboard_command(port, host, public)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, dashboard_environment(settings))
    return 0  # not reached: execve replaces this process
