"""In-memory payloads reach Arrow's readers as copies in Arrow's own memory."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from wattlake.arrow_input import arrow_input


def _address(payload: bytes) -> int:
    return np.frombuffer(payload, dtype=np.uint8).ctypes.data


def test_the_reader_reads_a_copy_not_the_payload_itself() -> None:
    payload = b"meter_id,value\nMTR-1,0.25\n"
    reader = arrow_input(payload)
    buffer = reader.read_buffer()
    assert buffer.to_pybytes() == payload
    # what Arrow is otherwise handed views the Python object's own memory
    assert pa.py_buffer(payload).address == _address(payload)
    assert buffer.address != _address(payload)


def test_csv_and_parquet_payloads_read_as_from_the_bytes() -> None:
    table = pa.table(
        {"meter_id": ["MTR-1", "MTR-2", "MTR-2"], "value": [0.25, 1.5, None]}
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    assert pq.read_table(arrow_input(sink.getvalue())).equals(table)
    text = b"meter_id,value\nMTR-1,0.25\nMTR-2,1.5\nMTR-2,\n"
    assert pa_csv.read_csv(arrow_input(text)).equals(table)


def test_an_empty_payload_reads_as_empty() -> None:
    assert arrow_input(b"").read() == b""
