"""A small community for the notification tests: households, volunteers, staff, a manager.

    household  quiet hours (Asia/Shanghai)  primary  backup
    h1         22:00-07:00                  ana      bo
    h2         none                         di       (none)
    h3         none                         (none)   bo
    site staff: st; site manager: mg

T0 is 16:00 in Shanghai (08:00 UTC): outside quiet hours. NIGHT is 23:00 there (15:00 UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from rules import lifecycle
from rules.lifecycle import Outcome
from rules.notify import fanout
from rules.policy import NotifyPolicy
from rules.rule import Category, Severity, Signal, SignalState

Conn = psycopg.Connection[TupleRow]
T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
NIGHT = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
#: When h1's quiet hours that NIGHT falls in end: 07:00 in Shanghai.
MORNING = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
HOUSEHOLDS = ("h1", "h2", "h3")
POLICY = NotifyPolicy(escalate_after_s=600.0, remind_every_s=3600.0)

SETUP = """
INSERT INTO sites (id, timezone) VALUES ('court', 'Asia/Shanghai');
INSERT INTO households (site_id, id, label, quiet_start, quiet_end) VALUES
    ('court', 'h1', 'Unit 3-201', '22:00', '07:00'),
    ('court', 'h2', 'Unit 5-102', NULL, NULL),
    ('court', 'h3', 'Unit 7-303', NULL, NULL);
INSERT INTO people (id, name, kind, language, channels) VALUES
    ('ana', 'Ana', 'volunteer', 'en', '{"webhook": "http://127.0.0.1:9/ana"}'),
    ('bo', 'Bo', 'volunteer', 'zh-CN', '{"apprise": ["json://127.0.0.1:9/bo"]}'),
    ('di', 'Di', 'volunteer', 'en',
     '{"webhook": "http://127.0.0.1:9/di", "apprise": "json://127.0.0.1:9/di"}'),
    ('st', 'Staff', 'staff', 'zh-CN', '{"webhook": "http://127.0.0.1:9/st"}'),
    ('mg', 'Manager', 'manager', 'en',
     '{"webhook": "http://127.0.0.1:9/mg", "apprise": ["json://127.0.0.1:9/mg"]}');
INSERT INTO assignments (person_id, site_id, household_id, role) VALUES
    ('ana', 'court', 'h1', 'primary'),
    ('bo', 'court', 'h1', 'backup'),
    ('di', 'court', 'h2', 'primary'),
    ('bo', 'court', 'h3', 'backup'),
    ('st', 'court', NULL, 'staff'),
    ('mg', 'court', NULL, 'manager');
"""


def signal(
    *,
    household: str | None = "h1",
    category: Category = Category.CARE,
    severity: Severity = Severity.WARNING,
    at: datetime = T0,
    state: SignalState = SignalState.FIRING,
    rule: str = "inactivity",
    subject: str | None = None,
) -> Signal:
    return Signal(
        rule=rule,
        subject=subject or household or "pump-1",
        site="court",
        category=category,
        severity=severity,
        state=state,
        at=at,
        value=5.5,
        metric="silence_h",
        summary_key="No activity in {household} for {hours} hours",
        summary_args={"household": household or "-", "hours": 5.5},
    )


def fire(
    conn: Conn,
    *signals: Signal,
    now: datetime | None = None,
    policies: Mapping[str, NotifyPolicy] | None = None,
) -> tuple[list[Outcome], int]:
    """What the engine does with signals: apply them, then fan the changes out; not committed."""
    outcomes = lifecycle.apply(conn, signals, household_of=household_of)
    chosen = dict(policies or {})
    queued = fanout.enqueue_for_outcomes(
        conn, outcomes, lambda rule: chosen.get(rule, POLICY), now or signals[0].at
    )
    return outcomes, queued


def household_of(s: Signal) -> str | None:
    """Households are the subjects named h<n> here."""
    return s.subject if s.subject in HOUSEHOLDS else None


def set_channels(conn: Conn, person: str, channels: Mapping[str, object]) -> None:
    conn.execute("UPDATE people SET channels = %s WHERE id = %s", (Jsonb(dict(channels)), person))


def rows(conn: Conn, alert_id: int | None = None) -> list[tuple[str, str, str, datetime]]:
    """(change, receiver, channel, next_attempt_at) of the outbox, in the order queued."""
    return [
        (str(r[0]), str(r[1]), str(r[2]), r[3])
        for r in conn.execute(
            """
            SELECT c.change, n.receiver, n.channel, n.next_attempt_at
            FROM notifications n JOIN alert_changes c ON c.id = n.alert_change_id
            WHERE %(alert)s::bigint IS NULL OR n.alert_id = %(alert)s
            ORDER BY n.id
            """,
            {"alert": alert_id},
        ).fetchall()
    ]
