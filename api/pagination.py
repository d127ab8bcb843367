"""Keyset pagination cursors: the position of a page's last row, as an opaque string.

A cursor is URL-safe base64 of a JSON array; a tampered or foreign one is a 422 on `cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime

from api.errors import invalid

JsonScalar = str | int | float | bool | None


def encode(position: Sequence[JsonScalar | datetime]) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in position]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode(cursor: str, types: Sequence[type]) -> list[JsonScalar | datetime]:
    """The cursor's values, each checked against `types` (datetime: an ISO string)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid("query.cursor", "not a cursor this API issued") from None
    if not isinstance(values, list) or len(values) != len(types):
        raise invalid("query.cursor", "not a cursor this API issued")
    result: list[JsonScalar | datetime] = []
    for value, kind in zip(values, types, strict=True):
        if kind is datetime:
            try:
                parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                parsed = None
            if parsed is None or parsed.tzinfo is None:
                raise invalid("query.cursor", "not a cursor this API issued")
            result.append(parsed)
        elif (
            kind is int
            and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63)
            or kind is str
            and (not isinstance(value, str) or "\x00" in value)
        ):
            raise invalid("query.cursor", "not a cursor this API issued")
        else:
            result.append(value)
    return result
