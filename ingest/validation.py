"""Pure checks on incoming data: payload bytes, JSON, names, values and the timestamp window."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime, timedelta

import orjson

from ingest import json_bounds
from ingest.decoders.result import DecodeContext, Rejected
from ingest.json_bounds import JsonLimits
from ingest.wire import (
    EVENT_TYPE_PATTERN,
    ID_PATTERN,
    METRIC_PATTERN,
    RESERVED_IDS,
    Invalid,
    format_timestamp,
    is_event_type,
    is_identifier,
    is_metric_name,
    parse_timestamp,
)

#: Values quoted in reasons are cut to this many characters: enough to recognise, short to log.
_SHOWN_CHARS = 60
_NOT_METRIC_CHARS = re.compile(r"[^a-z0-9_]+")
_REPEATED_UNDERSCORES = re.compile(r"_{2,}")
#: Metric names must start with a letter; a sanitised name starting with a digit gets this.
_DIGIT_PREFIX = "m_"
_MAX_METRIC_CHARS = 64


def describe(value: object) -> str:
    """A short, JSON-like rendering of a value for a reason string."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str | bool) or value is None:
        text = orjson.dumps(value).decode()
    else:
        text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def check_payload_size(payload: bytes, max_bytes: int) -> Rejected | None:
    if not payload:
        return Rejected("payload is empty")
    if len(payload) > max_bytes:
        return Rejected(f"payload is {len(payload)} bytes, over the limit of {max_bytes} bytes")
    return None


def payload_text(payload: bytes) -> str | Rejected:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = payload[exc.start : exc.start + 1].hex()
        where = f"byte 0x{bad} at offset {exc.start}"
        return Rejected(f"payload is not valid UTF-8: {exc.reason} ({where})")


def load_json(text: str, limits: JsonLimits) -> object | Rejected:
    """Parse JSON text within `limits` (depth, string length, items: see ingest/json_bounds.py).

    NaN, Infinity and numbers beyond a double's range are refused by the parser.
    """
    try:
        data: object = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Rejected(f"payload is not valid JSON: {exc}")
    problem = json_bounds.check(data, limits)
    return data if problem is None else Rejected(problem)


def check_identifier(value: object, what: str) -> Rejected | None:
    if isinstance(value, str) and is_identifier(value):
        return None
    if isinstance(value, str) and value in RESERVED_IDS:
        return Rejected(f"{what} {describe(value)} is reserved (a path step), not an identifier")
    return Rejected(f"{what} {describe(value)} does not match {ID_PATTERN.pattern}")


def check_metric_name(value: str, what: str) -> Rejected | None:
    if is_metric_name(value):
        return None
    return Rejected(f"{what} {describe(value)} is not a metric name ({METRIC_PATTERN.pattern})")


def check_event_type(value: object) -> Rejected | None:
    if value is None:
        return Rejected('event "type" is missing')
    if isinstance(value, str) and is_event_type(value):
        return None
    return Rejected(f"event type {describe(value)} does not match {EVENT_TYPE_PATTERN.pattern}")


def numeric_value(value: object, what: str) -> float | Rejected:
    """A reading's value as a finite float: numbers as they are, booleans as 1.0/0.0."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if value is None:
        return Rejected(f"{what} is null, not a number")
    if not isinstance(value, int | float):
        return Rejected(f"{what} is not a number: {describe(value)}")
    try:
        number = float(value)
    except OverflowError:
        return Rejected(f"{what} is too large for a double: {describe(value)}")
    if not math.isfinite(number):
        return Rejected(f"{what} is not a finite number: {describe(value)}")
    return number


def sanitize_metric_name(raw: str) -> str | None:
    """Turn a foreign name into a metric name, or None when nothing usable is left.

    Fold accents to ASCII and lowercase; every run of characters outside [a-z0-9_] becomes one
    "_"; edge underscores go; a leading digit gets the prefix "m_"; the result is cut to 64.
    So "nfv-reader" → "nfv_reader", "2001:db8::3" → "m_2001_db8_3", "Température" → "temperature".
    """
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    name = _NOT_METRIC_CHARS.sub("_", folded.lower())
    name = _REPEATED_UNDERSCORES.sub("_", name).strip("_")
    if not name:
        return None
    if name[0].isdigit():
        name = _DIGIT_PREFIX + name
    return name[:_MAX_METRIC_CHARS].rstrip("_")


def message_time(
    raw: object, field: str, now: datetime, context: DecodeContext
) -> datetime | Rejected:
    """The time in a message's `field` (`now` when absent or null), within the accepted window."""
    if raw is None:
        return now
    parsed = parse_timestamp(raw)
    if isinstance(parsed, Invalid):
        return Rejected(f"{field}: {parsed.reason}")
    return check_timestamp(parsed, now, context) or parsed


def check_timestamp(ts: datetime, now: datetime, context: DecodeContext) -> Rejected | None:
    """Refuse times beyond the device-clock tolerance or older than the retention window."""
    ahead_s = (ts - now).total_seconds()
    if ahead_s > context.future_tolerance_s:
        return Rejected(
            f"timestamp {format_timestamp(ts)} is {ahead_s:.0f} s in the future "
            f"(tolerance {context.future_tolerance_s:g} s)"
        )
    if ts < now - timedelta(days=context.retention_days):
        age_days = (now - ts).total_seconds() / 86_400
        return Rejected(
            f"timestamp {format_timestamp(ts)} is {age_days:.0f} days old, older than the "
            f"retention window of {context.retention_days} days"
        )
    return None
