"""store.alerts.receivers: who receives an alert at each escalation tier; households' local time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time

import psycopg
import pytest
from psycopg.rows import TupleRow

from store.alerts import escalations, transitions
from store.alerts import receivers as alert_receivers

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
Conn = psycopg.Connection[TupleRow]


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    with psycopg.connect(database_url) as connection:
        connection.execute(
            """
            INSERT INTO sites (id, timezone) VALUES ('court', 'Asia/Shanghai'), ('river', 'UTC');
            INSERT INTO households (site_id, id, label, timezone, quiet_start, quiet_end) VALUES
                ('court', 'h1', 'Unit 3-201', NULL, '22:00', '07:00'),
                ('court', 'h2', 'Unit 5-102', 'Europe/Berlin', NULL, NULL);
            INSERT INTO people (id, name, kind, language, channels, active) VALUES
                ('ana', 'Ana', 'volunteer', 'en', '{"webhook": "https://a.example/hook"}', true),
                ('bo', 'Bo', 'volunteer', 'zh-CN', '{"apprise": ["mailto://bo@b.example"]}', true),
                ('cy', 'Cy', 'volunteer', 'zh-CN', '{}', false),
                ('di', 'Di', 'volunteer', 'zh-CN', '{}', true),
                ('st', 'Staff', 'staff', 'zh-CN', '{}', true),
                ('mg', 'Manager', 'manager', 'en', '{}', true),
                ('rv', 'River staff', 'staff', 'en', '{}', true);
            INSERT INTO assignments (person_id, site_id, household_id, role) VALUES
                ('ana', 'court', 'h1', 'primary'),
                ('cy', 'court', 'h1', 'primary'),
                ('bo', 'court', 'h1', 'backup'),
                ('di', 'court', 'h2', 'primary'),
                ('st', 'court', NULL, 'staff'),
                ('mg', 'court', NULL, 'manager'),
                ('rv', 'river', NULL, 'staff');
            """
        )
        yield connection


def alert(conn: Conn, category: str, household: str | None = "h1") -> transitions.Alert:
    raised, _ = transitions.raise_or_repeat(
        conn,
        dedup_key=f"{category}:{household}",
        rule_id=category,
        site_id="court",
        subject=str(household),
        household_id=household,
        category=category,
        severity="warning",
        summary_key="alert.x",
        summary_args={},
        value=None,
        metric=None,
        at=T0,
        actor="system",
    )
    return raised


@pytest.mark.parametrize(
    ("category", "household", "tier", "expected"),
    [
        ("care", "h1", 1, ["ana"]),  # cy is inactive
        ("care", "h1", 2, ["bo"]),
        ("care", "h1", 3, ["st"]),
        ("care", "h2", 2, []),  # nobody holds the tier: the escalation policy moves on
        ("care", None, 1, ["st"]),
        ("maintenance", None, 1, ["mg"]),
        ("security", None, 3, ["mg"]),
    ],
)
def test_receivers_by_tier(
    conn: Conn, category: str, household: str | None, tier: int, expected: list[str]
) -> None:
    receivers = alert_receivers.receivers_for(conn, alert(conn, category, household), tier)
    assert [r.person_id for r in receivers] == expected


def test_receivers_default_to_the_alerts_tier_and_carry_their_channels(conn: Conn) -> None:
    care = alert(conn, "care")
    [ana] = alert_receivers.receivers_for(conn, care)
    assert (ana.language, ana.channels, ana.role) == (
        "en",
        {"webhook": "https://a.example/hook"},
        "primary",
    )
    escalated = escalations.escalate(conn, care.id, to_tier=2, at=T0)
    assert escalated is not None
    assert [r.person_id for r in alert_receivers.receivers_for(conn, escalated[0])] == ["bo"]
    with pytest.raises(ValueError, match="1..3"):
        alert_receivers.receivers_for(conn, care, 4)


def test_household_local_time(conn: Conn) -> None:
    h1 = alert_receivers.household(conn, "court", "h1")
    h2 = alert_receivers.household(conn, "court", "h2")
    assert h1 is not None and h2 is not None
    assert (h1.timezone, h1.quiet_start, h1.quiet_end) == ("Asia/Shanghai", time(22), time(7))
    assert (h2.timezone, h2.quiet_start) == ("Europe/Berlin", None)
    assert alert_receivers.household(conn, "court", "nope") is None


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO households (site_id, id, label, timezone)"
        " VALUES ('court', 'x', 'x', 'Mars/Base')",
        "INSERT INTO households (site_id, id, label, quiet_start)"
        " VALUES ('court', 'x', 'x', '22:00')",
        "INSERT INTO assignments (person_id, site_id, role) VALUES ('ana', 'court', 'primary')",
        "INSERT INTO assignments (person_id, site_id, household_id, role)"
        " VALUES ('st', 'court', 'h1', 'staff')",
        "INSERT INTO assignments (person_id, site_id, role) VALUES ('st', 'court', 'staff')",
        "INSERT INTO people (id, name, kind, language) VALUES ('x', 'x', 'volunteer', 'fr')",
    ],
)
def test_the_schema_refuses_inconsistent_rows(conn: Conn, statement: str) -> None:
    with pytest.raises((psycopg.errors.IntegrityError, psycopg.errors.DataError)):
        conn.execute(statement.encode())
