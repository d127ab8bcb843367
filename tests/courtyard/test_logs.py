"""Log lines: readable text by default, one JSON object per line for log collectors."""

from __future__ import annotations

import logging
import sys

import orjson

from courtyard.logs import configure, formatter_for


def record(message: str, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord(
        "rules.service", logging.WARNING, __file__, 1, message, ("a",), exc_info
    )


def test_json_lines_carry_time_level_logger_thread_message_and_exception() -> None:
    line = formatter_for("json").format(record("lost the database (%s)", exc=True))
    entry = orjson.loads(line)
    assert "\n" not in line
    assert entry["level"] == "WARNING" and entry["logger"] == "rules.service"
    assert entry["message"] == "lost the database (a)"
    assert entry["ts"].endswith("+00:00") and entry["thread"]
    assert "ValueError: boom" in entry["exception"]


def test_text_lines_are_for_people() -> None:
    line = formatter_for("text").format(record("lost the database (%s)"))
    assert line.endswith("WARNING MainThread rules.service: lost the database (a)")
    assert line[:4].isdigit() and "Z " in line


def test_expected_skips_of_a_busy_job_are_dropped_and_other_warnings_kept() -> None:
    configure()
    scheduler_log = logging.getLogger("apscheduler.scheduler")

    def passes(message: str) -> bool:
        return bool(
            scheduler_log.filter(
                logging.LogRecord(
                    scheduler_log.name, logging.WARNING, __file__, 1, message, (), None
                )
            )
        )

    assert not passes(
        'Execution of job "rules-feed" skipped: maximum number of running instances reached (1)'
    )
    assert passes("Run time of job rules-tick was missed by 0:00:31")
