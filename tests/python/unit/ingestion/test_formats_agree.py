"""The fast readers give exactly the rows of the line-by-line reader.

Deliveries are generated from a seeded random mix of plain lines and edge
cases (quoted commas and newlines, bad quoting, CR, NUL, bytes that are not
UTF-8, blank lines, odd numbers, unusual JSON), so each run checks the same
few hundred deliveries.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from collections.abc import Callable

import line_by_line
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wattlake.ingestion import formats

READINGS = ["meter_id", "reading_start", "interval_minutes", "value", "unit"]


def outcome(parse: Callable, payload: bytes, fmt: str) -> tuple:
    try:
        parsed = parse(payload, fmt, "readings", "landing/metering/b")
    except Exception as exc:  # noqa: BLE001 - the same error is part of the answer
        return ("error", type(exc).__name__, str(exc))
    table = parsed.table
    return (
        [(f.name, str(f.type)) for f in table.schema],
        table.to_pylist(),
        parsed.blank_lines,
        parsed.unparseable_rows,
    )


def assert_agree(payload: bytes, fmt: str) -> None:
    expected = outcome(line_by_line.parse_delivery, payload, fmt)
    assert outcome(formats.parse_delivery, payload, fmt) == expected


# ------------------------------------------------------------------------- CSV
PLAIN_FIELDS = ["MTR-000001", "2025-03-30T00:00:00Z", "15", "0.25", "kWh", "", " x "]
ODD_FIELDS = [
    '"a,b"',  # quoted comma
    '"a""b"',  # doubled quote
    '"line\nbreak"',  # quoted newline: one record over two lines
    'ab"c',  # quote inside an unquoted field
    '"a"b',  # text after a closing quote (strict csv refuses)
    '"open',  # a quote that never closes (on the last line: end of data)
    "a\rb",  # CR inside a line
    "nul\x00",
    "caf\u00e9",
    '""',
    "\ufeffbom",
]


def csv_line(rng: random.Random, fields: int, quoting: bool, odd: float) -> str:
    count = fields
    if rng.random() < odd * 5:
        count = rng.choice([1, 2, fields - 1, fields + 1])
    values = []
    for _ in range(count):
        value = rng.choice(PLAIN_FIELDS)
        if quoting and rng.random() < 0.6:
            value = f'"{value}"'
        if rng.random() < odd:
            value = rng.choice(ODD_FIELDS)
        values.append(value)
    return ",".join(values)


def csv_delivery(rng: random.Random) -> bytes:
    header = READINGS + rng.choice([[], ["quality_code"], ["site_ref"], ["a", "b"]])
    rng.shuffle(header)
    quoting = rng.random() < 0.7
    names = [f'"{name}"' if quoting and rng.random() < 0.5 else name for name in header]
    lines = [",".join(names)]
    odd = rng.choice([0.0, 0.01, 0.04])
    for _ in range(rng.randint(0, 40)):
        roll = rng.random()
        if roll < odd:
            lines.append("")
        elif roll < odd * 1.5:
            lines.append(rng.choice(["   ", "\t", ",,,,"]))
        else:
            lines.append(csv_line(rng, len(header), quoting, odd))
    ending = rng.choice(["\n", "\r\n"])
    text = ending.join(lines) + rng.choice([ending, ending, "", "\n\n"])
    data = text.encode()
    if rng.random() < 0.05:
        cut = rng.randint(0, len(data))
        data = data[:cut] + b"\xff\xfe" + data[cut:]
    return gzip.compress(data, mtime=0)


@pytest.mark.parametrize("seed", range(400))
def test_csv_agrees_with_the_line_by_line_reader(seed: int) -> None:
    assert_agree(csv_delivery(random.Random(seed)), "csv.gz")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        "\r\n",
        "meter_id,reading_start,interval_minutes,value,unit",
        "meter_id,reading_start,interval_minutes,value,unit\n",
        "meter_id,reading_start,interval_minutes,value,unit\nm1,t,15,1,kWh",
        "meter_id,reading_start,interval_minutes,value,unit\r\nm1,t,15,1,kWh\r",
        '"meter_id","reading_start","interval_minutes","value","unit"\n"m1","t","15","1","kWh"\n',
        'meter_id,reading_start,interval_minutes,value,unit\n"m1,t,15,1,kWh\n',
        'meter_id,reading_start,interval_minutes,value,unit\n"m1\nm2",t,15,1,kWh\nm3,t,15,1,kWh\n',
        'meter_id,reading_start,interval_minutes,value,unit\nm1,t,15,1,"'
        + "x" * 140_000
        + '"\n',
        "meter_id,reading_start,interval_minutes,value,unit\nm1,t,15,1,"
        + "x" * 140_000
        + "\n",
        'meter_id,reading_start,interval_minutes,value,unit,x\nm1,t,15,1,kWh,"caf\u00e9 \\ \t"\n',
    ],
)
def test_csv_edge_cases_agree(text: str) -> None:
    assert_agree(gzip.compress(text.encode(), mtime=0), "csv.gz")


# ------------------------------------------------------------------ JSON Lines
PLAIN_VALUES = ["15", "0", "-3", "0.25", "2.0141", "1.0", '"kWh"', '""', "null"]
NUMBERS = [
    "-0",
    "0.10",
    "1.0",
    "-0.0",
    "100000.0",
    "0.0001",
    "0.00001",
    "1e5",
    "1E-7",
    "123456789012345.6",
    "0.1234567890123456789",
    "12345678901234567890",
    "NaN",
    "-Infinity",
]
STRINGS = ['"kWh"', '""', '"caf\u00e9"', '"a\\"b"', '"\\u00e9"', '"tab\\t"', '"x\ty"']
OTHERS = ["true", "false", "null", "[1, 2]", '{"a": 1}']


def json_value(rng: random.Random, odd: float) -> str:
    if rng.random() >= odd:
        return rng.choice(PLAIN_VALUES)
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(NUMBERS)
    if roll < 0.9:
        return rng.choice(STRINGS)
    return rng.choice(OTHERS)


def json_line(rng: random.Random, keys: list[str], odd: float) -> str:
    if rng.random() < odd / 10:
        return rng.choice(["", "  ", "\x1c", "[1, 2]", "{not json", "17", '"text"'])
    chosen = list(keys)
    if rng.random() < odd / 2:
        rng.shuffle(chosen)
    if rng.random() < odd / 3:
        chosen = chosen[:-1] + [rng.choice(["extra", "site_ref", chosen[0]])]
    colon, comma = rng.choice([(": ", ", "), (":", ","), (" : ", " , ")])
    body = comma.join(f'"{key}"{colon}{json_value(rng, odd)}' for key in chosen)
    line = "{" + body + "}"
    if rng.random() < odd / 6:
        line = rng.choice([" ", "\t", "\r"]) + line + rng.choice([" ", ""])
    return line


def jsonl_delivery(rng: random.Random) -> bytes:
    keys = READINGS + rng.choice([[], ["quality_code"], ["site_ref"]])
    odd = rng.choice([0.0, 0.02, 0.3])
    lines = [json_line(rng, keys, odd) for _ in range(rng.randint(0, 40))]
    ending = rng.choice(["\n", "\r\n"])
    data = (ending.join(lines) + rng.choice([ending, ""])).encode()
    if rng.random() < 0.05:
        cut = rng.randint(0, len(data))
        data = data[:cut] + b"\xff" + data[cut:]
    return gzip.compress(data, mtime=0)


@pytest.mark.parametrize("seed", range(400))
def test_json_lines_agree_with_the_line_by_line_reader(seed: int) -> None:
    assert_agree(jsonl_delivery(random.Random(seed)), "jsonl.gz")


def test_json_lines_typical_delivery_agrees() -> None:
    rng = random.Random(7)
    lines = [
        json.dumps(
            {
                "meter_id": f"MTR-{n % 50:06d}",
                "reading_start": "2025-03-30T00:15:00Z",
                "interval_minutes": 15,
                "value": round(rng.random() * rng.choice([1, 100, 0.001]), 4),
                "unit": "kWh",
                "quality_code": rng.choice(["A", None]),
            }
        )
        for n in range(3000)
    ]
    assert_agree(gzip.compress("\n".join(lines).encode(), mtime=0), "jsonl.gz")


# --------------------------------------------------------------------- Parquet
def test_parquet_agrees_with_the_line_by_line_reader() -> None:
    delivered = pa.table(
        {
            "meter_id": pa.array(["m1", None, "m2"]).dictionary_encode(),
            "reading_start": pa.array([0, 900, None], pa.timestamp("s", tz="UTC")),
            "local_start": pa.array([0, 900, 900], pa.timestamp("us")),
            "interval_minutes": pa.array([15, 15, None], pa.int16()),
            "value": [0.25, 1e-05, 100000.0],
            "unit": ["kWh", "Wh", "kW"],
            "flag": [True, False, None],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(delivered, buffer)
    assert_agree(buffer.getvalue(), "parquet")


def test_numbers_read_without_json_loads_are_written_as_json_dumps_would() -> None:
    rng = random.Random(11)
    tokens = []
    for _ in range(20_000):
        roll = rng.random()
        if roll < 0.3:
            tokens.append(repr(round(rng.uniform(-1e6, 1e6), rng.randint(0, 8))))
        elif roll < 0.5:
            tokens.append(repr(rng.uniform(0, 1e-3)))
        elif roll < 0.7:
            tokens.append(f"{rng.uniform(-1000, 1000):.{rng.randint(0, 20)}f}")
        elif roll < 0.85:
            tokens.append(str(rng.randint(-(10**20), 10**20)))
        else:
            tokens.append(repr(rng.random() * 10 ** rng.randint(-8, 20)))
    text, exact = formats._json_scalars_as_text(pa.array(tokens))
    kept = [
        (token, value)
        for token, value, ok in zip(tokens, text.to_pylist(), exact, strict=True)
        if ok
    ]
    assert len(kept) > len(tokens) // 2  # most need no json.loads
    assert all(value == json.dumps(json.loads(token)) for token, value in kept)
