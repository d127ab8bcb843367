"""Logging setup: one line per event, UTC timestamps, thread names (the pipeline is threaded).

`text` is for people at a terminal; `json` (one object per line: ts, level, logger, thread,
message, and the exception when there is one) is for log collectors (Loki, Elasticsearch,
`docker compose logs | jq`).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Literal

import orjson

LogFormat = Literal["text", "json"]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    text = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(levelname)-7s %(threadName)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    text.converter = time.gmtime
    return text


def configure(level: str = "INFO", log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that log every connection, request or timer run: their warnings still come
    # through, and DEBUG shows everything.
    if root.level > logging.DEBUG:
        for noisy in ("paho", "psycopg.pool", "httpx", "httpcore", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").addFilter(_expected_skips)


def _expected_skips(record: logging.LogRecord) -> bool:
    """Drop APScheduler's "skipped: maximum number of running instances reached": the services
    schedule their jobs with `max_instances=1` and `coalesce` precisely so that a run due while
    the last one still works is skipped (the rules engine's 1 s feed poll behind a long
    catch-up, say); a warning each second would bury the ones that matter."""
    return "maximum number of running instances" not in record.getMessage()
