"""Read deliveries (CSV, JSON Lines, Parquet) into raw tables of text, losing nothing.

Every delivered row becomes one raw row with each contract field as delivered
text. Fields beyond the contract go to `extra_fields` (a JSON object). A line
that cannot be parsed is kept whole in `raw_line` with its `parse_error`, and
every row keeps its `source_line` (the physical line number in the delivery;
the row number for Parquet). Blank lines carry no data and are only counted.

What a delivery's rows are is defined by Python's `csv` module (strict, for a
delivery with any quote character; without one, lines are split on commas)
and `json` module, line by line. Reading line by line in Python is slow (0.1
to 0.3 million rows a second), so each reader lets Arrow read every line it
provably reads the same way, and reads only the remaining lines in Python:

- CSV without quotes: Arrow's CSV reader reads the lines with the header's
  number of fields and hands over the others, kept whole with their error.
- CSV with quotes: when one pattern shows every line has the header's number
  of fields, each unquoted or quoted as a whole with no quote, comma, CR or
  NUL inside, Arrow's CSV reader reads the body. Otherwise such plain lines
  are split by Arrow, and the csv module reads from each other line (quoted
  commas or newlines, bad quoting, bytes that are not UTF-8) until a record
  ends before a plain line; records never start inside a plain line.
- JSON Lines: a line laid out as a template line (a flat object: same keys,
  order and spacing) whose values are strings without escapes, numbers that
  `json.dumps` writes back unchanged, true, false or null, is cut up by
  Arrow; any other line goes to `json.loads`.
- Parquet: timestamps are formatted once per distinct value.

`tests/python/unit/ingestion/line_by_line.py` keeps the line-by-line reader
as the oracle these readers are tested against.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from wattlake.arrow_input import arrow_input

# Contract columns of each raw table, in order: (required, optional).
CONTRACTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "readings": (
        ("meter_id", "reading_start", "interval_minutes", "value", "unit"),
        ("quality_code",),
    ),
    "sites": (
        (
            "site_id",
            "site_name",
            "site_type",
            "area_id",
            "area_name",
            "floor_area_m2",
            "latitude",
            "longitude",
            "time_zone",
        ),
        ("address",),
    ),
    "meters": (
        ("meter_id", "site_id", "installed_on", "interval_minutes"),
        # meter_type: import (consumption only) or net (solar: negatives are exports)
        ("removed_on", "meter_type"),
    ),
    # Observations per city area (hourly or finer); observed_at is ISO 8601, UTC.
    "weather": (
        ("area_id", "observed_at", "air_temperature_c"),
        ("relative_humidity_pct", "wind_speed_m_s"),
    ),
    # The retailer's tariff assignments: a site is on a tariff (an id of
    # seeds/tariff_plans.csv) from a date on (ISO 8601, the site's local date).
    "tariffs": (("site_id", "tariff_id", "valid_from"), ()),
}

# Arrow's string arrays hold at most 2 GiB; text is split in pieces below that.
_PIECE_BYTES = 1 << 30
# A CSV field that strict `csv` reads exactly as Arrow does: unquoted, or
# quoted as a whole, with no quote, comma, CR or NUL inside.
_CSV_FIELD = r'(?:"[^",\r\n\x00]*"|[^",\r\n\x00]*)'
_CSV_PLAIN_LINE = rf"\A(?:{_CSV_FIELD}(?:,{_CSV_FIELD})*)?\z"
# The fast whole-body check spells out the header's field count; RE2 allows
# counted repetition up to 1000.
_CSV_MAX_FAST_FIELDS = 500
# A JSON scalar whose text form is cheap: a string without escapes or control
# characters, a number, true, false or null (Python `re` syntax, ASCII digits).
_JSON_SCALAR = (
    r'"[^"\\\x00-\x1f]*"'
    r"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
    r"|true|false|null"
)
_JSON_SPACE = r"[ \t\r]*"
_JSON_STRING = r'\A"[^"\\\x00-\x1f]*"\z'
# Numbers that json.dumps(json.loads(token)) writes back as the same token:
# integers without a sign on zero, and decimals in positional notation that
# are the shortest round-trip form of their float, from 1e-4 to below 1e15,
# where Python's float repr is positional (see _json_scalars_as_text).
_JSON_NUMBER = (
    r"\A(?:0|-?[1-9][0-9]*"
    r"|-?0\.(?:0|0{0,3}[1-9](?:[0-9]*[1-9])?)"
    r"|-?[1-9][0-9]{0,14}\.(?:0|[0-9]*[1-9]))\z"
)
# Template lines tried per JSON Lines delivery before the rest goes to json.loads.
_JSON_MAX_TEMPLATES = 4
# A text value that json.dumps writes as itself between quotes.
_JSON_PLAIN_TEXT = r"\A[\x20\x21\x23-\x5b\x5d-\x7e]*\z"


class DeliveryError(ValueError):
    """A delivery cannot be read at all; the message names the file (and line)."""


@dataclass(frozen=True)
class Parsed:
    """A delivery read into contract columns plus lineage columns."""

    table: (
        pa.Table
    )  # contract columns, extra_fields, raw_line, parse_error, source_line
    blank_lines: int

    @property
    def unparseable_rows(self) -> int:
        """Rows kept whole because they could not be parsed."""
        return self.table.num_rows - self.table["parse_error"].null_count


def contract_columns(table: str, where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (required, optional) columns of a raw table."""
    if table not in CONTRACTS:
        raise DeliveryError(f"{where}: no data contract for raw table {table!r} yet")
    return CONTRACTS[table]


def parse_delivery(payload: bytes, fmt: str, table: str, where: str) -> Parsed:
    """Parse a delivery's bytes; `where` names it in errors."""
    if fmt == "csv.gz":
        return _parse_csv(_gunzip(payload, where), table, where)
    if fmt == "jsonl.gz":
        return _parse_jsonl(_gunzip(payload, where), table, where)
    if fmt == "parquet":
        return _parse_parquet(payload, table, where)
    raise DeliveryError(f"{where}: unknown format {fmt!r}")


def _gunzip(payload: bytes, where: str) -> bytes:
    # One gzip member, nothing after it: zlib checks the CRC as it inflates,
    # faster than gzip.decompress, which handles every other case.
    inflate = zlib.decompressobj(wbits=31)
    try:
        data = inflate.decompress(payload)
    except zlib.error:
        pass
    else:
        if inflate.eof and not inflate.unused_data:
            return data
    try:
        return gzip.decompress(payload)
    except (OSError, EOFError, zlib.error) as exc:
        raise DeliveryError(f"{where}: not a readable gzip file ({exc})") from exc


# ----------------------------------------------------------------------- lines
@dataclass(frozen=True)
class _Lines:
    """Physical lines (line k + 1 is `text[k]`), one CR ending removed."""

    text: pa.ChunkedArray
    decode_errors: dict[int, str]  # line index -> error, for lines not UTF-8


def _is_utf8(data: bytes) -> bool:
    """Whether all of `data` is UTF-8 (checked by Arrow, without a copy)."""
    raw = _one_value(data, pa.binary())
    text = pa.large_string() if pa.types.is_large_binary(raw.type) else pa.string()
    try:
        raw.cast(text)
    except pa.ArrowInvalid:
        return False
    return True


def _chunked(
    pieces: list[pa.Array | pa.ChunkedArray], kind: pa.DataType | None = None
) -> pa.ChunkedArray:
    """Arrays end to end (text unless `kind` says otherwise), as one chunked array."""
    chunks = [
        chunk
        for piece in pieces
        for chunk in (piece.chunks if isinstance(piece, pa.ChunkedArray) else [piece])
    ]
    return pa.chunked_array(chunks, kind or pa.string())


@dataclass(frozen=True)
class _Order:
    """Rows of arrays put end to end, reordered: runs of consecutive rows.

    Rows read by Arrow and the few read in Python interleave in long runs,
    so slicing the runs costs far less than copying every row with `take`.
    """

    order: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    @classmethod
    def of(cls, order: np.ndarray) -> _Order:
        """The permutation `order` (positions in the arrays put end to end)."""
        breaks = np.flatnonzero(np.diff(order) != 1) + 1
        first = np.concatenate([[0], breaks]).astype(np.int64)
        ends = np.concatenate([breaks, [len(order)]]).astype(np.int64)
        return cls(order, order[first] if len(order) else first, ends - first)

    def apply(
        self, pieces: list[pa.Array | pa.ChunkedArray], kind: pa.DataType | None = None
    ) -> pa.ChunkedArray:
        """The arrays end to end, in this order."""
        joined = _chunked(pieces, kind)
        if len(self.starts) > 1024:
            return pc.take(joined, pa.array(self.order))
        chunks = [
            chunk
            for start, length in zip(
                self.starts.tolist(), self.lengths.tolist(), strict=True
            )
            for chunk in joined.slice(start, length).chunks
        ]
        return pa.chunked_array(chunks, joined.type)


def _split_lines(data: bytes) -> _Lines:
    """Split into physical lines; lines that are not UTF-8 are kept with an error."""
    if not _is_utf8(data):
        lines, errors = _python_lines(data)
        return _Lines(pa.chunked_array([pa.array(lines, pa.string())]), errors)
    chunks = []
    start = 0
    while start < len(data):
        end = len(data)
        if end - start > _PIECE_BYTES:
            end = data.rfind(b"\n", start, start + _PIECE_BYTES) + 1
            if end <= start:
                end = data.find(b"\n", start + _PIECE_BYTES) + 1 or len(data)
        piece = memoryview(data)[start:end]
        lines = pc.split_pattern(_one_value(piece, pa.string()), "\n").values
        if piece[-1:] == b"\n":  # the newline ending the piece's last line
            lines = lines.slice(0, len(lines) - 1)
        chunks.append(lines)
        start = end
    text = pa.chunked_array(chunks, pa.string())
    if b"\r" in data:
        text = pc.if_else(
            pc.ends_with(text, "\r"), pc.utf8_slice_codeunits(text, 0, -1), text
        )
    return _Lines(text, {})


def _python_lines(data: bytes) -> tuple[list[str], dict[int, str]]:
    """Split bytes that are not all UTF-8, line by line."""
    lines, errors = [], {}
    for index, raw in enumerate(data.split(b"\n")):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            lines.append(raw.decode("utf-8", errors="backslashreplace"))
            errors[index] = f"not valid UTF-8 at byte {exc.start}"
    if lines and lines[-1] == "":
        lines.pop()  # the newline ending the last line
    return [line.removesuffix("\r") for line in lines], errors


def _one_value(data: bytes | memoryview, kind: pa.DataType) -> pa.Array:
    """A one-element string or binary array over `data`, without copying it."""
    offset_type = pa.int64() if pa.types.is_large_string(kind) else pa.int32()
    if len(data) >= 2**31 - 1 and offset_type == pa.int32():
        kind = pa.large_string() if pa.types.is_string(kind) else pa.large_binary()
        offset_type = pa.int64()
    offsets = pa.array([0, len(data)], offset_type).buffers()[1]
    return pa.Array.from_buffers(kind, 1, [None, offsets, pa.py_buffer(data)])


def _line_feed(lines: pa.ChunkedArray, start: int) -> Iterator[str]:
    """Lines from `start` on, each with its newline, as the csv module reads them."""
    for offset in range(start, len(lines), 4096):
        for line in lines.slice(offset, 4096).to_pylist():
            yield line + "\n"


# ------------------------------------------------------------------------- CSV
def _parse_csv(data: bytes, table: str, where: str) -> Parsed:
    required, optional = contract_columns(table, where)
    lines = None if _is_utf8(data) else _split_lines(data)
    if lines is None:
        end = data.find(b"\n")
        first = data[: end if end >= 0 else len(data)].decode().removesuffix("\r")
        present = bool(data)
    else:
        present = len(lines.text) > 0
        first = lines.text[0].as_py() if present else ""
    if not present or not first.strip():
        raise DeliveryError(f"{where}: line 1: the header is missing")
    header = next(csv.reader([first]))
    _check_header(header, required, where)
    quoted = b'"' in data

    if lines is None:
        body = data[end + 1 :] if end >= 0 else b""
        read = _csv_plain_body(body, len(header), quoted)
        del body
        if read is not None:
            return Parsed(
                _conform(
                    dict(zip(header, read.columns, strict=True)),
                    required,
                    optional,
                    read.raw_line,
                    read.parse_error,
                    read.source_line,
                    len(read.source_line),
                ),
                0,
            )
        lines = _split_lines(data)
    body_lines = lines.text.slice(1)
    if quoted or lines.decode_errors:
        return _parse_csv_exact(body_lines, lines.decode_errors, header, table, where)
    split = _split_rows(
        body_lines,
        np.arange(2, len(body_lines) + 2, dtype=np.int64),
        len(header),
        strip_quotes=False,
    )
    return split.parsed(header, required, optional)


def _lf_lines(data: bytes) -> bytes | None:
    """The data with LF line ends; None if a lone CR or a NUL would mislead Arrow."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").removesuffix(b"\r")
        if b"\r" in data:
            return None
    if b"\x00" in data:
        return None
    return data


class _ArrowSplit(NamedTuple):
    """Lines cut on commas by Arrow: text columns f0..fn, the lines set aside."""

    table: pa.Table
    invalid: list[tuple[int, str, int]]  # (body line from 1, text, fields found)
    lines: int


def _arrow_split(data: bytes, fields: int, quoted: bool) -> _ArrowSplit | None:
    """Cut every line of `data` into `fields` text columns with Arrow's CSV reader.

    Unquoted, a line with another field count is set aside whole. None when
    Arrow skipped lines it cannot number (blank lines): the line-based readers
    count those.
    """
    invalid: list[tuple[int, str, int]] = []

    def keep_aside(row: pa_csv.InvalidRow) -> str:
        invalid.append((row.number, row.text, row.actual_columns))
        return "skip"

    names = [f"f{index}" for index in range(fields)]
    read = pa_csv.read_csv(
        arrow_input(data),
        read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
        parse_options=pa_csv.ParseOptions(
            quote_char='"' if quoted else False,
            newlines_in_values=False,
            ignore_empty_lines=True,
            invalid_row_handler=None if quoted else keep_aside,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    lines = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 10))
    lines += 0 if data.endswith(b"\n") else 1
    if read.num_rows + len(invalid) != lines or any(n is None for n, _, _ in invalid):
        return None
    return _ArrowSplit(read, invalid, lines)


def _csv_plain_body(body: bytes, fields: int, quoted: bool) -> _SplitRows | None:
    """Read a CSV body with Arrow's reader, or None where it might read otherwise.

    Without quotes in the delivery, lines are split on commas: Arrow reads
    every line with the header's field count, and hands over the others
    (kept whole with their error). With quotes, every line must be plain:
    the header's field count, each field unquoted or quoted as a whole with
    no quote, comma, CR or NUL inside, shorter than the csv module's field
    size limit. Either way: no blank line, no CR but in CR LF endings.
    """
    if not body or not 2 <= fields <= _CSV_MAX_FAST_FIELDS:
        return None
    if body.startswith(codecs.BOM_UTF8):  # Arrow would drop it; it is data here
        return None
    body = _lf_lines(body)
    if body is None:
        return None
    if quoted:
        field = _CSV_FIELD
        line = rf"{field}(?:,{field}){{{fields - 1}}}"
        pattern = rf"\A(?:{line}\n)*(?:{line})?\z"
        if not pc.match_substring_regex(_one_value(body, pa.binary()), pattern)[
            0
        ].as_py():
            return None
    split = _arrow_split(body, fields, quoted)
    if split is None:
        return None
    read, invalid, lines = split
    if quoted:
        limit = csv.field_size_limit()
        for column in read.columns:
            if (pc.max(pc.binary_length(column)).as_py() or 0) >= limit:
                return None
    numbers = np.arange(2, lines + 2, dtype=np.int64)
    if not invalid:
        none = pa.nulls(read.num_rows, pa.string())
        return _SplitRows(read.columns, none, none, pa.array(numbers), 0)
    # Arrow counts body lines from 1; the header is line 1 of the delivery.
    bad = np.array([number + 1 for number, _, _ in invalid], dtype=np.int64)
    good = numbers[~np.isin(numbers, bad)]
    order = _Order.of(np.argsort(np.concatenate([good, bad]), kind="stable"))
    nulls = pa.nulls(read.num_rows, pa.string())

    def merged(
        valid: pa.ChunkedArray | pa.Array, kept: list[str | None]
    ) -> pa.ChunkedArray:
        return order.apply([valid, pa.array(kept, pa.string())])

    return _SplitRows(
        [merged(column, [None] * len(invalid)) for column in read.columns],
        merged(nulls, [text for _, text, _ in invalid]),
        merged(
            nulls,
            [
                f"expected {fields} comma-separated fields, found {found}"
                for _, _, found in invalid
            ],
        ),
        pa.array(np.sort(np.concatenate([good, bad]))),
        0,
    )


@dataclass(frozen=True)
class _SplitRows:
    """Lines split on commas: one column per header field, plus lineage."""

    columns: list[pa.ChunkedArray]
    raw_line: pa.ChunkedArray
    parse_error: pa.ChunkedArray
    source_line: pa.Array
    blank: int

    def parsed(
        self, header: list[str], required: tuple[str, ...], optional: tuple[str, ...]
    ) -> Parsed:
        """The split rows as a raw table of the contract."""
        return Parsed(
            _conform(
                dict(zip(header, self.columns, strict=True)),
                required,
                optional,
                self.raw_line,
                self.parse_error,
                self.source_line,
                len(self.source_line),
            ),
            self.blank,
        )


def _split_rows(
    lines: pa.ChunkedArray, numbers: np.ndarray, fields: int, strip_quotes: bool
) -> _SplitRows:
    """Split lines on commas (quotes removed if `strip_quotes`); blank lines counted."""
    blank = np.asarray(pc.equal(lines, "").to_numpy(zero_copy_only=False), dtype=bool)
    blank_count = int(blank.sum())
    if blank_count:
        lines, numbers = lines.filter(pa.array(~blank)), numbers[~blank]
    plain = pc.replace_substring(lines, '"', "") if strip_quotes else lines
    parts = pc.split_pattern(plain, ",")
    lengths = pc.list_value_length(parts)
    valid = pc.equal(lengths, fields)
    # Null out the lists of invalid rows so list_element never reads past their end.
    valid_parts = pc.if_else(valid, parts, pa.scalar(None, parts.type))
    columns = [pc.list_element(valid_parts, index) for index in range(fields)]
    parse_error = pc.if_else(
        valid,
        pa.scalar(None, pa.string()),
        pc.binary_join_element_wise(
            f"expected {fields} comma-separated fields, found ",
            pc.cast(lengths, pa.string()),
            "",
        ),
    )
    raw_line = pc.if_else(valid, pa.scalar(None, pa.string()), lines)
    return _SplitRows(
        columns, raw_line, parse_error, pa.array(numbers, pa.int64()), blank_count
    )


class _Rows:
    """Rows read one by one: a record of fields, or a line kept whole with its error."""

    def __init__(self) -> None:
        self.records: list[dict[str, str | None]] = []
        self.raw_lines: list[str | None] = []
        self.errors: list[str | None] = []
        self.numbers: list[int] = []
        self.blank = 0

    def good(self, record: dict[str, str | None], line: int) -> None:
        self.records.append(record)
        self.raw_lines.append(None)
        self.errors.append(None)
        self.numbers.append(line)

    def bad(self, text: str, error: str, line: int) -> None:
        self.records.append({})
        self.raw_lines.append(text)
        self.errors.append(error)
        self.numbers.append(line)

    def column(self, name: str) -> pa.Array:
        """One key's values over every row (null where a record lacks it)."""
        return pa.array([record.get(name) for record in self.records], pa.string())


def _parse_csv_exact(
    body: pa.ChunkedArray,
    decode_errors: dict[int, str],
    header: list[str],
    table: str,
    where: str,
) -> Parsed:
    """Strict csv semantics, for deliveries with quotes or bytes that are not UTF-8.

    Plain lines (see `_CSV_PLAIN_LINE`) are split by Arrow. From each other
    line on, the csv module reads records until one ends before a plain line.
    """
    required, optional = contract_columns(table, where)
    count = len(body)
    plain = pc.and_(
        pc.match_substring_regex(body, _CSV_PLAIN_LINE),
        pc.less(pc.binary_length(body), csv.field_size_limit()),
    )
    is_plain = np.array(plain.to_numpy(zero_copy_only=False), dtype=bool)
    for index in decode_errors:
        if index >= 1:
            is_plain[index - 1] = False
    rows = _Rows()
    by_python = np.zeros(count, dtype=bool)
    position = 0
    for start in np.flatnonzero(~is_plain).tolist():
        if start < position:
            continue  # inside a record the csv module has read already
        position = _read_records(body, start, is_plain, decode_errors, header, rows)
        by_python[start:position] = True

    numbers = np.arange(2, count + 2, dtype=np.int64)
    if by_python.any():
        body, numbers = body.filter(pa.array(~by_python)), numbers[~by_python]
    split = _split_rows(body, numbers, len(header), strip_quotes=True)
    if not rows.numbers:
        return split.parsed(header, required, optional)
    line_numbers = pa.concat_arrays(
        [split.source_line, pa.array(rows.numbers, pa.int64())]
    )
    order = _Order.of(np.argsort(line_numbers.to_numpy(), kind="stable"))

    def merged(split_rows: pa.ChunkedArray, python_rows: pa.Array) -> pa.ChunkedArray:
        return order.apply([split_rows, python_rows])

    columns = {
        name: merged(column, rows.column(name))
        for name, column in zip(header, split.columns, strict=True)
    }
    return Parsed(
        _conform(
            columns,
            required,
            optional,
            merged(split.raw_line, pa.array(rows.raw_lines, pa.string())),
            merged(split.parse_error, pa.array(rows.errors, pa.string())),
            order.apply([line_numbers], pa.int64()),
            len(line_numbers),
        ),
        split.blank + rows.blank,
    )


def _read_records(
    body: pa.ChunkedArray,
    start: int,
    is_plain: np.ndarray,
    decode_errors: dict[int, str],
    header: list[str],
    rows: _Rows,
) -> int:
    """Read records with the csv module from body line `start`; return where it stopped.

    It stops after a record that ends just before a plain line (or the end).
    Body line k is physical line k + 2; `decode_errors` counts from the header.
    """
    reader = csv.reader(_line_feed(body, start), strict=True)
    count = len(body)
    last = start
    while True:
        try:
            record = next(reader)
            error = None
        except StopIteration:
            return count
        except csv.Error as exc:
            record, error = [], f"unparseable CSV: {exc}"
        first, last = last, start + reader.line_num
        text = "\n".join(body.slice(first, last - first).to_pylist())
        error = error or next(
            (
                decode_errors[i + 1]
                for i in range(first, last)
                if i + 1 in decode_errors
            ),
            None,
        )
        if error is None and not record and not text.strip():
            rows.blank += 1
        elif error is None and len(record) != len(header):
            error = (
                f"expected {len(header)} comma-separated fields, found {len(record)}"
            )
        if error is not None:
            rows.bad(text, error, first + 2)
        elif record:
            rows.good(dict(zip(header, record, strict=True)), first + 2)
        if last >= count or is_plain[last]:
            return last


# ------------------------------------------------------------------ JSON Lines
@dataclass(frozen=True)
class _JsonPart:
    """Lines read with one template: their indices and one text column per key."""

    indices: np.ndarray
    keys: list[str]
    columns: list[pa.Array]


def _parse_jsonl(data: bytes, table: str, where: str) -> Parsed:
    required, optional = contract_columns(table, where)
    read = _jsonl_plain_body(data) if _is_utf8(data) else None
    parts, rows, blank = read if read is not None else _jsonl_by_lines(data)
    return Parsed(_assemble_json(parts, rows, required, optional), blank)


def _jsonl_plain_body(data: bytes) -> tuple[list[_JsonPart], _Rows, int] | None:
    """Read JSON Lines laid out as their first line, cut on commas by Arrow's CSV reader.

    Lines with another layout (or values with commas) are read by json.loads,
    unless there are many of them: then None, and `_jsonl_by_lines` reads the
    delivery with up to four templates. None too for blank lines, CR inside
    lines, NUL, or a first line that is no template.
    """
    if not data or data.startswith(codecs.BOM_UTF8):
        return None
    data = _lf_lines(data)
    if data is None:
        return None
    end = data.find(b"\n")
    template = _json_template(data[: end if end >= 0 else len(data)].decode())
    if template is None:
        return None
    keys, pieces = template.keys, template.pieces
    split = _arrow_split(data, len(keys), quoted=False)
    if split is None:
        return None  # blank lines, skipped by Arrow
    read, lines = split.table, split.lines
    invalid = [(number, text) for number, text, _ in split.invalid]
    bad = np.array([number - 1 for number, _ in invalid], dtype=np.int64)
    indices = np.arange(lines, dtype=np.int64)
    good = indices[~np.isin(indices, bad)]
    fields = [column.combine_chunks() for column in read.columns]
    ok = np.ones(read.num_rows, dtype=bool)
    columns = []
    for position, piece in enumerate(fields):
        before, after = _json_frame(pieces, position)
        framed = pc.and_(pc.starts_with(piece, before), pc.ends_with(piece, after))
        if pc.all(framed).as_py():
            token = _cut(piece, len(before.encode()), len(after.encode()))
        else:
            token = pc.utf8_slice_codeunits(
                piece, len(before), -len(after) if after else None
            )
        column, exact = _json_scalars_as_text(token)
        columns.append(column)
        ok &= exact & np.array(framed.to_numpy(zero_copy_only=False), dtype=bool)
    python = list(invalid)
    if not ok.all():
        odd = pa.array(~ok)
        rebuilt = pc.binary_join_element_wise(*[f.filter(odd) for f in fields], ",")
        numbers = (good[~ok] + 1).tolist()
        python += zip(numbers, rebuilt.to_pylist(), strict=True)
        columns = [column.filter(pa.array(ok)) for column in columns]
    if len(python) > max(100, lines // 100):
        return None  # many lines of another layout: try more templates
    rows = _Rows()
    for number, line in sorted(python):
        _read_json_line(line, number - 1, None, rows)
    part = _JsonPart(good[ok], keys, columns)
    return ([part] if len(part.indices) else []), rows, rows.blank


def _json_frame(pieces: list[str], position: int) -> tuple[str, str]:
    """The template text before a value (after its comma) and after it (before the next)."""
    before = pieces[position] if position == 0 else pieces[position].split(",", 1)[1]
    after = pieces[position + 1]
    if position + 2 < len(pieces):
        after = after.split(",", 1)[0]
    return before, after


def _jsonl_by_lines(data: bytes) -> tuple[list[_JsonPart], _Rows, int]:
    """Read JSON Lines line by line: up to four templates, json.loads for the rest."""
    lines = _split_lines(data)
    text = lines.text
    count = len(text)
    empty = np.array(pc.equal(text, "").to_numpy(zero_copy_only=False), dtype=bool)
    pending = ~empty
    by_python = np.zeros(count, dtype=bool)
    for index in lines.decode_errors:
        pending[index], by_python[index] = False, True
    parts: list[_JsonPart] = []
    for _ in range(_JSON_MAX_TEMPLATES):
        if not pending.any():
            break
        first = int(np.argmax(pending))
        template = _json_template(text[first].as_py())
        if template is not None:
            candidates = np.flatnonzero(pending)
            part, read = _read_json_template(text, candidates, template)
            if len(part.indices):
                parts.append(part)
            pending[candidates[read]] = False
        if pending[first]:
            pending[first], by_python[first] = False, True
    by_python |= pending

    rows = _Rows()
    python_indices = np.flatnonzero(by_python)
    python_lines = text.take(pa.array(python_indices, pa.int64())).to_pylist()
    for index, line in zip(python_indices.tolist(), python_lines, strict=True):
        _read_json_line(line, index, lines.decode_errors.get(index), rows)
    return parts, rows, int(empty.sum()) + rows.blank


def _assemble_json(
    parts: list[_JsonPart],
    rows: _Rows,
    required: tuple[str, ...],
    optional: tuple[str, ...],
) -> pa.Table:
    """Template parts and json.loads rows as one table, in line order."""
    # Columns in order of first appearance, as dict.fromkeys over the records.
    first_seen: dict[str, tuple[int, int]] = {}
    for part in parts:
        for position, key in enumerate(part.keys):
            seen = (int(part.indices[0]), position)
            first_seen[key] = min(first_seen.get(key, seen), seen)
    for number, record in zip(rows.numbers, rows.records, strict=True):
        for position, key in enumerate(record):
            seen = (number - 1, position)
            first_seen[key] = min(first_seen.get(key, seen), seen)
    names = sorted(first_seen, key=first_seen.__getitem__)

    indices = np.concatenate(
        [part.indices for part in parts] + [np.array(rows.numbers, np.int64) - 1]
    )
    sources = len(parts) + (1 if rows.numbers else 0)
    order = _Order.of(np.argsort(indices, kind="stable")) if sources > 1 else None

    def assemble(
        template_rows: list[pa.Array], python_rows: list[str | None]
    ) -> pa.ChunkedArray:
        pieces = [*template_rows, pa.array(python_rows, pa.string())]
        return _chunked(pieces) if order is None else order.apply(pieces)

    nulls = [pa.nulls(len(part.indices), pa.string()) for part in parts]
    columns = {
        name: assemble(
            [
                part.columns[part.keys.index(name)] if name in part.keys else none
                for part, none in zip(parts, nulls, strict=True)
            ],
            [record.get(name) for record in rows.records],
        )
        for name in names
    }
    return _conform(
        columns,
        required,
        optional,
        assemble(nulls, rows.raw_lines),
        assemble(nulls, rows.errors),
        pa.array(np.sort(indices) + 1, pa.int64()),
        len(indices),
    )


def _read_json_line(
    line: str, index: int, decode_error: str | None, rows: _Rows
) -> None:
    """Read one line with json.loads, as a record or a line kept with its error."""
    if not line.strip():
        rows.blank += 1
        return
    error = decode_error
    if error is None:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            error = f"unparseable JSON: {exc.msg} at column {exc.colno}"
        else:
            if isinstance(obj, dict):
                record = {key: _as_text(value) for key, value in obj.items()}
                rows.good(record, index + 1)
                return
            error = f"expected a JSON object, found {type(obj).__name__}"
    rows.bad(line, error, index + 1)


@dataclass(frozen=True)
class _JsonTemplate:
    """A line's keys and the exact text around its values.

    The line is `pieces[0] + value 0 + pieces[1] + ... + value k-1 + pieces[k]`;
    every piece but the first and last starts with its whitespace and comma.
    """

    keys: list[str]
    pieces: list[str]


def _json_template(line: str) -> _JsonTemplate | None:
    """The template of a flat JSON object line, or None."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(obj, dict) or not obj:
        return None
    keys = list(obj)
    if any(char in '",\\' or char < " " for key in keys for char in key):
        return None
    space = _JSON_SPACE
    pattern = rf"\A({space}\{{{space}"
    for position, key in enumerate(keys):
        if position:
            pattern += rf"{space},{space}"
        pattern += rf'"{re.escape(key)}"{space}:{space})({_JSON_SCALAR})('
    pattern += rf"{space}\}}{space})\Z"
    match = re.match(pattern, line)
    if match is None:  # escapes in keys, or values that are not plain scalars
        return None
    return _JsonTemplate(keys, list(match.groups()[::2]))


def _read_json_template(
    text: pa.ChunkedArray, candidates: np.ndarray, template: _JsonTemplate
) -> tuple[_JsonPart, np.ndarray]:
    """Read the candidate lines laid out exactly as the template.

    Lines are split on commas (no key has one). A line counts if it has one
    piece per key, each piece starts and ends with the template's text around
    its value, and every value cut out between them is a plain scalar: then
    the line is the template with other values. Returns the part read and,
    per candidate, whether it was read.
    """
    keys, pieces = template.keys, template.pieces
    count = len(keys)
    if len(candidates) == len(text):
        lines = text.combine_chunks()
    else:
        lines = text.take(pa.array(candidates, pa.int64())).combine_chunks()
    parts = pc.split_pattern(lines, ",")
    fits = np.array(
        pc.equal(pc.list_value_length(parts), count).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    if not fits.all():
        parts = parts.filter(pa.array(fits))
    values = parts.flatten()
    ok = np.ones(len(parts), dtype=bool)
    columns = []
    for position in range(count):
        before, after = _json_frame(pieces, position)
        piece = values.take(pa.array(np.arange(position, len(values), count)))
        framed = pc.and_(pc.starts_with(piece, before), pc.ends_with(piece, after))
        token = pc.utf8_slice_codeunits(
            piece, len(before), -len(after) if after else None
        )
        column, exact = _json_scalars_as_text(token)
        columns.append(column)
        ok &= exact & np.array(framed.to_numpy(zero_copy_only=False), dtype=bool)
    read = np.zeros(len(candidates), dtype=bool)
    read[np.flatnonzero(fits)[ok]] = True
    if not ok.all():
        columns = [column.filter(pa.array(ok)) for column in columns]
    return _JsonPart(candidates[read], keys, columns), read


def _json_scalars_as_text(tokens: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """JSON scalar tokens as the text json.loads + _as_text gives, where cheap.

    Returns the text and, per token, whether it is exact (else the line must
    be read by json.loads).
    """
    plain = _plain_strings(tokens)
    if plain is not None:
        return plain, np.ones(len(tokens), dtype=bool)
    is_string = pc.match_substring_regex(tokens, _JSON_STRING)
    is_null = pc.equal(tokens, "null")
    ok = pc.or_(
        pc.match_substring_regex(tokens, _JSON_NUMBER),
        pc.is_in(tokens, pa.array(["true", "false", "null"])),
    )
    # Up to 15 significant digits (16 characters with the point), a decimal
    # is its float's shortest form; longer ones are checked against Arrow's.
    long = pc.and_(
        pc.greater(pc.binary_length(tokens), 16), pc.match_substring(tokens, ".")
    )
    if pc.any(long).as_py():
        check = pc.and_(ok, long)
        checked = tokens.filter(check)
        again = pc.cast(pc.cast(checked, pa.float64()), pa.string())
        ok = pc.replace_with_mask(ok, check, pc.equal(again, checked))
    text = tokens
    if pc.any(is_string).as_py():
        text = pc.if_else(is_string, pc.utf8_slice_codeunits(tokens, 1, -1), text)
        ok = pc.or_(ok, is_string)
    if pc.any(is_null).as_py():
        text = pc.if_else(is_null, pa.scalar(None, pa.string()), text)
    return text, np.array(ok.to_numpy(zero_copy_only=False), dtype=bool)


def _plain_strings(tokens: pa.Array) -> pa.Array | None:
    """The text of tokens that are all JSON strings without escapes, else None.

    Checks the bytes between the quotes of all tokens at once (no quote,
    backslash or control character), which is cheaper than a pattern per token.
    """
    if tokens.null_count or not len(tokens):
        return None
    framed = pc.and_(pc.starts_with(tokens, '"'), pc.ends_with(tokens, '"'))
    if not pc.all(framed).as_py() or pc.min(pc.binary_length(tokens)).as_py() < 2:
        return None
    inner = _cut(tokens, 1, 1)
    offsets = np.frombuffer(inner.buffers()[1], dtype=np.int32)
    first, last = offsets[inner.offset], offsets[inner.offset + len(inner)]
    if last > first:
        content = np.frombuffer(inner.buffers()[2], dtype=np.uint8)[first:last]
        if ((content < 0x20) | (content == 0x22) | (content == 0x5C)).any():
            return None
    return inner


def _cut(strings: pa.Array, head: int, tail: int) -> pa.Array:
    """Strings without their first `head` and last `tail` bytes.

    Only for strings that all start and end with ASCII text of those lengths,
    so every cut falls between characters and the result is valid UTF-8.
    """
    # binary_slice fails on a stop of None (and overflows on huge ones)
    stop = -tail if tail else 2**31 - 1
    return pc.binary_slice(strings.view(pa.binary()), head, stop).view(pa.string())


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


# --------------------------------------------------------------------- Parquet
def _parse_parquet(payload: bytes, table: str, where: str) -> Parsed:
    required, optional = contract_columns(table, where)
    try:
        delivered = pq.read_table(arrow_input(payload))
    except (pa.ArrowInvalid, OSError) as exc:
        raise DeliveryError(f"{where}: not a readable Parquet file ({exc})") from exc
    _check_header(delivered.column_names, required, where)
    columns = {}
    for name in delivered.column_names:
        column = delivered[name]
        if pa.types.is_timestamp(column.type):
            if column.type.tz is not None:  # strftime writes the zone's wall clock
                column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
            # Readings share few instants: format each distinct one once.
            encoded = pc.dictionary_encode(column.combine_chunks())
            text = pc.strftime(encoded.dictionary, "%Y-%m-%dT%H:%M:%S")
            if delivered.schema.field(name).type.tz is not None:
                text = pc.binary_join_element_wise(text, "Z", "")
            column = pc.take(text, encoded.indices)
        try:
            text = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DeliveryError(
                f"{where}: column {name!r} of type {column.type} cannot be read as text"
            ) from exc
        columns[name] = (
            text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
        )
    rows = delivered.num_rows
    none = pa.nulls(rows, pa.string())
    return Parsed(
        _conform(
            columns,
            required,
            optional,
            none,
            none,
            pa.array(np.arange(1, rows + 1, dtype=np.int64)),
            rows,
        ),
        0,
    )


# ---------------------------------------------------------------------- common
def _check_header(header: list[str], required: tuple[str, ...], where: str) -> None:
    missing = [name for name in required if name not in header]
    if missing:
        raise DeliveryError(
            f"{where}: line 1: missing required column(s) {', '.join(missing)} "
            f"(found {', '.join(header) or 'none'})"
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise DeliveryError(
            f"{where}: line 1: duplicated column(s) {', '.join(duplicated)}"
        )


def _conform(
    columns: dict[str, pa.Array | pa.ChunkedArray],
    required: tuple[str, ...],
    optional: tuple[str, ...],
    raw_line: pa.Array,
    parse_error: pa.Array,
    source_line: pa.Array,
    rows: int,
) -> pa.Table:
    """Contract columns in order (absent optional ones null), extras as JSON."""
    contract = (*required, *optional)
    out = {
        name: columns[name] if name in columns else pa.nulls(rows, pa.string())
        for name in contract
    }
    extras = [name for name in columns if name not in contract]
    out["extra_fields"] = (
        _extra_fields({name: columns[name] for name in extras}, rows)
        if extras
        else pa.nulls(rows, pa.string())
    )
    out["raw_line"] = raw_line
    out["parse_error"] = parse_error
    out["source_line"] = source_line
    return pa.table(out)


def _extra_fields(extras: dict[str, pa.Array | pa.ChunkedArray], rows: int) -> pa.Array:
    """Per row, json.dumps of the extra fields, or null where all of them are null."""
    parts = []
    all_null = pa.array(np.ones(rows, dtype=bool))
    for name, values in extras.items():
        values = (
            values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        )
        all_null = pc.and_(all_null, pc.is_null(values))
        plain = pc.fill_null(pc.match_substring_regex(values, _JSON_PLAIN_TEXT), True)
        text = pc.binary_join_element_wise('"', values, '"', "")
        if not pc.all(plain).as_py():
            escape = pc.invert(plain)
            escaped = [json.dumps(value) for value in values.filter(escape).to_pylist()]
            text = pc.replace_with_mask(text, escape, pa.array(escaped, pa.string()))
        parts.append(
            pc.binary_join_element_wise(
                f"{json.dumps(name)}: ", pc.fill_null(text, "null"), ""
            )
        )
    joined = pc.binary_join_element_wise(*parts, ", ")
    wrapped = pc.binary_join_element_wise("{", joined, "}", "")
    return pc.if_else(all_null, pa.scalar(None, pa.string()), wrapped)
