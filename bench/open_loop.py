"""An open-loop HTTP GET load generator for the bench scripts: request i is sent at
t0 + i/rate whatever happened to the others, and its latency counts from that scheduled time,
so a slow server cannot hide its queue (no coordinated omission).

It is lean on purpose. On this 2-core machine, httpx spent about three times the CPU of the
API it measured (2-3 ms per request under a backlog, against 1-3 ms for the server), so the
figures were the generator's: wrk answered 400-2,000 requests/s from the same API while the
httpx generator fell behind at 200/s. Here asyncio connections send a fixed request and
httptools (uvicorn's own parser) reads the answers, bodies skipped unread; the schedule is
split over a few processes. Given several URLs, request i asks for URL i mod n (a dashboard
asking for many different charts, which a cache of recent answers cannot serve).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

#: Connections each process may open; requests due while all are busy wait for one (and that
#: wait counts in their latency).
CONNECTIONS_PER_PROCESS = 100
#: Transport errors printed per process (all are counted).
_ERRORS_SHOWN = 5


@dataclass(frozen=True)
class Result:
    latencies_s: list[float]
    errors: int
    #: The rate achieved: requests sent over the time from request 0 to the last answer.
    rate: float


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[int] | None = None
        self.open = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_message_complete(self) -> None:  # httptools callback: an answer is in
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(self._parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(exc or ConnectionError("the server closed the connection"))

    def _fail(self, exc: BaseException) -> None:
        self.open = False
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)
        if self._transport is not None:
            self._transport.close()

    async def get(self, request: bytes) -> int:
        """Send the request; the answer's status code."""
        assert self._transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._answer


@dataclass(frozen=True)
class _Part:
    """One process's share of the schedule: requests part, part + parts, ... ."""

    #: Request i asks for urls[i % len(urls)]; all on one host.
    urls: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    rate: float
    seconds: float
    part: int
    parts: int
    #: time.monotonic() of request 0 (the same clock in every process).
    t0: float


def _run_part(part: _Part) -> tuple[list[float], int, float]:
    return asyncio.run(_load(part))


async def _load(part: _Part) -> tuple[list[float], int, float]:
    """Latencies, errors, and when the last answer came."""
    loop = asyncio.get_running_loop()  # loop.time() is time.monotonic()
    first = urlsplit(part.urls[0])
    host, port = first.hostname or "127.0.0.1", first.port or 80
    requests = [_request(url, part.headers) for url in part.urls]
    idle: deque[_Connection] = deque()
    slots = asyncio.Semaphore(CONNECTIONS_PER_PROCESS)
    latencies: list[float] = []
    errors = 0

    async def connection() -> _Connection:
        while idle:
            conn = idle.pop()
            if conn.open:
                return conn
        _, conn = await loop.create_connection(_Connection, host, port)
        return conn

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = part.t0 + i / part.rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        async with slots:
            try:
                conn = await connection()
                status = await conn.get(requests[i % len(requests)])
            except (OSError, httptools.HttpParserError) as exc:
                errors += 1
                if errors <= _ERRORS_SHOWN:
                    print(f"  transport error: {exc!r}", file=sys.stderr)
                return
            idle.append(conn)
        latencies.append(loop.time() - scheduled)
        if status != 200:
            errors += 1

    # Warm the connections on both sides before the schedule starts.
    warm = [await connection() for _ in range(10)]
    for conn in warm:
        await conn.get(requests[0])
    idle.extend(warm)
    total = int(part.rate * part.seconds)
    await asyncio.gather(*(one(i) for i in range(part.part, total, part.parts)))
    return latencies, errors, loop.time()


def _request(url: str, headers: tuple[tuple[str, str], ...]) -> bytes:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def run(
    urls: str | Sequence[str],
    headers: dict[str, str],
    *,
    rate: float,
    seconds: float,
    processes: int = 2,
) -> Result:
    """GET `urls` (one, or request i the i-th mod their number) at `rate` per second for
    `seconds`, from `processes` forked processes."""
    urls = (urls,) if isinstance(urls, str) else tuple(urls)
    t0 = time.monotonic() + 1.0  # time for the processes to start and warm their connections
    parts = [
        _Part(urls, tuple(headers.items()), rate, seconds, n, processes, t0)
        for n in range(processes)
    ]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(_run_part, parts)
    finished = max(last for _, _, last in results)
    return Result(
        latencies_s=[x for latencies, _, _ in results for x in latencies],
        errors=sum(errors for _, errors, _ in results),
        rate=int(rate * seconds) / (finished - t0),
    )
