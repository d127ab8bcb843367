"""`courtyard sites|households list|add|set` through the real command, on the world's database,
with the API reading back what it set: the same checks (zone, building, quiet hours), dry run,
one-line errors and an audit record per change."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Courtyard, bearer
from tests.api.world import World

V = "/api/v1"


def _audit(world: World, action: str) -> list[tuple[str, str]]:
    with psycopg.connect(world.url) as conn:
        rows = conn.execute(
            "SELECT actor, target FROM audit_log WHERE action = %s ORDER BY id", (action,)
        ).fetchall()
    return [(str(a), str(t)) for a, t in rows]


def test_sites_add_set_list(courtyard: Courtyard, world: World, client: TestClient) -> None:
    code, out, err = courtyard(
        "sites", "add", "gamma", "--name", "Gamma court", "--timezone", "Europe/Berlin",
        "--dry-run",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("site:gamma\twould add\n") and "timezone: - -> Europe/Berlin" in out
    assert "gamma" not in courtyard("sites", "list")[1]
    assert _audit(world, "site.write") == []

    code, out, err = courtyard(
        "sites", "add", "gamma", "--name", "Gamma court", "--timezone", "Europe/Berlin",
        "--language", "en",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = courtyard("sites", "set", "gamma", "--timezone", "Asia/Tokyo")
    assert code == 0, err
    assert out == "site:gamma\tupdated\n\ttimezone: Europe/Berlin -> Asia/Tokyo\n"
    assert "gamma\tGamma court\tAsia/Tokyo\ten\n" in courtyard("sites", "list")[1]
    body = client.get(f"{V}/sites/gamma", headers=bearer(world.tokens["admin"])).json()
    assert (body["name"], body["timezone"]) == ("Gamma court", "Asia/Tokyo")
    assert _audit(world, "site.write") == [("system", "site:gamma")] * 2

    assert courtyard("sites", "set", "gamma", "--timezone", "Mars/Olympus")[:3:2] == (
        1, "timezone: unknown_timezone: 'Mars/Olympus' is not an IANA time zone the database"
        " knows\n",
    )  # fmt: skip
    code, _, err = courtyard("sites", "set", "nowhere", "--name", "x")
    assert (code, err) == (1, "site: unknown_site: no site nowhere\n")
    code, _, err = courtyard("sites", "add", "gamma")
    assert (code, err.split(":")[1].strip()) == (1, "site_exists")
    with psycopg.connect(world.url) as conn:
        conn.execute("UPDATE site_defaults SET timezone = 'America/Chicago'")
    code, out, _ = courtyard("sites", "add", "delta")
    assert (code, out) == (0, "site:delta\tadded\n\ttimezone: - -> America/Chicago\n")
    code, _, err = courtyard("sites", "set", "gamma", "--language", "fr")
    assert (code, err.split(":")[1].strip()) == (1, "unknown_language")


def test_households_add_set_list(courtyard: Courtyard, world: World, client: TestClient) -> None:
    code, out, err = courtyard(
        "households", "add", "alpha", "alpha-new", "--label", "Room 9",
        "--building", "alpha-mine-block", "--quiet", "22:00-07:00", "--timezone", "Asia/Tokyo",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("household:alpha/alpha-new\tadded\n")
    assert (
        "alpha-new\tRoom 9\talpha-mine-block\tAsia/Tokyo\t22:00-07:00\n"
        in (courtyard("households", "list", "alpha")[1])
    )

    code, out, err = courtyard(
        "households", "set", "alpha", "alpha-mine", "--quiet", "23:30-06:00", "--dry-run"
    )
    assert (code, out) == (
        0, "household:alpha/alpha-mine\twould update\n\tquiet: - -> 23:30-06:00\n"
    )  # fmt: skip
    code, out, err = courtyard(
        "households", "set", "alpha", "alpha-mine", "--quiet", "23:30-06:00", "--label", "R1"
    )
    assert code == 0, err
    body = client.get(
        f"{V}/households/alpha/alpha-mine", headers=bearer(world.tokens["manager"])
    ).json()
    # Set keeps what it was not told: the building and the resident's contact details.
    assert (body["label"], body["quiet_start"], body["quiet_end"], body["building_id"]) == (
        "R1", "23:30:00", "06:00:00", "alpha-mine-block"
    )  # fmt: skip
    assert body["contact"] == {"phone": "+86-alpha-mine"}
    code, out, _ = courtyard("households", "set", "alpha", "alpha-mine", "--clear", "quiet")
    assert out == "household:alpha/alpha-mine\tupdated\n\tquiet: 23:30-06:00 -> -\n"
    assert _audit(world, "household.write") == [
        ("system", "household:alpha/alpha-new"),
        ("system", "household:alpha/alpha-mine"),
        ("system", "household:alpha/alpha-mine"),
    ]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("add", "nowhere", "h1", "--label", "x"), "site: unknown_site: no site nowhere\n"),
        (("add", "alpha", "h1"), "label: missing: a new household needs --label\n"),
        (
            ("set", "alpha", "alpha-mine", "--quiet", "22:00"),
            "quiet: bad_quiet_hours: '22:00' is not HH:MM-HH:MM (e.g. 22:00-07:00)\n",
        ),
        (
            ("set", "alpha", "alpha-mine", "--quiet", "25:00-07:00"),
            "quiet: bad_quiet_hours: '25:00-07:00' is not HH:MM-HH:MM (e.g. 22:00-07:00)\n",
        ),
        (
            ("set", "alpha", "alpha-mine", "--timezone", "Nowhere/Land"),
            "timezone: unknown_timezone: 'Nowhere/Land' is not an IANA time zone the database"
            " knows\n",
        ),
        (
            ("set", "alpha", "alpha-mine", "--building", "beta-block"),
            "building: unknown_building: no building beta-block in alpha\n",
        ),
        (
            ("set", "alpha", "ghost", "--label", "x"),
            "household: unknown_household: no household:alpha/ghost\n",
        ),
        (("list", "nowhere"), "site: unknown_site: no site nowhere\n"),
    ],
)
def test_household_bad_input_is_one_line_and_changes_nothing(
    courtyard: Courtyard, world: World, args: tuple[str, ...], error: str
) -> None:
    code, out, err = courtyard("households", *args)
    assert (code, out, err) == (1, "", error)
    assert _audit(world, "household.write") == []
