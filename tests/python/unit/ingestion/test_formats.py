import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wattlake.ingestion.formats import DeliveryError, _is_utf8, parse_delivery

HEADER = "meter_id,reading_start,interval_minutes,value,unit\n"


def csv(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


def rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def test_csv_keeps_every_field_as_text_with_its_line() -> None:
    parsed = parse_delivery(
        csv(
            HEADER
            + "m1,2025-03-30T00:00:00Z,15,0.250,kWh\nm2,2025-03-30T00:00:00Z,15,007,Wh\n"
        ),
        "csv.gz",
        "readings",
        "landing/metering/b.csv.gz",
    )
    first, second = rows(parsed.table)
    assert first["value"] == "0.250" and second["value"] == "007"  # nothing cast
    assert (first["source_line"], second["source_line"]) == (2, 3)
    assert first["quality_code"] is None  # optional column absent in the delivery
    assert parsed.unparseable_rows == 0


def test_malformed_lines_are_kept_whole_with_their_error_and_line() -> None:
    text = (
        HEADER
        + "m1,2025-03-30T00:00:00Z,15,0.25,kWh\nm1,oops\n\nm1,2025-03-30T00:15:00Z,15,0.3,kWh,extra\n"
    )
    parsed = parse_delivery(csv(text), "csv.gz", "readings", "b.csv.gz")
    table = rows(parsed.table)
    assert [r["source_line"] for r in table] == [2, 3, 5]
    assert table[1]["raw_line"] == "m1,oops"
    assert table[1]["parse_error"] == "expected 5 comma-separated fields, found 2"
    assert table[1]["meter_id"] is None
    assert table[2]["raw_line"] == "m1,2025-03-30T00:15:00Z,15,0.3,kWh,extra"
    assert parsed.blank_lines == 1
    assert parsed.unparseable_rows == 2


def test_quoted_csv_takes_the_exact_path_and_agrees_with_the_fast_one() -> None:
    plain = (
        HEADER
        + "m1,2025-03-30T00:00:00Z,15,0.25,kWh\nbroken\nm2,2025-03-30T00:00:00Z,15,1,kWh\n"
    )
    quoted = (
        HEADER
        + '"m1",2025-03-30T00:00:00Z,15,0.25,kWh\nbroken\nm2,2025-03-30T00:00:00Z,15,1,kWh\n'
    )
    fast = rows(parse_delivery(csv(plain), "csv.gz", "readings", "a").table)
    exact = rows(parse_delivery(csv(quoted), "csv.gz", "readings", "b").table)
    assert fast == exact


def test_a_quoted_field_spanning_lines_keeps_line_numbers_right() -> None:
    text = (
        HEADER
        + 'm1,2025-03-30T00:00:00Z,15,0.25,"k\nWh"\nm2,2025-03-30T00:00:00Z,15,1,kWh\n'
    )
    table = rows(parse_delivery(csv(text), "csv.gz", "readings", "b").table)
    assert table[0]["unit"] == "k\nWh"
    assert [r["source_line"] for r in table] == [2, 4]


def test_a_line_that_is_not_utf8_is_kept_with_its_error() -> None:
    payload = gzip.compress(
        HEADER.encode()
        + b"m1,2025-03-30T00:00:00Z,15,0.25,k\xffWh\nm2,2025-03-30T00:00:00Z,15,1,kWh\n"
    )
    table = rows(parse_delivery(payload, "csv.gz", "readings", "b").table)
    assert table[0]["parse_error"].startswith("not valid UTF-8")
    assert "\\xff" in table[0]["raw_line"]
    assert table[1]["meter_id"] == "m2"


def test_extra_columns_go_to_extra_fields() -> None:
    text = "meter_id,reading_start,interval_minutes,value,unit,site_ref\nm1,2025-03-30T00:00:00Z,15,1,kWh,S9\n"
    table = rows(parse_delivery(csv(text), "csv.gz", "readings", "b").table)
    assert json.loads(table[0]["extra_fields"]) == {"site_ref": "S9"}


@pytest.mark.parametrize(
    ("payload", "fmt", "message"),
    [
        (
            gzip.compress(b"meter_id,value\nm1,1\n", mtime=0),
            "csv.gz",
            r"landing/x.csv.gz: line 1: missing required column\(s\) reading_start, interval_minutes, unit",
        ),
        (
            gzip.compress(b"", mtime=0),
            "csv.gz",
            r"landing/x.csv.gz: line 1: the header is missing",
        ),
        (b"not gzip at all", "csv.gz", r"landing/x.csv.gz: not a readable gzip file"),
        (b"PAR1 nonsense", "parquet", r"landing/x.csv.gz: not a readable Parquet file"),
    ],
)
def test_unreadable_deliveries_name_the_file_and_line(
    payload: bytes, fmt: str, message: str
) -> None:
    with pytest.raises(DeliveryError, match=message):
        parse_delivery(payload, fmt, "readings", "landing/x.csv.gz")


def test_json_lines_keep_bad_lines_whole() -> None:
    lines = [
        json.dumps(
            {
                "meter_id": "m1",
                "reading_start": "2025-03-30T00:00:00Z",
                "interval_minutes": 15,
                "value": 0.5,
                "unit": "kWh",
            }
        ),
        "{not json",
        "[1, 2]",
    ]
    table = rows(
        parse_delivery(
            gzip.compress("\n".join(lines).encode()), "jsonl.gz", "readings", "b"
        ).table
    )
    assert table[0]["interval_minutes"] == "15" and table[0]["value"] == "0.5"
    assert table[1]["raw_line"] == "{not json" and table[1]["parse_error"].startswith(
        "unparseable JSON"
    )
    assert table[2]["parse_error"] == "expected a JSON object, found list"
    assert [r["source_line"] for r in table] == [1, 2, 3]


def parquet_reading_at_epoch(zone: str) -> dict:
    """A one-row Parquet delivery at 1970-01-01 00:00 UTC, typed, landed as text."""
    delivered = pa.table(
        {
            "meter_id": ["m1"],
            "reading_start": pa.array([0], pa.timestamp("s", tz=zone)),
            "interval_minutes": [15],
            "value": [0.25],
            "unit": ["kWh"],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(delivered, buffer)
    (row,) = rows(parse_delivery(buffer.getvalue(), "parquet", "readings", "b").table)
    return row


def test_parquet_deliveries_become_text() -> None:
    row = parquet_reading_at_epoch("UTC")
    assert (
        row["reading_start"] == "1970-01-01T00:00:00.000Z"
    )  # ISO 8601, UTC, ms as stored
    assert row["interval_minutes"] == "15" and row["value"] == "0.25"
    assert row["source_line"] == 1


def test_a_line_the_csv_reader_rejects_is_kept_and_reading_goes_on() -> None:
    text = (
        HEADER
        + 'm1,2025-03-30T00:00:00Z,15,"0.2"5,kWh\nm2,2025-03-30T00:00:00Z,15,1,kWh\n'
    )
    table = rows(parse_delivery(csv(text), "csv.gz", "readings", "b").table)
    assert table[0]["parse_error"].startswith("unparseable CSV")
    assert table[0]["raw_line"] == 'm1,2025-03-30T00:00:00Z,15,"0.2"5,kWh'
    assert (table[1]["meter_id"], table[1]["source_line"]) == ("m2", 3)


@pytest.mark.parametrize(
    "data",
    [
        b"plain ascii",
        "caf\u00e9 \U0001f600".encode(),
        b"\xef\xbf\xbf",  # U+FFFF
        b"\xed\xa0\x80",  # a surrogate
        b"\xc0\x80",  # overlong
        b"\xe0\x80\x80",  # overlong
        b"\xf4\x90\x80\x80",  # past U+10FFFF
        b"\xf5\x80\x80\x80",
        b"a\xc3",  # cut short
        b"\xff",
    ],
)
def test_the_utf8_check_agrees_with_python(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        expected = False
    else:
        expected = True
    assert _is_utf8(data) is expected


def test_a_quoted_header_only_delivery_has_no_blank_line() -> None:
    parsed = parse_delivery(
        csv('"meter_id","reading_start","interval_minutes","value","unit"\n'),
        "csv.gz",
        "readings",
        "b",
    )
    assert parsed.table.num_rows == 0 and parsed.blank_lines == 0


def test_gzip_with_two_members_is_read_whole() -> None:
    payload = csv(HEADER + "m1,2025-03-30T00:00:00Z,15,0.25,kWh\n") + csv(
        "m2,2025-03-30T00:00:00Z,15,1,kWh\n"
    )
    table = rows(parse_delivery(payload, "csv.gz", "readings", "b").table)
    assert [r["meter_id"] for r in table] == ["m1", "m2"]


def test_parquet_timestamps_in_another_zone_become_utc() -> None:
    row = parquet_reading_at_epoch("Europe/Paris")
    assert row["reading_start"].startswith("1970-01-01T00:00:00")
    assert row["reading_start"].endswith("Z")


def test_a_parquet_column_that_is_not_text_like_is_refused_by_name() -> None:
    delivered = pa.table(
        {
            "meter_id": ["m1"],
            "reading_start": ["2025-03-30T00:00:00Z"],
            "interval_minutes": ["15"],
            "value": pa.array([[1, 2]]),
            "unit": ["kWh"],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(delivered, buffer)
    with pytest.raises(
        DeliveryError,
        match=r"b.parquet: column 'value' of type list<.*> cannot be read as text",
    ):
        parse_delivery(buffer.getvalue(), "parquet", "readings", "b.parquet")
