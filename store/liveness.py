"""ping(conn, timeout_s): does the server answer on this connection within a deadline?

A frozen server (stopped by SIGSTOP, a hung host behind a live TCP stack) keeps its sockets
open and answers nothing, so neither TCP keepalives nor `statement_timeout` notice it, and a
query on such a connection waits until the server thaws. Cancelling that query does not help
either: psycopg then sends the server a cancel request and waits for it (up to ~10 s). So the
ping is an empty query driven here at the libpq level with a deadline of its own: on time it
leaves the connection idle, as it found it; late, it closes the connection and raises.
"""

from __future__ import annotations

import asyncio
import selectors
import time

import psycopg
from psycopg import pq
from psycopg.pq.abc import PGconn
from psycopg.rows import TupleRow

_OK = frozenset({pq.ExecStatus.EMPTY_QUERY, pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK})


class NoAnswer(psycopg.OperationalError):
    """The server did not answer a ping in time; the connection was closed."""


def ping(conn: psycopg.Connection[TupleRow], timeout_s: float) -> None:
    """Raise `psycopg.OperationalError` unless the server answers within `timeout_s`."""
    pgconn = _start(conn)
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(pgconn.socket, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while (step := _step(pgconn)) is not None:
            selector.modify(pgconn.socket, step)
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise _no_answer(conn, timeout_s)
    _finish(pgconn)


async def ping_async(conn: psycopg.AsyncConnection[TupleRow], timeout_s: float) -> None:
    """`ping` for an asyncio connection (a psycopg_pool `check` callback)."""
    pgconn = _start(conn)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    fd = pgconn.socket
    while (step := _step(pgconn)) is not None:
        ready: asyncio.Future[None] = loop.create_future()

        def wake(ready: asyncio.Future[None] = ready) -> None:
            if not ready.done():
                ready.set_result(None)

        waits_write = step == selectors.EVENT_WRITE
        if waits_write:
            loop.add_writer(fd, wake)
        else:
            loop.add_reader(fd, wake)
        try:
            await asyncio.wait_for(ready, max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise _no_answer(conn, timeout_s) from None
        finally:
            if waits_write:
                loop.remove_writer(fd)
            else:
                loop.remove_reader(fd)
    _finish(pgconn)


def _start(conn: psycopg.Connection[TupleRow] | psycopg.AsyncConnection[TupleRow]) -> PGconn:
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    pgconn = conn.pgconn
    if pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
        raise psycopg.OperationalError("the connection is busy")
    try:
        pgconn.send_query(b"")
    except psycopg.Error:
        pgconn.finish()
        raise
    return pgconn


def _step(pgconn: PGconn) -> int | None:
    """What to wait for next (a selectors event), or None once the answer is complete."""
    try:
        if pgconn.flush():
            return selectors.EVENT_WRITE
        pgconn.consume_input()
    except psycopg.Error:
        pgconn.finish()  # the socket is gone: make the connection say so
        raise
    return selectors.EVENT_READ if pgconn.is_busy() else None


def _finish(pgconn: PGconn) -> None:
    failed = None
    while (result := pgconn.get_result()) is not None:
        if result.status not in _OK:
            failed = (result.error_message or b"").decode("utf-8", "replace").strip()
    if failed is not None:
        raise psycopg.OperationalError(failed or "the server refused a ping")


def _no_answer(
    conn: psycopg.Connection[TupleRow] | psycopg.AsyncConnection[TupleRow], timeout_s: float
) -> NoAnswer:
    conn.pgconn.finish()  # mid-query and unanswered: unusable whatever comes later
    return NoAnswer(f"the database did not answer within {timeout_s:g} s")
