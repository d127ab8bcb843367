"""For each event type a device has sent, the enabled rules of its site that act on it (the
rules package says which types each rule uses, through api.services.RuleService): an event
type no rule uses is one the community gets no alert from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api.services import RuleService
from store.rules.rule_defs import RuleRecord


@dataclass(frozen=True, slots=True)
class EventUse:
    event_type: str
    #: Ids of the enabled rules of the site that act on this type; empty: no rule uses it.
    rules: tuple[str, ...]


def applies_to_site(rule: RuleRecord, site_id: str) -> bool:
    """An enabled rule whose site (or scope's sites, when it names some) include `site_id`."""
    if not rule.enabled or rule.site_id not in (None, site_id):
        return False
    sites = rule.scope.get("sites")
    return not isinstance(sites, list) or not sites or site_id in sites


def event_uses(
    event_types: Sequence[str], rules: Sequence[RuleRecord], service: RuleService, site_id: str
) -> list[EventUse]:
    used = [(r.id, service.event_types_used(r)) for r in rules if applies_to_site(r, site_id)]
    return [
        EventUse(t, tuple(rid for rid, types in used if types is None or t in types))
        for t in event_types
    ]
