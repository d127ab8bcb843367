"""Who is told about an alert: the receivers of each escalation tier, and households' local time.

Care alerts go to the household's primary volunteers (tier 1), then its backup volunteers
(tier 2), then the site's staff (tier 3). Maintenance and security alerts go to the site's
managers. Only active people receive anything.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import time

import psycopg
from psycopg.rows import TupleRow, class_row

from store.alerts.transitions import MAX_ESCALATION_TIER, Alert, Category

#: The assignment role that receives a care alert at each escalation tier.
CARE_TIER_ROLES = {1: "primary", 2: "backup", 3: "staff"}
#: The role that receives maintenance and security alerts.
SITE_ROLE = "manager"
_SITE_WIDE_ROLES = frozenset({"staff", "manager"})


@dataclass(frozen=True, slots=True)
class Receiver:
    person_id: str
    name: str
    kind: str
    language: str
    #: channel name -> target, as stored (a webhook URL, a list of Apprise URLs, ...)
    channels: dict[str, object]
    #: The assignment that makes them a receiver; `notified` for the people `told_about` finds.
    role: str


@dataclass(frozen=True, slots=True)
class Household:
    site_id: str
    id: str
    label: str
    #: IANA name: the household's own, else its site's.
    timezone: str
    quiet_start: time | None
    quiet_end: time | None


_RECEIVERS = """
SELECT p.id AS person_id, p.name, p.kind, p.language, p.channels, a.role
FROM assignments a JOIN people p ON p.id = a.person_id
WHERE a.site_id = %(site)s AND a.role = %(role)s AND p.active
  AND (%(household)s::text IS NULL OR a.household_id = %(household)s)
ORDER BY p.id
"""


def receivers_for(
    conn: psycopg.Connection[TupleRow], alert: Alert, tier: int | None = None
) -> list[Receiver]:
    """The people to notify of `alert` at `tier` (default: the alert's current tier).

    An empty list means nobody holds that tier (no backup volunteer, say): the escalation
    policy decides whether to move on. A care alert without a household goes to site staff.
    """
    if alert.category != Category.CARE:
        role, household = SITE_ROLE, None
    else:
        tier = alert.escalation_tier if tier is None else tier
        if tier not in CARE_TIER_ROLES:
            raise ValueError(f"escalation tier must be 1..{MAX_ESCALATION_TIER}, not {tier}")
        role = CARE_TIER_ROLES[tier]
        if alert.household_id is None:
            role = "staff"
        household = None if role in _SITE_WIDE_ROLES else alert.household_id
    with conn.cursor(row_factory=class_row(Receiver)) as cur:
        return cur.execute(
            _RECEIVERS, {"site": alert.site_id, "role": role, "household": household}
        ).fetchall()


def household(
    conn: psycopg.Connection[TupleRow], site_id: str, household_id: str
) -> Household | None:
    """A household with its effective time zone and quiet hours (for quiet-hour deferral)."""
    with conn.cursor(row_factory=class_row(Household)) as cur:
        return cur.execute(
            """
            SELECT h.site_id, h.id, h.label, coalesce(h.timezone, s.timezone) AS timezone,
                   h.quiet_start, h.quiet_end
            FROM households h JOIN sites s ON s.id = h.site_id
            WHERE h.site_id = %s AND h.id = %s
            """,
            (site_id, household_id),
        ).fetchone()


def told_about(conn: psycopg.Connection[TupleRow], alert_id: int) -> list[Receiver]:
    """The active people who were sent (or are due) a notification about the alert.

    Whoever was told an alert was raised should also be told it cleared, whatever tier or
    assignment they hold now.
    """
    with conn.cursor(row_factory=class_row(Receiver)) as cur:
        return cur.execute(
            """
            SELECT p.id AS person_id, p.name, p.kind, p.language, p.channels,
                   'notified' AS role
            FROM people p
            WHERE p.active AND p.id IN (SELECT receiver FROM notifications WHERE alert_id = %s)
            ORDER BY p.id
            """,
            (alert_id,),
        ).fetchall()


def channels_of(
    conn: psycopg.Connection[TupleRow], person_ids: Collection[str]
) -> dict[str, dict[str, object]]:
    """The current channels of the active people among `person_ids`, by person.

    Senders address a notification when they send it, so a corrected address applies to the
    retries; someone missing from the result was removed or deactivated meanwhile.
    """
    rows = conn.execute(
        "SELECT id, channels FROM people WHERE active AND id = ANY(%s)", (list(person_ids),)
    ).fetchall()
    return {str(pid): dict(channels) for pid, channels in rows}


def site_timezone(conn: psycopg.Connection[TupleRow], site_id: str) -> str | None:
    """The site's IANA time zone (None: no such site)."""
    row = conn.execute("SELECT timezone FROM sites WHERE id = %s", (site_id,)).fetchone()
    return None if row is None else str(row[0])
