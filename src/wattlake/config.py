"""One configuration for every stage: `wattlake.toml` plus environment overrides.

The file sits at the project root (beside `dbt_project.yml`). Each key can be
overridden by an environment variable (`WATTLAKE_LAKE`, `WATTLAKE_S3_ENDPOINT_URL`,
`WATTLAKE_TARGET`, `WATTLAKE_SCALE`, `WATTLAKE_SEED`, `WATTLAKE_BUILD_DIR`,
`WATTLAKE_WAREHOUSE`). Invalid values are refused with a message naming the key
and where it came from.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

CONFIG_FILE = "wattlake.toml"
SCALES_FILE = Path("ingestion") / "scales.toml"
TARGETS = ("local", "athena", "redshift")
ENV_OVERRIDES = {
    "lake": "WATTLAKE_LAKE",
    "s3_endpoint_url": "WATTLAKE_S3_ENDPOINT_URL",
    "target": "WATTLAKE_TARGET",
    "scale": "WATTLAKE_SCALE",
    "seed": "WATTLAKE_SEED",
    "build_dir": "WATTLAKE_BUILD_DIR",
    "warehouse": "WATTLAKE_WAREHOUSE",
}


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


@dataclass(frozen=True)
class Scale:
    """A simulator preset: how many sites over which local days."""

    name: str
    sites: int
    start: date
    days: int
    interval_minutes: int

    @property
    def end(self) -> date:
        """The first local day after the period (exclusive end)."""
        return date.fromordinal(self.start.toordinal() + self.days)


@dataclass(frozen=True)
class Settings:
    """Resolved settings shared by every stage."""

    project_dir: Path
    lake: str
    s3_endpoint_url: str | None
    target: str
    scale: Scale
    seed: int
    build_dir: Path
    warehouse: Path

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with some fields replaced (used by CLI flags and tests)."""
        return replace(self, **changes)


def find_project_dir(start: Path | None = None) -> Path:
    """Find the Wattlake project: `WATTLAKE_PROJECT_DIR`, else walk up from `start`.

    Falls back to the checkout this package is installed from (editable install),
    so `wattlake` works from any directory of a clone.
    """
    explicit = os.environ.get("WATTLAKE_PROJECT_DIR")
    if explicit:
        path = Path(explicit).resolve()
        if not (path / CONFIG_FILE).is_file():
            raise ConfigError(
                f"WATTLAKE_PROJECT_DIR={explicit}: no {CONFIG_FILE} there"
            )
        return path
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).is_file() and (
            candidate / "dbt_project.yml"
        ).is_file():
            return candidate
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / CONFIG_FILE).is_file():
        return checkout
    raise ConfigError(
        f"no {CONFIG_FILE} found in {here} or its parents; run wattlake inside a "
        "Wattlake checkout or set WATTLAKE_PROJECT_DIR"
    )


def load_scales(project_dir: Path) -> dict[str, Scale]:
    """Read the scale presets from `ingestion/scales.toml`."""
    path = project_dir / SCALES_FILE
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: scale presets file is missing") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    scales = {}
    for name, values in raw.items():
        where = f"{path} [{name}]"
        scales[name] = Scale(
            name=name,
            sites=_positive_int(values.get("sites"), f"{where} sites"),
            start=_date(values.get("start"), f"{where} start"),
            days=_positive_int(values.get("days"), f"{where} days"),
            interval_minutes=_interval(values.get("interval_minutes"), f"{where}"),
        )
    return scales


def load_settings(
    project_dir: Path | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Resolve settings from the config file, then environment overrides.

    Args:
        project_dir: the checkout; found with `find_project_dir` when omitted.
        environ: the environment to read overrides from (default `os.environ`).

    Raises:
        ConfigError: a value is invalid; the message names the key and its origin.

    """
    env = os.environ if environ is None else environ
    project_dir = (project_dir or find_project_dir()).resolve()
    path = project_dir / CONFIG_FILE
    try:
        document = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    section = document.get("wattlake")
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: missing [wattlake] section")
    unknown = sorted(set(section) - set(ENV_OVERRIDES))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [wattlake]: {', '.join(unknown)}")

    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, variable in ENV_OVERRIDES.items():
        if variable in env:
            values[key], origin[key] = env[variable], f"environment variable {variable}"
        elif key in section:
            values[key], origin[key] = section[key], f"{path} key {key!r}"
        else:
            raise ConfigError(f"{path}: key {key!r} is missing (or set {variable})")

    target = str(values["target"])
    if target not in TARGETS:
        raise ConfigError(
            f"{origin['target']}: target {target!r} is not one of {', '.join(TARGETS)}"
        )
    scales = load_scales(project_dir)
    scale_name = str(values["scale"])
    if scale_name not in scales:
        raise ConfigError(
            f"{origin['scale']}: scale {scale_name!r} is not one of "
            f"{', '.join(sorted(scales))} (presets in {project_dir / SCALES_FILE})"
        )
    try:
        seed = int(values["seed"])
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{origin['seed']}: seed {values['seed']!r} is not an integer"
        ) from exc
    endpoint = str(values["s3_endpoint_url"]).strip() or None
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise ConfigError(
            f"{origin['s3_endpoint_url']}: {endpoint!r} is not an http(s) URL"
        )
    return Settings(
        project_dir=project_dir,
        lake=resolve_lake(str(values["lake"]), project_dir, origin["lake"]),
        s3_endpoint_url=endpoint,
        target=target,
        scale=scales[scale_name],
        seed=seed,
        build_dir=_resolve_path(str(values["build_dir"]), project_dir),
        warehouse=_resolve_path(str(values["warehouse"]), project_dir),
    )


def resolve_lake(lake: str, project_dir: Path, origin: str = "lake") -> str:
    """Return the lake URI: `s3://bucket/prefix` as is, a local path made absolute."""
    lake = lake.strip().rstrip("/")
    if not lake:
        raise ConfigError(f"{origin}: the lake location is empty")
    if "://" in lake:
        if not lake.startswith("s3://") or len(lake) <= len("s3://"):
            raise ConfigError(
                f"{origin}: {lake!r} must be a local path or s3://bucket/prefix"
            )
        return lake
    return str(_resolve_path(lake, project_dir))


def _resolve_path(value: str, project_dir: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (project_dir / path).resolve()


def _positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{where}: expected a positive integer, got {value!r}")
    return value


def _date(value: Any, where: str) -> date:
    if not isinstance(value, date):
        raise ConfigError(f"{where}: expected a date like 2025-03-01, got {value!r}")
    return value


def _interval(value: Any, where: str) -> int:
    if value not in (5, 10, 15, 30, 60):
        raise ConfigError(
            f"{where} interval_minutes: expected one of 5, 10, 15, 30, 60, got {value!r}"
        )
    return int(value)
