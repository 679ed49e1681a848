import shutil
from datetime import date
from pathlib import Path

import holidays
import pytest

from wattlake.ingestion.simulate import default_city
from wattlake.seeds import (
    FIRST_YEAR,
    LAST_YEAR,
    SEED_FILE,
    city_seed_csv,
    main,
    public_holidays,
    seed_csv,
)


def test_the_committed_seed_matches_the_holidays_package(project_dir: Path) -> None:
    committed = (project_dir / SEED_FILE).read_text()
    assert committed == city_seed_csv(project_dir), (
        f"{SEED_FILE} is out of date with holidays {holidays.__version__}: "
        "run python -m wattlake.seeds"
    )


def test_the_seed_holds_every_holiday_of_the_city_once(project_dir: Path) -> None:
    city = default_city(project_dir)
    expected = holidays.country_holidays(
        city.country,
        subdiv=city.subdivision,
        years=range(FIRST_YEAR, LAST_YEAR + 1),
        language="en_GB",
    )
    lines = (project_dir / SEED_FILE).read_text().splitlines()
    assert lines[0] == "holiday_date,holiday_name,country_code,subdivision_code"
    rows = [line.split(",", 1)[0] for line in lines[1:]]
    assert len(rows) == len(set(rows)) == len(expected)
    assert {date.fromisoformat(day) for day in rows} == set(expected)
    years = {int(day[:4]) for day in rows}
    assert years == set(range(FIRST_YEAR, LAST_YEAR + 1))


def test_english_holidays_include_substitute_and_one_off_days() -> None:
    rows = {
        row.holiday_date: row.holiday_name
        for row in public_holidays("GB", "ENG", 2020, 2023)
    }
    assert rows[date(2020, 12, 28)] == "Boxing Day (observed)"
    assert rows[date(2022, 6, 3)] == "Platinum Jubilee of Elizabeth II"
    assert rows[date(2023, 5, 8)] == "Coronation of Charles III"
    assert date(2021, 3, 17) not in rows  # St Patrick's Day: Northern Ireland only
    assert min(rows).year == 2020 and max(rows).year == 2023


def test_a_name_with_a_comma_is_quoted() -> None:
    rows = public_holidays("GB", "ENG", 2025, 2025)
    renamed = [rows[0].__class__(rows[0].holiday_date, "A, B", "GB", "ENG")]
    assert seed_csv(renamed).splitlines()[1] == '2025-01-01,"A, B",GB,ENG'


def test_years_in_the_wrong_order_are_refused() -> None:
    with pytest.raises(ValueError, match="first year 2030 is after last year 2020"):
        public_holidays("GB", "ENG", 2030, 2020)


def test_check_fails_on_a_stale_seed_and_writing_fixes_it(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATTLAKE_CITY", raising=False)
    (tmp_path / "ingestion").mkdir()
    (tmp_path / "seeds").mkdir()
    shutil.copy(project_dir / "ingestion" / "city.toml", tmp_path / "ingestion")
    seed = tmp_path / SEED_FILE
    seed.write_text("holiday_date,holiday_name,country_code,subdivision_code\n")
    assert main(["--project-dir", str(tmp_path), "--check"]) == 1
    assert main(["--project-dir", str(tmp_path)]) == 0
    assert seed.read_text() == (project_dir / SEED_FILE).read_text()
    assert main(["--project-dir", str(tmp_path), "--check"]) == 0
