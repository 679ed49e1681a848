"""Each delivery fault is in the ground truth and visible in the delivered data."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from simulated import CITY, NO_FAULTS, city, deliveries, simulated_lake, truth

from wattlake.ingestion.land import land_pending
from wattlake.storage import Lake

FAULTY = replace(
    NO_FAULTS,
    exact_duplicate_batch_share=0.1,
    duplicate_row_share=0.01,
    conflicting_correction_batch_share=0.1,
    missing_row_share=0.01,
    late_batch_share=0.1,
    out_of_order_batch_share=0.2,
    malformed_row_share=0.005,
    wh_unit_batch_share=0.1,
    local_time_dst_batches=True,
)
FAULT_TYPES = {
    "missing_interval",
    "duplicate_row",
    "duplicate_batch",
    "corrected_reading",
    "late_delivery",
    "out_of_order",
    "malformed_row",
    "wh_unit",
    "local_time_export",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):
    faulty = simulated_lake(tmp_path_factory.mktemp("faulty"), city(faults=FAULTY))
    clean = simulated_lake(tmp_path_factory.mktemp("clean"), city())
    return faulty, truth(faulty, "faults"), deliveries(faulty), deliveries(clean)


def rows_of(frame: pd.DataFrame, faults: pd.DataFrame) -> pd.DataFrame:
    keys = faults[["meter_id", "reading_start_utc"]].rename(
        columns={"reading_start_utc": "start"}
    )
    return frame.merge(keys.drop_duplicates(), on=["meter_id", "start"])


def test_every_fault_type_is_in_the_truth(runs) -> None:
    _, faults, _, _ = runs
    assert set(faults["fault_type"]) == FAULT_TYPES


def test_missing_intervals_are_never_sent(runs) -> None:
    _, faults, sent, clean = runs
    missing = faults[faults["fault_type"] == "missing_interval"]
    assert len(rows_of(clean, missing)) == len(missing)
    assert rows_of(sent, missing).empty


def test_duplicated_rows_appear_twice_in_their_batch(runs) -> None:
    _, faults, sent, _ = runs
    for _, fault in faults[faults["fault_type"] == "duplicate_row"].iterrows():
        same = sent[
            (sent["batch_id"] == fault["batch_id"])
            & (sent["meter_id"] == fault["meter_id"])
            & (sent["start"] == fault["reading_start_utc"])
        ]
        garbled = faults[
            (faults["fault_type"] == "malformed_row")
            & (faults["batch_id"] == fault["batch_id"])
            & (faults["meter_id"] == fault["meter_id"])
            & (faults["reading_start_utc"] == fault["reading_start_utc"])
        ]
        # both copies arrive, unless one of them was garbled too
        assert len(same) + len(garbled) == 2 and same["value"].nunique() == 1


def test_a_resent_batch_repeats_the_original(runs) -> None:
    _, faults, sent, _ = runs
    for _, fault in faults[faults["fault_type"] == "duplicate_batch"].iterrows():
        original = fault["detail"].removeprefix("copy of ")
        copy = sent[sent["batch_id"] == fault["batch_id"]]
        assert fault["batch_id"] == f"{original}_resend"
        columns = ["meter_id", "reading_start", "value", "unit"]
        pd.testing.assert_frame_equal(
            copy[columns].reset_index(drop=True),
            sent[sent["batch_id"] == original][columns].reset_index(drop=True),
        )


def test_estimated_values_are_corrected_by_a_later_batch(runs) -> None:
    _, faults, sent, clean = runs
    corrected = faults[faults["fault_type"] == "corrected_reading"]
    fixes = rows_of(sent[sent["batch_id"].str.endswith("_correction")], corrected)
    first = rows_of(sent[~sent["batch_id"].str.endswith("_correction")], corrected)
    true = rows_of(clean, corrected).set_index(["meter_id", "start"])["kwh"]
    assert len(fixes) == len(corrected)
    assert (first["quality_code"] == "E").all()
    assert fixes.set_index(["meter_id", "start"])[
        "kwh"
    ].sort_index().to_numpy() == pytest.approx(true.sort_index().to_numpy(), abs=1e-4)


def test_late_rows_arrive_in_their_own_batch_days_later(runs) -> None:
    _, faults, sent, _ = runs
    late = faults[faults["fault_type"] == "late_delivery"]
    assert late["batch_id"].str.contains("_late").all()
    arrived = rows_of(sent, late)
    assert (arrived["batch_id"].str.contains("_late")).all()
    days = late["detail"].str.extract(r"(\d+) days late")[0].astype(int)
    assert days.between(1, 5).all()


def test_late_resent_and_corrected_batches_arrive_after_the_original(
    runs, tmp_path: Path
) -> None:
    faulty, _, _, _ = runs
    # land a copy (file times kept): the shared lake stays as simulated
    shutil.copytree(
        Path(faulty.root, "landing"), tmp_path / "landing", copy_function=shutil.copy2
    )
    lake = Lake(str(tmp_path))
    report = land_pending(lake, workers=1)
    assert not report.problems
    received = {
        m.batch_id: datetime.fromisoformat(m.received_at) for m in report.landed
    }
    raw = {m.batch_id: m.raw for m in report.landed}
    late = [b for b in received if "_late" in b]
    assert late
    london = ZoneInfo("Europe/London")  # every area of the city
    assert {area.time_zone for area in CITY.areas} == {"Europe/London"}
    for batch_id in late:
        original, day = re.fullmatch(r"(.+)_late(\d{8})", batch_id).groups()
        late_day = date(int(day[:4]), int(day[4:6]), int(day[6:]))
        # on its late day (noon, local time): that day is its ingest date
        assert received[batch_id] == datetime(
            *late_day.timetuple()[:3], 12, tzinfo=london
        )
        assert received[batch_id].astimezone(UTC).date() == late_day
        assert f"/ingest_date={late_day}/" in raw[batch_id]
        if original in received:  # the rest of the batch came on time, before
            assert received[batch_id] > received[original]
    copies = [b for b in received if b.endswith(("_resend", "_correction"))]
    assert {b.rsplit("_", 1)[1] for b in copies} == {"resend", "correction"}
    for batch_id in copies:
        original, kind = batch_id.rsplit("_", 1)
        after = {"resend": timedelta(hours=1), "correction": timedelta(hours=6)}[kind]
        # after the batch it repeats or corrects: a correction is the latest copy
        assert received[batch_id] == received[original] + after, batch_id


def test_out_of_order_batches_are_not_in_time_order(runs) -> None:
    _, faults, sent, _ = runs
    for batch_id in faults.loc[faults["fault_type"] == "out_of_order", "batch_id"]:
        rows = sent[sent["batch_id"] == batch_id]
        if len(rows) > 5:
            ordered = rows.sort_values(["meter_id", "start"]).index
            assert list(rows.index) != list(ordered)


def test_malformed_rows_do_not_parse(runs) -> None:
    _, faults, sent, _ = runs
    malformed = faults[faults["fault_type"] == "malformed_row"]
    originals = sent[~sent["batch_id"].str.endswith("_resend")]  # copies repeat them
    broken = originals[
        originals["parse_error"].notna()
        | originals["reading_start"].isna()
        | originals["kwh"].isna()
    ]
    assert len(broken) == len(malformed) > 0


def test_wh_readings_are_a_thousand_times_the_kwh(runs) -> None:
    _, faults, sent, clean = runs
    wh = faults[faults["fault_type"] == "wh_unit"]
    got = rows_of(sent, wh)
    # (a corrected reading may also be in Wh: its first value is an estimate)
    got = (
        got[(got["unit"] == "Wh") & (got["quality_code"] == "A")]
        .drop_duplicates(["meter_id", "start"])
        .set_index(["meter_id", "start"])
    )
    true = rows_of(clean, wh).set_index(["meter_id", "start"])["kwh"]
    values = pd.to_numeric(got["value"])
    assert len(values) > 0
    assert (values / 1000).to_numpy() == pytest.approx(
        true.reindex(values.index).to_numpy(), abs=1e-4
    )


def test_local_time_exports_skip_the_spring_hour(runs) -> None:
    lake, faults, sent, _ = runs
    batches = faults.loc[faults["fault_type"] == "local_time_export", "batch_id"]
    assert len(batches) > 0
    for batch_id in batches:
        rows = sent[(sent["batch_id"] == batch_id) & sent["reading_start"].notna()]
        assert rows["is_local_time"].all() and "20250330" in batch_id
        wall_clock = pd.to_datetime(rows["reading_start"], format="ISO8601")
        hours = set(wall_clock.dt.hour)
        assert (
            1 not in hours and {0, 2, 23} <= hours
        )  # 01:00-01:59 does not exist that day
    # the other batches carry UTC with Z
    assert (
        sent.loc[
            ~sent["batch_id"].isin(batches) & sent["start"].notna(), "reading_start"
        ]
        .str.endswith("Z")
        .all()
    )


def test_the_shipped_city_has_every_fault_switched_on() -> None:
    assert all(getattr(CITY.faults, name) for name in CITY.faults.__dataclass_fields__)
