"""Where messages go when they are not published: a list in memory, a JSONL file, or nowhere."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

import orjson

from device_sims.emissions import Outgoing
from ingest.wire import format_timestamp


class Sink(Protocol):
    """Receives messages in order. `close()` returns how many the destination confirmed (for
    MQTT: acknowledged by the broker; elsewhere: how many were taken)."""

    def send(self, message: Outgoing) -> None: ...

    def idle(self, seconds: float) -> None:
        """Pause `seconds` of real time (pacing); a network sink keeps its connection alive."""
        ...

    def close(self) -> int: ...


class MemorySink:
    """Keeps every message: for unit tests."""

    def __init__(self) -> None:
        self.messages: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        self.messages.append(message)

    def idle(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> int:
        return len(self.messages)


class NullSink:
    """Counts and drops (dry runs, generator benchmarks)."""

    def __init__(self) -> None:
        self.count = 0

    def send(self, message: Outgoing) -> None:
        self.count += 1

    def idle(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> int:
        return self.count


class JsonlSink:
    """One JSON object a line: {ts, topic, qos, retain, payload} (payload as text when it is
    UTF-8, else `payload_b64`). Byte-for-byte reproducible for a given scenario and seed."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")
        self.count = 0

    def send(self, message: Outgoing) -> None:
        record: dict[str, object] = {
            "ts": format_timestamp(datetime.fromtimestamp(message.ts, UTC)),
            "topic": message.topic,
            "qos": message.qos,
            "retain": message.retain,
        }
        try:
            record["payload"] = message.payload.decode("utf-8")
        except UnicodeDecodeError:
            record["payload_b64"] = base64.b64encode(message.payload).decode()
        self._file.write(orjson.dumps(record) + b"\n")
        self.count += 1

    def idle(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> int:
        self._file.close()
        return self.count

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._file.close()
