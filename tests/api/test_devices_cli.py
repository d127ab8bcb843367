"""`courtyard devices list|set|import` through the real command, on the world's database, with
the API reading back what it set: the same checks, dry run and audit log as the API."""

from __future__ import annotations

from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from tests.api.conftest import Courtyard, bearer
from tests.api.world import World

V = "/api/v1"


def test_set_then_list(courtyard: Courtyard, world: World, client: TestClient) -> None:
    mine = world.places["mine"]
    code, out, err = courtyard(
        "devices", "set", "alpha", mine.device_key, "--name", "Kitchen PIR",
        "--name-in", "zh-CN=厨房人体", "--role", "motion", "--role-room", "kitchen",
        "--installed-on", "2026-11-30",
    )  # fmt: skip
    assert code == 0, err
    assert f"{mine.device_key}\tupdate" in out and "role_room: - -> kitchen" in out
    body = client.get(
        f"{V}/devices/{mine.device_id}", headers=bearer(world.tokens["manager"])
    ).json()
    assert (body["display_name"], body["role"], body["role_state"], body["installed_on"]) == (
        "厨房人体", "motion", "confirmed", "2026-11-30"
    )  # fmt: skip

    code, out, _ = courtyard("devices", "list", "alpha", "--household", "alpha-mine")
    assert out == (
        f"{mine.device_key}\tmotion_sensor (suggested)\tKitchen PIR\t-\talpha-mine\t"
        "motion:kitchen\n"
    )
    code, _, err = courtyard("devices", "set", "alpha", mine.device_key, "--kind", "warp")
    assert code == 1 and err.startswith("kind: unknown_kind")
    with psycopg.connect(world.url) as conn:
        actors = conn.execute(
            "SELECT actor, target FROM audit_log WHERE action = 'device.write'"
        ).fetchall()
    assert actors == [("system", f"device:alpha/{mine.device_key}")]


def test_import_dry_run_and_errors(courtyard: Courtyard, world: World, tmp_path: Path) -> None:
    good = tmp_path / "devices.yaml"
    good.write_text(
        "devices:\n"
        "  - {device_key: lamp-001, name: Lamp 1, kind: street_light, installed_on: 2026-12-01}\n"
        "  - {device_key: lamp-002, name: Lamp 2, kind: street_light}\n",
        encoding="utf-8",
    )
    code, out, err = courtyard("devices", "import", "alpha", str(good), "--dry-run")
    assert code == 0, err
    assert out.splitlines()[0] == "row 1\tlamp-001\tcreate"
    assert out.endswith("would change 2 of 2 devices\n")
    with psycopg.connect(world.url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM devices WHERE device_key LIKE 'lamp-%'"
        ).fetchone() == (0,)

    bad = tmp_path / "bad.csv"
    bad.write_text("device_key,kind\nlamp-003,street_light\nlamp-004,warp\n", encoding="utf-8")
    code, out, err = courtyard("devices", "import", "alpha", str(bad))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "row 2\tkind: unknown_kind: 'warp' is not in the catalogue",
        "nothing was applied",
    ]

    code, out, err = courtyard("devices", "import", "alpha", str(good))
    assert code == 0, err
    assert out.endswith("changed 2 of 2 devices\n")
    code, out, _ = courtyard("devices", "list", "alpha", "--kind", "street_light")
    assert [line.split("\t")[:3] for line in out.splitlines()] == [
        ["lamp-001", "street_light", "Lamp 1"],
        ["lamp-002", "street_light", "Lamp 2"],
    ]
