"""The line-by-line reader that landing used before its fast paths: the oracle.

Deliveries are read here as landing first read them: CSV with quotes and
JSON Lines one line at a time with Python's csv and json modules (which define
what a delivery means), CSV without quotes by splitting lines on commas. The fast readers in
`wattlake.ingestion.formats` must give exactly the same rows; the tests in
`test_formats_agree.py` compare the two on generated deliveries full of edge
cases. (The reader as of commit 7ef72c0, unchanged but for sharing the
package's contracts and error type, and one fix marked below.)
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wattlake.arrow_input import arrow_input
from wattlake.ingestion.formats import CONTRACTS, DeliveryError


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
    try:
        return gzip.decompress(payload)
    except (OSError, EOFError, zlib.error) as exc:
        raise DeliveryError(f"{where}: not a readable gzip file ({exc})") from exc


def _lines(data: bytes) -> tuple[list[str], dict[int, str]]:
    """Split into physical lines; lines that are not UTF-8 are kept with an error."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        lines, errors = [], {}
        for index, raw in enumerate(data.split(b"\n")):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                lines.append(raw.decode("utf-8", errors="backslashreplace"))
                errors[index] = f"not valid UTF-8 at byte {exc.start}"
    else:
        lines, errors = text.split("\n"), {}
    if lines and lines[-1] == "":
        lines.pop()  # the newline ending the last line
    return [line.removesuffix("\r") for line in lines], errors


def _parse_csv(data: bytes, table: str, where: str) -> Parsed:
    lines, decode_errors = _lines(data)
    if not lines or not lines[0].strip():
        raise DeliveryError(f"{where}: line 1: the header is missing")
    header = next(csv.reader([lines[0]]))
    required, optional = contract_columns(table, where)
    _check_header(header, required, where)
    if any('"' in line for line in lines) or decode_errors:
        return _parse_csv_exact(lines, decode_errors, header, table, where)

    body = pa.array(lines[1:], type=pa.string())
    numbers = pa.array(range(2, len(lines) + 1), type=pa.int64())
    blank = pc.equal(body, "")
    blank_count = pc.sum(blank).as_py() or 0
    if blank_count:
        keep = pc.invert(blank)
        body, numbers = body.filter(keep), numbers.filter(keep)
    parts = pc.split_pattern(body, ",")
    lengths = pc.list_value_length(parts)
    valid = pc.equal(lengths, len(header))
    # Null out the lists of invalid rows so list_element never reads past their end.
    valid_parts = pc.if_else(valid, parts, pa.scalar(None, parts.type))
    columns = {name: pc.list_element(valid_parts, i) for i, name in enumerate(header)}
    parse_error = pc.if_else(
        valid,
        pa.scalar(None, pa.string()),
        pc.binary_join_element_wise(
            f"expected {len(header)} comma-separated fields, found ",
            pc.cast(lengths, pa.string()),
            "",
        ),
    )
    raw_line = pc.if_else(valid, pa.scalar(None, pa.string()), body)
    return Parsed(
        _conform(
            columns, required, optional, raw_line, parse_error, numbers, len(body)
        ),
        int(blank_count),
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

    def parsed(self, required: tuple[str, ...], optional: tuple[str, ...]) -> Parsed:
        names = dict.fromkeys(key for record in self.records for key in record)
        columns = {
            name: pa.array([record.get(name) for record in self.records], pa.string())
            for name in names
        }
        table = _conform(
            columns,
            required,
            optional,
            pa.array(self.raw_lines, pa.string()),
            pa.array(self.errors, pa.string()),
            pa.array(self.numbers, pa.int64()),
            len(self.numbers),
        )
        return Parsed(table, self.blank)


def _parse_csv_exact(
    lines: list[str],
    decode_errors: dict[int, str],
    header: list[str],
    table: str,
    where: str,
) -> Parsed:
    """Row by row, for deliveries with quoted fields (which may span lines)."""
    rows = _Rows()
    # One change: "\n".join(lines[1:]) + "\n" read a header-only delivery as
    # one blank line that is not there; each line now ends in its own newline.
    reader = csv.reader(
        io.StringIO("".join(f"{line}\n" for line in lines[1:])), strict=True
    )
    last = 1  # the physical line the previous record ended on
    while True:
        try:
            record = next(reader)
            error = None
        except StopIteration:
            break
        except csv.Error as exc:
            record, error = [], f"unparseable CSV: {exc}"
        first, last = last + 1, reader.line_num + 1
        text = "\n".join(lines[first - 1 : last])
        error = error or next(
            (decode_errors[i] for i in range(first - 1, last) if i in decode_errors),
            None,
        )
        if error is None and not record and not text.strip():
            rows.blank += 1
        elif error is None and len(record) != len(header):
            error = (
                f"expected {len(header)} comma-separated fields, found {len(record)}"
            )
        if error is not None:
            rows.bad(text, error, first)
        elif record:
            rows.good(dict(zip(header, record, strict=True)), first)
    return rows.parsed(*contract_columns(table, where))


def _parse_jsonl(data: bytes, table: str, where: str) -> Parsed:
    lines, decode_errors = _lines(data)
    rows = _Rows()
    for index, line in enumerate(lines):
        if not line.strip():
            rows.blank += 1
            continue
        error = decode_errors.get(index)
        if error is None:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                error = f"unparseable JSON: {exc.msg} at column {exc.colno}"
            else:
                if isinstance(obj, dict):
                    rows.good(
                        {key: _as_text(value) for key, value in obj.items()}, index + 1
                    )
                    continue
                error = f"expected a JSON object, found {type(obj).__name__}"
        rows.bad(line, error, index + 1)
    return rows.parsed(*contract_columns(table, where))


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


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
            column = pc.strftime(column, "%Y-%m-%dT%H:%M:%S")
            if delivered.schema.field(name).type.tz is not None:
                column = pc.binary_join_element_wise(column, "Z", "")
        columns[name] = pc.cast(column, pa.string()).combine_chunks()
    rows = delivered.num_rows
    none = pa.nulls(rows, pa.string())
    return Parsed(
        _conform(
            columns,
            required,
            optional,
            none,
            none,
            pa.array(range(1, rows + 1), pa.int64()),
            rows,
        ),
        0,
    )


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
    columns: dict[str, pa.Array],
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
    if extras:
        lists = [columns[name].to_pylist() for name in extras]
        out["extra_fields"] = pa.array(
            [
                json.dumps(dict(zip(extras, row, strict=True)))
                if any(v is not None for v in row)
                else None
                for row in zip(*lists, strict=True)
            ],
            type=pa.string(),
        )
    else:
        out["extra_fields"] = pa.nulls(rows, pa.string())
    out["raw_line"] = raw_line
    out["parse_error"] = parse_error
    out["source_line"] = source_line
    return pa.table(out)
