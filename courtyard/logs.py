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
    # Libraries that log every connection, request or timer run: their warnings still come
    # through, and DEBUG shows everything.
    if root.level > logging.DEBUG:
        for noisy in ("paho", "psycopg.pool", "httpx", "httpcore", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
