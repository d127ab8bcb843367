"""The engine in a child process, streaming its messages back in chunks, so publishing has a core.

The child runs exactly `engine.simulate` and sends its messages, in order, as lists of plain
tuples through a one-way pipe; the parent turns them back into `Outgoing`. Same scenario, same
messages, same order: pacing, rate limits and the run summary stay in the parent, on the message
timestamps. The pipe is the bound: the child blocks while one chunk waits to be read, so it is
never more than about two chunks ahead of the publisher.

Lifetime: the child is started with 'spawn' (the parent may already run threads, so no fork)
and ignores Ctrl-C (the parent decides). Leaving the `with` block, normally or by an exception,
closes the pipe and joins the child, terminating it if it has not finished. If the parent dies
without cleaning up (SIGKILL), the child's next write fails on the broken pipe and it exits.
multiprocessing also starts its resource tracker, one per interpreter, which exits with it.
"""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from types import TracebackType

from device_sims.emissions import Outgoing
from device_sims.engine import simulate
from device_sims.scenario import Scenario

#: Messages per chunk: large enough to amortise pickling and pipe wake-ups over many messages,
#: small enough (~0.5 MB for city-block) that the child is never far ahead and starts quickly.
CHUNK = 2048
#: How long a child that has sent everything may take to exit before it is terminated.
_EXIT_TIMEOUT_S = 5.0

#: `Outgoing` as a tuple, in field order: (ts, topic, payload, qos, retain, channel, readings,
#: events). Tuples pickle several times faster than slotted dataclasses.
_Row = tuple[float, str, bytes, int, bool, str, int, int]


class EngineProcessError(RuntimeError):
    """The child process failed or died before sending every message."""


class EngineProcess:
    """`with EngineProcess(scenario, qos) as messages:` iterates `simulate(scenario, qos)`,
    computed in a child process. Iterate it once, inside the block."""

    def __init__(self, scenario: Scenario, qos: int = 1) -> None:
        context = multiprocessing.get_context("spawn")
        self._reader, writer = context.Pipe(duplex=False)
        self._child = context.Process(
            target=_produce,
            args=(scenario, qos, writer, CHUNK),
            name="courtyard-sim-engine",
            daemon=True,
        )
        self._writer = writer
        self._finished = False

    def __enter__(self) -> Iterator[Outgoing]:
        self._child.start()
        self._writer.close()  # the child holds the only write end: EOF means it is gone
        return self._messages()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._reader.close()  # a child still producing gets a broken pipe and exits
        child = self._child
        child.join(_EXIT_TIMEOUT_S if self._finished else 0.0)
        if child.is_alive():
            child.terminate()
            child.join()
        child.close()

    def _messages(self) -> Iterator[Outgoing]:
        while True:
            try:
                chunk: list[_Row] | str | None = self._reader.recv()
            except (EOFError, OSError):  # OSError: it died in the middle of a chunk
                self._child.join(_EXIT_TIMEOUT_S)
                raise EngineProcessError(
                    f"the engine process died (exit code {self._child.exitcode})"
                ) from None
            if chunk is None:
                self._finished = True
                return
            if isinstance(chunk, str):
                raise EngineProcessError(f"the engine process failed:\n{chunk}")
            for row in chunk:
                yield Outgoing(*row)


def _produce(scenario: Scenario, qos: int, writer: Connection, size: int) -> None:
    """The child's main: send every message in chunks, then None; a failure as its traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        chunk: list[_Row] = []
        for m in simulate(scenario, qos):
            chunk.append(
                (m.ts, m.topic, m.payload, m.qos, m.retain, m.channel, m.readings, m.events)
            )
            if len(chunk) >= size:
                writer.send(chunk)
                chunk = []
        writer.send(chunk)
        writer.send(None)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent stopped reading: nothing left to do
    except Exception:
        writer.send(traceback.format_exc())
    finally:
        writer.close()
