"""Which event types a rule acts on, by what they mean (for people: "does any rule use the
events this device sends?").

Most kinds say it in their `inputs` (emergencies: their `kinds`; doors: their open and close
events; thresholds, trends, anomalies: none). Two kinds read more than they act on:
`inactivity` loads everything but acts on its activity, door and rest events; `offline` takes
any message as a sign of life and reads no event for what it means, so it uses none. A kind
that loads every event and is neither of these answers None: every type.
"""

from __future__ import annotations

from typing import Any

from rules.catalog.inactivity import InactivityParams
from rules.registry import KINDS, validate_params

#: Kinds for which any message is a heartbeat: no event type means anything more to them.
LIVENESS_ONLY = frozenset({"offline"})


def event_types_used(
    kind: str, params: dict[str, object], category: str | None = None, severity: str | None = None
) -> frozenset[str] | None:
    """The event types a rule of `kind` with `params` acts on; None: every type. An invalid
    definition (unknown kind, bad params) uses none: the engine would not run it."""
    if kind in LIVENESS_ONLY:
        return frozenset()
    built, errors = validate_params(kind, params, category, severity)
    if errors or built is None:
        return frozenset()
    if isinstance(built, InactivityParams):
        return frozenset(built.activity_events + built.door_events + built.rest_events)
    return _declared(kind, built)


def _declared(kind: str, params: Any) -> frozenset[str] | None:
    return KINDS[kind].inputs(params).event_types
