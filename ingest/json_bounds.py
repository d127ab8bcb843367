"""JSON bounds: how deep, how long and how many a decoded payload may be, checked in one walk.

The payload size limit alone does not keep a message storable: 256 KiB of JSON can nest objects
a thousand levels deep (orjson reads 1,024 levels but writes only 254, so such an event could
never be stored), or hold one string or array as large as the payload. Every JSON payload is
walked once, right after parsing, and the first value past a bound becomes the reason of a
reject, naming where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A key shown as `.key` in a path when it looks like an identifier, as `["key"]` otherwise.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
#: Paths in reasons are cut to this many characters: enough to find the value, short to log.
_SHOWN_PATH_CHARS = 60

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class JsonLimits:
    #: Levels of objects and arrays; the top-level value is level 1.
    max_depth: int = 32
    #: Characters of any string, object keys included.
    max_string_chars: int = 4096
    #: Items of any array, members of any object.
    max_items: int = 4096


def check(data: object, limits: JsonLimits) -> str | None:
    """Why `data` is past one of the limits (the first value found), or None when it is within.

    Iterative, so a value nested as deep as the parser allows costs no Python stack; only
    containers are stacked, so numbers cost a type check each.
    """
    if not isinstance(data, dict | list):
        return _string_problem(data, (), limits)
    stack: list[tuple[dict[str, object] | list[object], Path]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) >= limits.max_depth:
            return f"{_top(path)} nests deeper than {limits.max_depth} levels of objects and arrays"
        if len(value) > limits.max_items:
            what, unit = ("object", "members") if isinstance(value, dict) else ("array", "items")
            return (
                f"the {what} at {_shown(path)} has {len(value)} {unit}, over the limit of "
                f"{limits.max_items}"
            )
        steps = value.items() if isinstance(value, dict) else enumerate(value)
        for step, item in steps:
            if isinstance(step, str) and len(step) > limits.max_string_chars:
                return (
                    f"a key in the object at {_shown(path)} is {len(step)} characters long, "
                    f"over the limit of {limits.max_string_chars}"
                )
            if isinstance(item, dict | list):
                stack.append((item, (*path, step)))
            elif isinstance(item, str) and len(item) > limits.max_string_chars:
                return _string_problem(item, (*path, step), limits)
    return None


def _string_problem(value: object, path: Path, limits: JsonLimits) -> str | None:
    if not isinstance(value, str) or len(value) <= limits.max_string_chars:
        return None
    return (
        f"the string at {_shown(path)} is {len(value)} characters long, over the limit of "
        f"{limits.max_string_chars}"
    )


def _top(path: Path) -> str:
    """The top-level member or item a deep value lies under: where a person would look first."""
    if not path:
        return "the payload"
    first = path[0]
    return f"item {first + 1}" if isinstance(first, int) else _quoted(first)


def _shown(path: Path) -> str:
    """A JSONPath-like rendering (`$.attrs.note`, `$[3].v`), cut to a readable length."""
    parts = ["$"]
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _PLAIN_KEY.fullmatch(step):
            parts.append(f".{step}")
        else:
            parts.append(f"[{_quoted(step)}]")
    text = "".join(parts)
    return text if len(text) <= _SHOWN_PATH_CHARS else text[: _SHOWN_PATH_CHARS - 1] + "…"


def _quoted(key: str) -> str:
    shown = key if len(key) <= 30 else key[:29] + "…"
    escaped = shown.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'
