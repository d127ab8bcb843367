"""Tests for ingest/validation.py: each check as a table of inputs and outcomes."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ingest import validation
from ingest.decoders.result import DecodeContext, Rejected
from ingest.json_bounds import JsonLimits
from ingest.wire import is_identifier

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CONTEXT = DecodeContext(future_tolerance_s=300, retention_days=30)


def reason(result: object) -> str:
    assert isinstance(result, Rejected), result
    return result.reason


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", "payload is empty"),
        (b"x" * 65, "payload is 65 bytes, over the limit of 64 bytes"),
    ],
)
def test_payload_size_rejects(payload: bytes, expected: str) -> None:
    assert reason(validation.check_payload_size(payload, 64)) == expected


def test_payload_size_accepts_up_to_the_limit() -> None:
    assert validation.check_payload_size(b"x" * 64, 64) is None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\xff", "payload is not valid UTF-8: invalid start byte (byte 0xff at offset 0)"),
        (b'{"a": "\xc3"}', "payload is not valid UTF-8: invalid continuation byte"),
        (b"\xed\xa0\x80", "(byte 0xed at offset 0)"),  # an encoded surrogate
    ],
)
def test_payload_text_rejects_bad_utf8(payload: bytes, expected: str) -> None:
    assert expected in reason(validation.payload_text(payload))


def test_payload_text_decodes_utf8() -> None:
    assert validation.payload_text("entrée".encode()) == "entrée"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1,", "payload is not valid JSON: unexpected end of data: line 1 column 4 (char 3)"),
        ('{"v": NaN}', "payload is not valid JSON: unexpected character"),
        ('{"v": Infinity}', "payload is not valid JSON"),
        ('{"v": 1e999}', "number is infinity when parsed as double"),
        ('{"a": 1} x', "unexpected content after document"),
    ],
)
def test_load_json_rejects(text: str, expected: str) -> None:
    assert expected in reason(validation.load_json(text, JsonLimits()))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1.0),
        (-2.5, -2.5),
        (True, 1.0),
        (False, 0.0),
        (1e308, 1e308),
        (2**64, float(2**64)),
    ],
)
def test_numeric_value_accepts(value: object, expected: float) -> None:
    assert validation.numeric_value(value, "x") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", 'readings["level_pct"] is not a number: "abc"'),
        (None, 'readings["level_pct"] is null, not a number'),
        ({"a": 1}, 'readings["level_pct"] is not a number: an object'),
        ([1], 'readings["level_pct"] is not a number: an array'),
        (float("nan"), 'readings["level_pct"] is not a finite number: nan'),
        (float("inf"), 'readings["level_pct"] is not a finite number: inf'),
        (10**400, 'readings["level_pct"] is too large for a double'),
    ],
)
def test_numeric_value_rejects(value: object, expected: str) -> None:
    assert reason(validation.numeric_value(value, 'readings["level_pct"]')).startswith(expected)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("pump-1", True), ("a.b_c-D", True), ("x" * 64, True), ("x" * 65, False), ("", False),
     ("has space", False), ("Küche", False), (5, False), ("...", True), (".a", True)],
)  # fmt: skip
def test_check_identifier(value: object, ok: bool) -> None:
    result = validation.check_identifier(value, "device id")
    assert (result is None) == ok
    if not ok:
        assert "does not match [A-Za-z0-9_.-]{1,64}" in reason(result)


@pytest.mark.parametrize("value", [".", ".."])
def test_path_steps_are_not_identifiers(value: str) -> None:
    assert not is_identifier(value)
    assert reason(validation.check_identifier(value, "device id")) == (
        f'device id "{value}" is reserved (a path step), not an identifier'
    )


@pytest.mark.parametrize(
    ("value", "ok"),
    [("level_pct", True), ("a", True), ("a" * 64, True), ("a" * 65, False), ("Level", False),
     ("1x", False), ("_x", False), ("x-y", False), ("", False)],
)  # fmt: skip
def test_check_metric_name(value: str, ok: bool) -> None:
    result = validation.check_metric_name(value, "readings key")
    assert (result is None) == ok
    if not ok:
        assert reason(result).endswith("is not a metric name ([a-z][a-z0-9_]{0,63})")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("access_granted", None),
        ("sos", None),
        (None, 'event "type" is missing'),
        ("Door-Open", 'event type "Door-Open" does not match [a-z_]{1,64}'),
        ("", 'event type "" does not match [a-z_]{1,64}'),
        (3, "event type 3 does not match [a-z_]{1,64}"),
    ],
)
def test_check_event_type(value: object, expected: str | None) -> None:
    result = validation.check_event_type(value)
    assert (result.reason if result else None) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("level_pct", "level_pct"),
        ("Level PCT", "level_pct"),
        ("nfv-reader", "nfv_reader"),
        ("switch:0", "switch_0"),
        ("2001:db8::3", "m_2001_db8_3"),
        ("__a__b__", "a_b"),
        ("Température", "temperature"),
        ("x" * 80, "x" * 64),
        ("a" * 63 + "-b", "a" * 63),
        ("入口", None),
        ("::", None),
        ("", None),
    ],
)
def test_sanitize_metric_name(raw: str, expected: str | None) -> None:
    name = validation.sanitize_metric_name(raw)
    assert name == expected
    if name is not None:
        assert validation.check_metric_name(name, "sanitised") is None


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (NOW, None),
        (NOW + timedelta(seconds=300), None),
        (
            NOW + timedelta(seconds=900),
            "timestamp 2026-03-01T12:15:00.000Z is 900 s in the future (tolerance 300 s)",
        ),
        (NOW - timedelta(days=30), None),
        (
            NOW - timedelta(days=31),
            "timestamp 2026-01-29T12:00:00.000Z is 31 days old, "
            "older than the retention window of 30 days",
        ),
    ],
)
def test_check_timestamp(ts: datetime, expected: str | None) -> None:
    result = validation.check_timestamp(ts, NOW, CONTEXT)
    assert (result.reason if result else None) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, NOW),
        ("2026-03-01T11:00:00Z", NOW - timedelta(hours=1)),
        ("2026-03-01T19:00:00+08:00", NOW - timedelta(hours=1)),
        (1772362800, NOW - timedelta(hours=1)),
        (1772362800000, NOW - timedelta(hours=1)),
    ],
)
def test_message_time_accepts(raw: object, expected: datetime) -> None:
    assert validation.message_time(raw, "ts", NOW, CONTEXT) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("yesterday", "ts: timestamp 'yesterday' is not RFC 3339"),
        ("2026-03-01T11:00:00", "ts: timestamp '2026-03-01T11:00:00' has no UTC offset"),
        (True, "ts: timestamp must be RFC 3339 or epoch seconds/ms, got boolean True"),
        (-1, "ts: timestamp -1 is not a finite, non-negative epoch time"),
        ("2036-03-01T12:00:00Z", "is 315619200 s in the future (tolerance 300 s)"),
        (0, "older than the retention window of 30 days"),
    ],
)
def test_message_time_rejects(raw: object, expected: str) -> None:
    assert expected in reason(validation.message_time(raw, "ts", NOW, CONTEXT))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc", '"abc"'), (None, "null"), (True, "true"), (1.5, "1.5"), ({}, "an object"),
     ([], "an array"), ("x" * 100, '"' + "x" * 58 + "…")],
)  # fmt: skip
def test_describe(value: object, expected: str) -> None:
    assert validation.describe(value) == expected


def test_validation_imports_first_without_a_cycle() -> None:
    """ingest.validation and ingest.decoders import each other; either may be imported first."""
    for module in ("ingest.validation", "ingest.decoders.zigbee2mqtt", "ingest.decoders.senml"):
        done = subprocess.run([sys.executable, "-c", f"import {module}"], check=False)
        assert done.returncode == 0, module
