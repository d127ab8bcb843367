"""The limits a device's chart draws: the enabled threshold rules that watch one of its metrics.

A rule's scope (sites, device kinds, device ids or shell-style patterns, households; each
non-empty field narrows it, any entry of a field matches) is tested here on the one device, the
way the rules engine tests it (rules/scope.py): the store may not import the engine, and the test
is a few lines. A rule bound to a site (`site_id`) runs at that site only (`scope_with_site`).
Definitions the engine would refuse (no numeric `value`, an unknown `op`) draw nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TypeGuard

import psycopg
from psycopg.rows import TupleRow, class_row

from store.rules.rule_defs import SELECT, StoredRule, scope_with_site


@dataclass(frozen=True, slots=True)
class ThresholdLine:
    rule_id: str
    severity: str
    #: ">" fires above `value`, "<" below it.
    op: str
    value: float
    #: Where the alert clears (the hysteresis band's other edge); None when it is `value`.
    clear_value: float | None


@dataclass(frozen=True, slots=True)
class DeviceInScope:
    site_id: str
    device_key: str
    kind: str | None
    household_id: str | None


async def threshold_lines(
    conn: psycopg.AsyncConnection[TupleRow], device: DeviceInScope, metric: str
) -> list[ThresholdLine]:
    """The enabled threshold rules on `metric` whose scope covers `device`, by rule id."""
    async with conn.cursor(row_factory=class_row(StoredRule)) as cur:
        await cur.execute(
            f"""{SELECT}
            WHERE r.enabled AND r.kind = 'threshold' AND r.params ->> 'metric' = %(metric)s
              AND (r.site_id IS NULL OR r.site_id = %(site)s)
            ORDER BY r.id""",
            {"metric": metric, "site": device.site_id},
        )
        rules = await cur.fetchall()
    lines = []
    for rule in rules:
        line = _line(rule)
        if line is not None and covers(scope_with_site(rule.scope, rule.site_id), device):
            lines.append(line)
    return lines


def covers(scope: Mapping[str, object], device: DeviceInScope) -> bool:
    """Whether a rule's scope (as stored: lists under sites, device_kinds, devices,
    households) includes the device."""
    sites = _names(scope.get("sites"))
    kinds = _names(scope.get("device_kinds"))
    devices = _names(scope.get("devices"))
    households = _names(scope.get("households"))
    if sites and device.site_id not in sites:
        return False
    if devices and not any(fnmatchcase(device.device_key, d) for d in devices):
        return False
    if kinds and device.kind not in kinds:
        return False
    return not households or device.household_id in households


def _names(value: object) -> Sequence[str]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return ()


def _line(rule: StoredRule) -> ThresholdLine | None:
    params = rule.params
    op, value, clear = params.get("op"), params.get("value"), params.get("clear_value")
    if op not in (">", "<") or not _is_number(value):
        return None
    clear_value = float(clear) if _is_number(clear) and clear != value else None
    return ThresholdLine(rule.id, rule.severity, str(op), float(value), clear_value)


def _is_number(value: object) -> TypeGuard[float]:
    """A JSON number (JSON's true and false are not limits)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
