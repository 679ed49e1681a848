import gzip
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sample_mappings import LONG_MAPPING

from wattlake.cli import main
from wattlake.ingestion.importer import (
    ExportError,
    ImportConflict,
    ImportReport,
    import_export,
    import_file,
    parquet_bytes,
)
from wattlake.ingestion.manifest import read_manifest
from wattlake.ingestion.mapping import load_mapping
from wattlake.storage import Lake

REAL = Path(os.environ.get("WATTLAKE_REAL_DATA", "/work/shared/data/real"))
LONDON = REAL / "london_lcl_100_households_2013.csv.gz"
TETOUAN = REAL / "tetouan_city_zones_2017.csv.gz"
WHEN = datetime(2025, 4, 2, 6, 30, tzinfo=UTC)
# when an export file was downloaded (its modification time)
EXPORTED = datetime(2024, 11, 30, 23, 45, 10, 500_000, tzinfo=UTC)


# Europe/London wall-clock time: 2013-03-31 01:00-01:59 does not exist,
# 2013-10-27 01:00-01:59 happens twice (first BST, then GMT).
LONG_EXPORT = "".join(
    f"{line}\n"
    for line in [
        "meter,time,kwh",
        "A,2013-03-31 00:30:00,0.1",
        "A,2013-03-31 01:30:00,0.2",
        "A,2013-03-31 02:00:00, 0.3 ",
        "A,2013-10-27 01:00:00,0.4",
        "A,2013-10-27 01:30:00,0.5",
        "A,2013-10-27 01:00:00,0.6",
        "A,2013-10-27 01:30:00,0.7",
        "B,2013-10-27 01:30:00,n/a",
        ",,",
        "",
        "B,yesterday,0.1",
        "B,2013-07-01T12:00:00,0.1",
        ",2013-06-01 12:00:00,0.2",
    ]
)

WIDE_MAPPING = """
[export]
layout = "wide"
timestamp_column = "When"
timestamp_format = "%m/%d/%y %H:%M"
time_zone = "Africa/Casablanca"
interval_minutes = 10
unit = "kW"

[export.value_columns]
"Feeder A" = "a"
"Feeder B" = "b"

[ids]
meter_id = "f-{id}"
site_id = "z-{id}"
site_name = "Zone {id}"

[sites]
site_type = "distribution_zone"
area_id = "city"
area_name = "City"
time_zone = "Africa/Casablanca"
latitude = 35.5
longitude = -5.4

[weather]
air_temperature_c = "Temp"
"""

# Africa/Casablanca wall-clock time: on 2017-10-29 clocks went back from 03:00
# (+01) to 02:00 (+00), so 02:50 happens twice; on 2017-03-26 they went forward
# from 02:00 to 03:00, so 02:10 never happened.
WIDE_EXPORT = """When,Temp,Feeder A,Feeder B
10/29/17 1:50,15.1,100,200
10/29/17 2:50,15.0,101,201
,,,
10/29/17 2:50,14.9,102,
10/29/17 3:00,14.8,103,203
3/26/17 2:10,9.0,104,204
"""


def write(folder: Path, name: str, text: str, compress: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    data = text.encode()
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def count_lines(path: Path) -> tuple[int, int]:
    """Data lines and lines whose every field is empty, counted line by line."""
    data_lines = empty = 0
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        next(handle)  # the header
        for line in handle:
            data_lines += 1
            if all(not field.strip() for field in line.rstrip("\r\n").split(",")):
                empty += 1
    return data_lines, empty


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file in a lake with what would change if it were rewritten."""
    return {
        str(path): (path.stat().st_ino, path.stat().st_mtime_ns, path.stat().st_size)
        for path in root.rglob("*")
        if path.is_file()
    }


def delivered(lake: Lake, source: str, batch_id: str) -> pa.Table:
    return pq.read_table(lake.landing(source, batch_id, "parquet"))


def batch_ids(report: ImportReport, source: str) -> list[str]:
    return [batch.batch_id for batch in report.batches if batch.source == source]


def raw_rows(lake: Lake, table: str) -> int:
    return duckdb.sql(
        f"select count(*) from read_parquet('{lake.raw_glob(table)}')"
    ).fetchone()[0]


# ------------------------------------------------------------- hand-made exports
def test_a_long_export_in_local_time_is_converted_to_utc(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    mapping = load_mapping(write(tmp_path, "local_homes.toml", LONG_MAPPING))
    export = write(tmp_path / "in", "homes.csv", LONG_EXPORT)
    stamp = int(EXPORTED.timestamp() * 10**6) * 1000
    os.utime(export, ns=(stamp, stamp))
    report = import_export(lake, export, mapping)

    assert (report.data_lines, report.delivered_lines, report.empty_lines) == (
        13,
        11,
        2,
    )
    assert report.readings_rows == 11 and report.weather_rows == 0
    assert report.unconverted_timestamps == 4 and report.unparseable_values == 1
    assert (report.site_rows, report.meter_rows) == (2, 2)
    assert not report.problems and report.count("landed") == 5

    digest = batch_ids(report, "metering")[0].rsplit("_", 1)[1]
    assert batch_ids(report, "metering") == [
        f"local_homes_readings_2013-{month}_{digest}" for month in ("03", "06", "10")
    ]
    assert batch_ids(report, "registry") == [
        f"sites_local_homes_{digest}",
        f"meters_local_homes_{digest}",
    ]
    rows = pa.concat_tables(
        delivered(lake, "metering", batch) for batch in batch_ids(report, "metering")
    ).to_pylist()
    got = [(r["meter_id"], r["reading_start"], r["value"]) for r in rows]
    assert got == [
        # March: GMT, then a time that does not exist, then BST
        ("m-A", "2013-03-31T00:30:00Z", "0.1"),
        ("m-A", "2013-03-31 01:30:00 [no such local time in Europe/London]", "0.2"),
        ("m-A", "2013-03-31T01:00:00Z", " 0.3 "),
        # June: no meter id, delivered empty for staging to quarantine
        ("", "2013-06-01T11:00:00Z", "0.2"),
        # October: the repeated hour, BST the first time and GMT the second
        ("m-A", "2013-10-27T00:00:00Z", "0.4"),
        ("m-A", "2013-10-27T00:30:00Z", "0.5"),
        ("m-A", "2013-10-27T01:00:00Z", "0.6"),
        ("m-A", "2013-10-27T01:30:00Z", "0.7"),
        # B has 01:30 once: which of the two it was cannot be known
        ("m-B", "2013-10-27 01:30:00 [ambiguous local time in Europe/London]", "n/a"),
        ("m-B", "yesterday", "0.1"),
        ("m-B", "2013-07-01T12:00:00 [does not match %Y-%m-%d %H:%M:%S]", "0.1"),
    ]
    assert {(r["interval_minutes"], r["unit"]) for r in rows} == {("30", "kWh")}

    # staging reads each converted time as that UTC instant, and none of the others
    staged = duckdb.execute(
        "select timezone('UTC', try_cast(trim(t) as timestamptz)) "
        "from unnest(?) as u(t)",
        [[start for _, start, _ in got]],
    ).fetchall()
    readable = [
        start for (_, start, _), (value,) in zip(got, staged, strict=True) if value
    ]
    assert readable == [start for _, start, _ in got if start.endswith("Z")]

    sites = delivered(lake, "registry", f"sites_local_homes_{digest}").to_pylist()
    assert [s["site_id"] for s in sites] == ["s-A", "s-B"]
    assert sites[0]["site_name"] == "House A" and sites[0]["latitude"] is None
    meters = delivered(lake, "registry", f"meters_local_homes_{digest}").to_pylist()
    assert [(m["meter_id"], m["site_id"], m["installed_on"]) for m in meters] == [
        ("m-A", "s-A", "2013-03-31"),
        ("m-B", "s-B", None),  # no reading of B could be placed in time
    ]
    assert raw_rows(lake, "readings") == 11 and raw_rows(lake, "meters") == 2

    # the export arrived when its file was last modified: every batch too
    for batch in report.batches:
        manifest = read_manifest(lake, batch.batch_id)
        assert manifest.received_at == "2024-11-30T23:45:10.500000+00:00"
        assert "/ingest_date=2024-11-30/" in manifest.raw
        assert lake.read_object(manifest.delivery).modified == EXPORTED


def test_a_wide_export_fans_out_one_reading_per_value_column(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    mapping = load_mapping(write(tmp_path, "feeders.toml", WIDE_MAPPING))
    export = write(tmp_path / "in", "feeders.csv.gz", WIDE_EXPORT, compress=True)
    report = import_export(lake, export, mapping, received_at=WHEN)

    assert (report.data_lines, report.delivered_lines, report.empty_lines) == (6, 5, 1)
    assert report.readings_rows == 10 and report.weather_rows == 5
    assert report.unconverted_timestamps == 1 and report.unparseable_values == 1
    assert len(batch_ids(report, "metering")) == len(batch_ids(report, "weather")) == 1

    readings = delivered(lake, "metering", batch_ids(report, "metering")[0])
    nonexistent = "3/26/17 2:10 [no such local time in Africa/Casablanca]"
    starts = [
        "2017-10-29T00:50:00Z",  # +01:00
        "2017-10-29T01:50:00Z",  # 02:50 the first time, still +01:00
        "2017-10-29T02:50:00Z",  # 02:50 again, now +00:00
        "2017-10-29T03:00:00Z",
        nonexistent,
    ]
    assert readings.column_names == [
        "meter_id",
        "reading_start",
        "interval_minutes",
        "value",
        "unit",
    ]
    assert readings["meter_id"].to_pylist() == ["f-a", "f-b"] * 5
    assert readings["reading_start"].to_pylist() == [s for s in starts for _ in "ab"]
    assert readings["value"].to_pylist() == [
        "100", "200", "101", "201", "102", "", "103", "203", "104", "204"
    ]  # fmt: skip
    assert set(readings["unit"].to_pylist()) == {"kW"}
    assert set(readings["interval_minutes"].to_pylist()) == {"10"}

    weather = delivered(lake, "weather", batch_ids(report, "weather")[0])
    assert weather.column_names == ["area_id", "observed_at", "air_temperature_c"]
    assert weather["observed_at"].to_pylist() == starts
    assert weather["air_temperature_c"].to_pylist() == [
        "15.1", "15.0", "14.9", "14.8", "9.0"
    ]  # fmt: skip
    assert set(weather["area_id"].to_pylist()) == {"city"}

    sites = delivered(lake, "registry", batch_ids(report, "registry")[0]).to_pylist()
    assert [(s["site_id"], s["site_type"], s["latitude"]) for s in sites] == [
        ("z-a", "distribution_zone", "35.5"),
        ("z-b", "distribution_zone", "35.5"),
    ]
    assert raw_rows(lake, "readings") == 10 and raw_rows(lake, "weather") == 5
    # received when the caller said, whatever the export file's time
    assert {
        read_manifest(lake, batch.batch_id).received_at for batch in report.batches
    } == {WHEN.isoformat()}


def test_the_same_export_gives_the_same_bytes_and_ids(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, "feeders.toml", WIDE_MAPPING))
    export = write(tmp_path / "in", "feeders.csv", WIDE_EXPORT)
    first = import_export(
        Lake(str(tmp_path / "one")), export, mapping, received_at=WHEN
    )
    second = import_export(
        Lake(str(tmp_path / "two")), export, mapping, received_at=WHEN
    )
    assert [b.batch_id for b in first.batches] == [b.batch_id for b in second.batches]
    one = sorted((tmp_path / "one" / "landing").rglob("*.parquet"))
    two = sorted((tmp_path / "two" / "landing").rglob("*.parquet"))
    assert [p.name for p in one] == [p.name for p in two] and len(one) == 4
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one, two, strict=True))
    table = pq.read_table(one[0])
    assert parquet_bytes(table) == parquet_bytes(table)


def test_a_changed_mapping_cannot_overwrite_landed_deliveries(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    export = write(tmp_path / "in", "homes.csv", LONG_EXPORT)
    import_export(
        lake, export, load_mapping(write(tmp_path, "homes.toml", LONG_MAPPING))
    )
    before = snapshot(tmp_path / "lake")
    changed = LONG_MAPPING.replace(
        'time_zone = "Europe/London"\ninterval', 'time_zone = "UTC"\ninterval'
    )
    mapping = load_mapping(write(tmp_path / "changed", "homes.toml", changed))
    with pytest.raises(ImportConflict, match="already in landing/ with other rows"):
        import_export(lake, export, mapping)
    assert snapshot(tmp_path / "lake") == before


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("absent.csv", None, "no such file"),
        (
            "cut.csv.gz",
            gzip.compress(LONG_EXPORT.encode(), mtime=0)[:40],
            "not a readable gzip file",
        ),
        ("plain.csv.gz", LONG_EXPORT.encode(), "named .gz but not gzip-compressed"),
        ("empty.csv", b"", "line 1: the header is missing"),
        (
            "latin1.csv",
            "meter,time,kwh\nA,2013-01-01 00:00:00,1\nB\xe9,2013-01-01 00:00:00,1\n".encode(
                "latin-1"
            ),
            "line 3: not valid UTF-8",
        ),
        (
            "short.csv",
            b"meter,time,kwh\nA,2013-01-01 00:00:00,1\n\nA,2013-01-01 00:30:00\n",
            "line 4: expected 3 fields, found 2",
        ),
        (
            "missing.csv",
            b"meter,time\nA,2013-01-01 00:00:00\n",
            "line 1: no column(s) ['kwh']",
        ),
        (
            "extra.csv",
            b"meter,time,kwh,note\nA,2013-01-01 00:00:00,1,x\n",
            "column(s) ['note'] are not in mapping",
        ),
        (
            "format.csv",
            b"meter,time,kwh\nA,01/01/2013 00:00,1\n",
            "no value of column 'time' matches timestamp_format",
        ),
    ],
)
def test_an_unreadable_export_is_refused_naming_the_file(
    tmp_path: Path, name: str, content: bytes | None, says: str
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    mapping = load_mapping(write(tmp_path, "homes.toml", LONG_MAPPING))
    path = tmp_path / "in" / name
    if content is not None:
        write(path.parent, name, "")
        path.write_bytes(content)
    with pytest.raises(ExportError) as caught:
        import_export(lake, path, mapping)
    assert str(caught.value).startswith(f"{path}: "), caught.value
    assert says in str(caught.value)
    assert not (tmp_path / "lake" / "landing").exists()


def test_the_cli_imports_and_prints_the_accounting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mapping = write(tmp_path, "feeders.toml", WIDE_MAPPING)
    export = write(tmp_path / "in", "feeders.csv", WIDE_EXPORT)
    lake = ["--lake", str(tmp_path / "lake")]
    with caplog.at_level(logging.INFO):
        assert main([*lake, "import", str(export), "--mapping", str(mapping)]) == 0
    assert "6 data lines = 5 delivered + 1 empty lines" in caplog.text
    assert (
        "10 readings + 5 weather rows from 6 lines (1 empty) in 4 batches"
        in caplog.text
    )
    caplog.clear()
    bad = write(
        tmp_path, "bad.toml", WIDE_MAPPING.replace('unit = "kW"', 'unit = "MW"')
    )
    assert main([*lake, "import", str(export), "--mapping", str(bad)]) == 1
    assert f"{bad}: [export] unit: must be one of kWh, Wh, kW" in caplog.text
    caplog.clear()
    assert (
        main([*lake, "import", str(tmp_path / "nope.csv"), "--mapping", str(mapping)])
        == 1
    )
    assert f"{tmp_path / 'nope.csv'}: no such file" in caplog.text


# ------------------------------------------------------------------ real exports
@pytest.fixture(scope="module")
def real_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not (LONDON.is_file() and TETOUAN.is_file()):
        pytest.skip(f"the real exports are not in {REAL} (set WATTLAKE_REAL_DATA)")
    yield tmp_path_factory.mktemp("real") / "lake"


@pytest.fixture(scope="module")
def london(real_lake: Path, project_dir: Path) -> ImportReport:
    return import_file(Lake(str(real_lake)), LONDON, "london_lcl", project_dir)


@pytest.fixture(scope="module")
def tetouan(real_lake: Path, project_dir: Path) -> ImportReport:
    return import_file(Lake(str(real_lake)), TETOUAN, "tetouan_zones", project_dir)


def raw_of(lake: Path, table: str, batches: list[str]) -> str:
    glob = Lake(str(lake)).raw_glob(table)
    ids = ", ".join(f"'{batch}'" for batch in batches)
    return f"(select * from read_parquet('{glob}') where batch_id in ({ids}))"


def test_london_imports_in_full(london: ImportReport, real_lake: Path) -> None:
    data_lines, empty = count_lines(LONDON)
    assert (data_lines, empty) == (1_674_718, 0)
    assert london.data_lines == london.delivered_lines == london.readings_rows
    assert london.readings_rows == data_lines and london.empty_lines == 0
    assert london.weather_rows == 0 and (london.site_rows, london.meter_rows) == (
        100,
        100,
    )
    assert london.unconverted_timestamps == 0 and london.unparseable_values == 0
    assert london.count("landed") == len(london.batches) == 14
    months = [b.split("_")[3] for b in batch_ids(london, "metering")]
    assert months == [f"2013-{month:02d}" for month in range(1, 13)]

    # every line, as an independent reader sees it, is one raw reading: the
    # timestamps are UTC already, so only the text changes to ISO 8601
    raw = raw_of(real_lake, "readings", batch_ids(london, "metering"))
    csv_rows = f"""
        select
            'lcl-' || LCLid as meter_id,
            replace(tstp, ' ', 'T') || 'Z' as start,
            energy
        from read_csv('{LONDON}', header = true, auto_detect = false,
            columns = {{'LCLid': 'varchar', 'tstp': 'varchar', 'energy': 'varchar'}})
    """
    raw_rows_ = f"select meter_id, reading_start, value from {raw}"
    assert duckdb.sql(f"select count(*) from {raw}").fetchone()[0] == data_lines
    assert (
        duckdb.sql(
            f"select count(*) from ({csv_rows} except all {raw_rows_})"
        ).fetchone()[0]
        == 0
    )
    assert (
        duckdb.sql(
            f"select count(*) from ({raw_rows_} except all {csv_rows})"
        ).fetchone()[0]
        == 0
    )
    sites = raw_of(real_lake, "sites", batch_ids(london, "registry"))
    assert duckdb.sql(
        "select count(*), count(distinct site_id), min(site_type), max(time_zone) "
        f"from {sites}"
    ).fetchone() == (100, 100, "home", "Europe/London")


def test_tetouan_imports_in_full(tetouan: ImportReport, real_lake: Path) -> None:
    data_lines, empty = count_lines(TETOUAN)
    assert (data_lines, empty) == (104_832, 52_416)
    assert tetouan.data_lines == data_lines and tetouan.empty_lines == empty
    assert tetouan.delivered_lines == data_lines - empty
    assert tetouan.readings_rows == 3 * (data_lines - empty)
    assert tetouan.weather_rows == data_lines - empty
    assert (tetouan.site_rows, tetouan.meter_rows) == (3, 3)
    assert tetouan.unconverted_timestamps == 0 and tetouan.unparseable_values == 0
    assert tetouan.count("landed") == len(tetouan.batches) == 2 + 12 + 12

    # the timestamps are UTC: the UTC instant of each line is its exported time
    lines = f"""
        select
            strftime(strptime(DateTime, '%m/%d/%y %H:%M'), '%Y-%m-%dT%H:%M:%SZ') as t,
            *
        from read_csv('{TETOUAN}', header = true, all_varchar = true)
        where DateTime is not null
    """
    zones = " union all ".join(
        f"select 'tetouan-zone-{n}', t, \"Zone {n} Power Consumption\" from ({lines})"
        for n in (1, 2, 3)
    )
    raw = raw_of(real_lake, "readings", batch_ids(tetouan, "metering"))
    delivered_rows = f"select meter_id, reading_start, value from {raw}"
    assert duckdb.sql(f"select count(*) from {raw}").fetchone()[0] == 157_248
    assert (
        duckdb.sql(
            f"select count(*) from ({zones} except all {delivered_rows})"
        ).fetchone()[0]
        == 0
    )
    weather = raw_of(real_lake, "weather", batch_ids(tetouan, "weather"))
    assert (
        duckdb.sql(
            f"select count(*) from ({lines}) as l join {weather} as w "
            "on l.t = w.observed_at and l.Temperature = w.air_temperature_c "
            'and l.Humidity = w.relative_humidity_pct and l."Wind Speed" = w.wind_speed_m_s'
        ).fetchone()[0]
        == 52_416
    )


def test_importing_the_real_exports_again_changes_nothing(
    london: ImportReport, tetouan: ImportReport, real_lake: Path, project_dir: Path
) -> None:
    before = snapshot(real_lake)
    lake = Lake(str(real_lake))
    for path, mapping, first in (
        (LONDON, "london_lcl", london),
        (TETOUAN, "tetouan_zones", tetouan),
    ):
        again = import_file(lake, path, mapping, project_dir)
        assert again.count("unchanged") == len(again.batches) == len(first.batches)
        assert [b.batch_id for b in again.batches] == [
            b.batch_id for b in first.batches
        ]
    assert snapshot(real_lake) == before
