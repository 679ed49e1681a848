"""dbt seeds generated from Python packages: the public holidays of `dim_date`.

The warehouse has no Python at run time, so the city's public holidays (from the
`holidays` package, for the country and subdivision of the city file) are
written once to `seeds/public_holidays.csv` and committed. Regenerate after
changing the city's country or the calendar years, or upgrading `holidays`::

    python -m wattlake.seeds            # rewrite seeds/public_holidays.csv
    python -m wattlake.seeds --check    # exit 1 if the file is out of date

The years match dim_date's default range (`wattlake_calendar_start` and
`wattlake_calendar_end` in models/marts/core/dim_date.sql); a dbt test checks
that every year of dim_date has holidays in the seed.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import holidays

log = logging.getLogger(__name__)

FIRST_YEAR = 2010
LAST_YEAR = 2035
SEED_FILE = Path("seeds") / "public_holidays.csv"
# Holiday names in British English whatever the machine's locale, so the seed
# is the same file everywhere.
LANGUAGE = "en_GB"
COLUMNS = ("holiday_date", "holiday_name", "country_code", "subdivision_code")


@dataclass(frozen=True)
class PublicHoliday:
    """One public holiday (several on one date share the row, names joined by '; ')."""

    holiday_date: date
    holiday_name: str
    country_code: str
    subdivision_code: str


def public_holidays(
    country: str,
    subdivision: str | None,
    first_year: int = FIRST_YEAR,
    last_year: int = LAST_YEAR,
) -> list[PublicHoliday]:
    """The public holidays of a country (and subdivision) over whole years, by date."""
    if first_year > last_year:
        raise ValueError(f"first year {first_year} is after last year {last_year}")
    calendar = holidays.country_holidays(
        country,
        subdiv=subdivision,
        years=range(first_year, last_year + 1),
        language=LANGUAGE,
    )
    return [
        PublicHoliday(day, name, country, subdivision or "")
        for day, name in sorted(calendar.items())
    ]


def seed_csv(rows: list[PublicHoliday]) -> str:
    """The seed file's text: a header and one line per holiday date."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.holiday_date.isoformat(),
                row.holiday_name,
                row.country_code,
                row.subdivision_code,
            )
        )
    return buffer.getvalue()


def city_seed_csv(project_dir: Path) -> str:
    """The public holidays seed for the city file (WATTLAKE_CITY or ingestion/city.toml)."""
    from wattlake.ingestion.simulate import default_city

    city = default_city(project_dir)
    return seed_csv(public_holidays(city.country, city.subdivision))


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) seeds/public_holidays.csv."""
    parser = argparse.ArgumentParser(
        prog="python -m wattlake.seeds", description=__doc__
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path.cwd(),
        help="the dbt project (default: .)",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the seed is out of date"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = args.project_dir / SEED_FILE
    wanted = city_seed_csv(args.project_dir)
    current = path.read_text() if path.exists() else None
    if args.check:
        if current != wanted:
            log.error("%s is out of date: run python -m wattlake.seeds", path)
            return 1
        log.info("%s is up to date", path)
        return 0
    path.write_text(wanted)
    log.info("wrote %s (%d holidays)", path, wanted.count("\n") - 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
