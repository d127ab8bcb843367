"""Reading `COPY ... TO STDOUT (FORMAT BINARY)` into numpy: bulk reads without a Python object
per row.

The stream is an 11-byte signature, flags and a header-extension length, then per row a field
count and each field as (length, big-endian bytes), and a field count of -1 as the trailer.
A query whose columns are all fixed-width and never NULL maps onto a numpy record dtype, e.g.
[("fields", ">i2"), ("sid_len", ">i4"), ("sid", ">i4"), ...].
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

#: PostgreSQL's binary timestamps count microseconds from 2000-01-01 UTC; this is that instant
#: in Unix epoch seconds.
PG_EPOCH_S = 946_684_800

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def copy_out(conn: psycopg.Connection[TupleRow], query: sql.Composed) -> bytes:
    """The whole output of a `COPY ... TO STDOUT` statement."""
    buf = bytearray()
    with conn.cursor() as cur, cur.copy(query) as copy:
        for data in copy:
            buf += data
    return bytes(buf)


def rows(buf: bytes, dtype: np.dtype[np.void]) -> npt.NDArray[np.void]:
    """The rows of a binary COPY stream as records of `dtype` (none for an empty stream)."""
    if not buf:
        return np.empty(0, dtype)
    if not buf.startswith(_SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY stream")
    header = 19 + int.from_bytes(buf[15:19], "big")
    return np.frombuffer(memoryview(buf)[header : len(buf) - 2], dtype=dtype)


def epochs(micros: npt.NDArray[np.integer]) -> npt.NDArray[np.float64]:
    """Binary COPY timestamps (microseconds since 2000-01-01 UTC) as Unix epoch seconds."""
    return micros.astype(np.float64) / 1e6 + PG_EPOCH_S
