"""Logging setup: one line per event, UTC timestamps, thread names (the pipeline is threaded)."""

from __future__ import annotations

import logging
import time


def configure(level: str = "INFO") -> None:
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(levelname)-7s %(threadName)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # paho and psycopg are chatty at DEBUG; their warnings still come through.
    for noisy in ("paho", "psycopg.pool"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
