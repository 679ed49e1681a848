"""Payloads in memory handed to Arrow's readers in Arrow's own memory.

Arrow's readers work ahead on Arrow's own threads. Given a Python object to
read (an `io.BytesIO`, or a buffer over `bytes`), one of those threads may be
the one to drop the last reference to it or to a piece of it, a moment after
the reader returned. If the interpreter has begun to exit by then, that
thread cannot take the GIL to do so, and the process aborts with "terminate
called without an active exception" (SIGABRT) after its work is done
(apache/arrow#34314): `wattlake import` did so in about 1 run in 140 on a
busy machine. Memory Arrow allocated itself is freed without the GIL, so
every payload an Arrow reader reads from memory is a copy in it (one memory
copy, no Python object).
"""

from __future__ import annotations

import pyarrow as pa


def arrow_input(payload: bytes) -> pa.BufferReader:
    """A reader over a copy of `payload` in Arrow's memory, for any Arrow reader."""
    buffer = pa.allocate_buffer(len(payload))
    pa.FixedSizeBufferWriter(buffer).write(payload)
    return pa.BufferReader(buffer)
