"""A small two-site community for API tests, named so that a leak shows in a response's text.

Site `alpha` has facility devices (`alpha-facility-*`), the volunteer's household
(`alpha-mine`) and another household (`alpha-theirs`), each in its own building
(`alpha-mine-block`, `alpha-theirs-block`), and a building with no household
(`alpha-facility-block`); site `beta` has its own of each (`beta-*`). Every entity's id
carries its marker: a response that contains "beta" for a manager of alpha, or
"theirs"/"facility"/"beta" for the volunteer of alpha-mine, is a leak.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from api import cli
from api.auth.passwords import hash_password
from rules.catalog import heartbeat, inactivity
from store.access.users import NewUser
from store.alerts import transitions
from store.backend import Backend, backend_of
from store.places import provisioning
from store.settings import StoreSettings

NOW = datetime.now(UTC).replace(microsecond=0)
#: Every user's dashboard password.
PASSWORD = "correct horse"


@dataclass
class Place:
    """The ids of one marked corner of the world, to fill path and query parameters."""

    marker: str
    site_id: str
    household_id: str
    device_id: int
    device_key: str
    alert_id: int
    rule_id: str
    person_id: str
    assignment_id: int
    building_id: str
    metric: str = "level_pct"
    #: A user and a token (only admins manage accounts: nobody else reaches them at all).
    user_id: str = "operator"
    token_id: int = 1

    def values(self) -> dict[str, object]:
        return {
            "site_id": self.site_id,
            "household_id": self.household_id,
            "device_id": self.device_id,
            "alert_id": self.alert_id,
            "rule_id": self.rule_id,
            "person_id": self.person_id,
            "assignment_id": self.assignment_id,
            "building_id": self.building_id,
            "metric": self.metric,
            "user_id": self.user_id,
            "token_id": self.token_id,
        }


@dataclass
class World:
    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)


def _device(conn: psycopg.Connection, site: str, key: str, kind: str, online: bool) -> int:
    row = conn.execute(
        """
        INSERT INTO devices (site_id, device_key, kind, online, first_seen, last_seen)
        VALUES (%s, %s, %s, %s, %s, %s) RETURNING id
        """,
        (site, key, kind, online, NOW - timedelta(days=3), NOW),
    ).fetchone()
    assert row is not None
    device_id = int(row[0])
    for metric in ("level_pct", "battery_pct"):
        series = conn.execute(
            "INSERT INTO series (device_id, metric) VALUES (%s, %s) RETURNING id",
            (device_id, metric),
        ).fetchone()
        assert series is not None
        conn.execute(
            """
            INSERT INTO readings (series_id, ts, value)
            SELECT %s, %s - make_interval(mins => n * 10), 50 + n %% 7
            FROM generate_series(0, 200) n
            """,
            (series[0], NOW),
        )
        if backend_of(conn) is Backend.POSTGRESQL:
            # The rollup the writer would have kept; TimescaleDB's real-time aggregate needs none.
            conn.execute(
                """
                INSERT INTO readings_hourly_rollup (series_id, bucket, sample_count, sum_value,
                                                    min_value, max_value)
                SELECT series_id, date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
                       count(*), sum(value), min(value), max(value)
                FROM readings WHERE series_id = %s GROUP BY 1, 2
                """,
                (series[0],),
            )
    conn.execute(
        "INSERT INTO events (device_id, ts, type, subject) VALUES (%s, %s, 'door_open', %s)",
        (device_id, NOW - timedelta(minutes=5), f"card:{key}"),
    )
    return device_id


def _alert(
    conn: psycopg.Connection,
    site: str,
    subject: str,
    household: str | None,
    category: str,
    rule: str,
) -> int:
    alert, _ = transitions.raise_or_repeat(
        conn,
        dedup_key=f"{rule}:{site}:{subject}",
        rule_id=rule,
        site_id=site,
        subject=subject,
        household_id=household,
        category=category,
        severity="warning",
        # Titles the rules write: a care alert about a household, a facility one about a device.
        summary_key=inactivity.STILL if household else heartbeat.OFFLINE,
        summary_args={"household": f"Room {household}", "hours": 4.5}
        if household
        else {"device": subject},
        value=1.0,
        metric="level_pct",
        at=NOW - timedelta(minutes=1),
        actor=f"rule:{rule}",
    )
    return alert.id


def build(url: str) -> World:
    world = World(url)
    with psycopg.connect(url) as conn:
        for site in ("alpha", "beta"):
            provisioning.upsert_site(conn, site, f"{site} court", "Asia/Shanghai")
            conn.execute(
                "INSERT INTO rejected_messages (received_at, topic, payload_prefix, payload_size,"
                " reason, fingerprint) VALUES (%s, %s, %s, 3, %s, %s)",
                (
                    NOW,
                    f"courtyard/v1/{site}/{site}-facility-pump/telemetry",
                    b"{x}",
                    f"{site}-facility-pump sent bad JSON",
                    site.encode(),
                ),
            )
        provisioning.upsert_person(conn, "alpha-facility-manager", "Alpha Manager", "manager")
        provisioning.assign(conn, "alpha-facility-manager", "alpha", "manager")
        provisioning.upsert_person(conn, "beta-facility-manager", "Beta Manager", "manager")
        provisioning.assign(conn, "beta-facility-manager", "beta", "manager")
        households = {
            "mine": ("alpha", "alpha-mine", "alpha-mine-volunteer"),
            "theirs": ("alpha", "alpha-theirs", "alpha-theirs-volunteer"),
            "beta": ("beta", "beta-home", "beta-volunteer"),
        }
        provisioning.upsert_building(
            conn, "alpha", "alpha-facility-block", "Plant alpha-facility", 2
        )
        for marker, (site, household, person) in households.items():
            building = f"{household}-block" if marker != "beta" else "beta-block"
            provisioning.upsert_building(conn, site, building, f"Block {building}", 18)
            provisioning.upsert_household(
                conn,
                site,
                household,
                f"Room {household}",
                contact={"phone": f"+86-{household}"},
                building_id=building,
            )
            device_key = f"{household}-motion"
            provisioning.set_household_devices(conn, site, household, [device_key])
            device_id = _device(conn, site, device_key, "motion_sensor", True)
            provisioning.upsert_person(conn, person, f"Volunteer {household}", "volunteer")
            provisioning.assign(conn, person, site, "primary", household)
            assignment = conn.execute(
                "SELECT id FROM assignments WHERE person_id = %s", (person,)
            ).fetchone()
            assert assignment is not None
            alert_id = _alert(conn, site, household, household, "care", f"{site}-inactivity")
            rule_id = f"{household}-inactivity" if marker != "beta" else "beta-inactivity"
            conn.execute(
                "INSERT INTO rules (id, kind, site_id, params, category, severity)"
                " VALUES (%s, 'threshold', %s, %s, 'care', 'warning')",
                (rule_id, site, '{"metric": "level_pct", "above": 90}'),
            )
            world.places[marker] = Place(
                marker,
                site,
                household,
                device_id,
                device_key,
                alert_id,
                rule_id,
                person,
                int(assignment[0]),
                building_id=building,
            )
        for site in ("alpha", "beta"):
            key = f"{site}-facility-pump"
            device_id = _device(conn, site, key, "booster_pump", False)
            alert_id = _alert(conn, site, key, None, "maintenance", f"{site}-facility-pressure")
            conn.execute(
                "INSERT INTO rules (id, kind, site_id, params, category, severity)"
                " VALUES (%s, 'threshold', %s, %s, 'maintenance', 'critical')",
                (f"{site}-facility-pressure", site, '{"metric": "level_pct", "below": 10}'),
            )
            if site == "alpha":
                world.places["facility"] = Place(
                    "facility",
                    site,
                    "alpha-mine",
                    device_id,
                    key,
                    alert_id,
                    "alpha-facility-pressure",
                    "alpha-facility-manager",
                    world.places["mine"].assignment_id,
                    building_id="alpha-facility-block",
                )
    store = StoreSettings(url=url)
    users = {
        "admin": dict(role="admin"),
        "manager": dict(role="manager", sites=["alpha"], person_id="alpha-facility-manager"),
        "volunteer": dict(role="volunteer", person_id="alpha-mine-volunteer"),
        "operator": dict(role="operator", sites=["alpha"]),
        "integration": dict(role="integration", sites=["alpha"]),
    }
    for user_id, spec in users.items():
        cli.add_user(store, NewUser(user_id=user_id, name=user_id.title(), **spec))  # type: ignore[arg-type]
        scopes = ["alerts:read"] if user_id == "integration" else None
        world.tokens[user_id], _ = cli.create_token(
            store, user_id=user_id, name="tests", days=1, scopes=scopes
        )
    # Everyone's password is PASSWORD: one argon2 hash for every world (each costs ~0.1 s of CPU
    # on purpose, and hundreds of tests build a world).
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE users SET password_hash = %s", (_password_hash(),))
    return world


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)
