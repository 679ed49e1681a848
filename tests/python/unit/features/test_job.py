"""The feature job's checks that come before Spark does any work."""

from datetime import date
from pathlib import Path

import pytest

from wattlake.features.job import FeatureJobError, run_features
from wattlake.storage import Lake


def test_a_range_ending_before_it_starts_is_refused(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(
        FeatureJobError, match="--end 2025-04-01 is before --start 2025-05-01"
    ):
        # refused before Spark is used: no session needed
        run_features(None, lake, start=date(2025, 5, 1), end=date(2025, 4, 1))


def test_a_one_day_range_is_accepted_and_then_needs_clean_readings(
    tmp_path: Path,
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(
        FeatureJobError,
        match=r"no \w+ in .*run `wattlake transform --selector lake_clean`",
    ):
        run_features(None, lake, start=date(2025, 5, 1), end=date(2025, 5, 1))
