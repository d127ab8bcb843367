"""deploy/make-passwords: env and device-list parsing, derived passwords, the files it writes.

tests/deploy/test_mosquitto_acl.py proves a real Mosquitto accepts what it writes; these are the
rules around it, and what it refuses.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.deploy_files import MAKE_PASSWORDS, MOSQUITTO_DIR, make_passwords

mp = make_passwords()
SECRETS = {
    "MQTT_INGEST_PASSWORD": "ingest-0123456789abcdef",
    "MQTT_DEVICE_SECRET": "devices/0123456789+abcdef",
}


def test_env_file_as_compose_reads_it() -> None:
    text = """\
# comment
export A=1
B="two words"
C='single # not a comment'
D=plain # a comment
E=
NOT A LINE
F=a=b
"""
    assert mp.parse_env_file(text) == {
        "A": "1",
        "B": "two words",
        "C": "single # not a comment",
        "D": "plain",
        "E": "",
        "F": "a=b",
    }


def test_device_list() -> None:
    text = "tank-01\n  # a comment\n\npump.2   # trailing\ngw-1 gateway zigbee2mqtt/block-3\n"
    assert mp.parse_devices(text) == [
        mp.Account("tank-01"),
        mp.Account("pump.2"),
        mp.Account("gw-1", "zigbee2mqtt/block-3"),
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("tank 01\n", "expected"),
        ("tank/01\n", "not a device id"),
        ("x" * 65 + "\n", "not a device id"),
        (".\n", "not a device id"),
        ("..\n", "not a device id"),
        ("courtyard-ingest\n", "reserved"),
        ("courtyard-sim\n", "reserved"),
        ("a\nb\na\n", "line 3: 'a' is listed twice"),
        ("gw gateway\n", "expected"),
        ("gw bridge z2m\n", "expected"),
        ("gw gateway z2m/#\n", "wildcard"),
        ("gw gateway z2m/+/x\n", "wildcard"),
        ("gw gateway z2m//x\n", "empty level"),
        ("gw gateway /z2m\n", "empty level"),
        ("gw gateway courtyard/v1\n", "reserved"),
        ("gw gateway $SYS\n", "reserved"),
        ("gw1 gateway z2m\ngw2 gateway z2m\n", "another gateway"),
    ],
)
def test_device_list_errors(text: str, error: str) -> None:
    with pytest.raises(mp.UsageError, match=re.escape(error)):
        mp.parse_devices(text)


def test_device_passwords_are_derived_per_device_and_secret() -> None:
    first = mp.device_password("secret-one-0123456789", "tank-01")
    assert first == mp.device_password("secret-one-0123456789", "tank-01")
    assert first != mp.device_password("secret-one-0123456789", "tank-02")
    assert first != mp.device_password("secret-two-0123456789", "tank-01")
    # 256 bits, and usable in an mqtt:// URL as it is.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first)


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("MQTT_INGEST_PASSWORD", "", "not set"),
        ("MQTT_INGEST_PASSWORD", "change-me", "placeholder"),
        ("MQTT_INGEST_PASSWORD", "change-me-0123456789", "placeholder"),
        ("MQTT_INGEST_PASSWORD", "short", "at least 16"),
        ("MQTT_INGEST_PASSWORD", "has@and:0123456789", "only letters"),
        ("MQTT_DEVICE_SECRET", "change-me", "placeholder"),
        ("MQTT_SIMULATOR_PASSWORD", "short", "at least 16"),
    ],
)
def test_weak_or_placeholder_secrets_are_refused(key: str, value: str, error: str) -> None:
    with pytest.raises(mp.UsageError, match=f"^{key} .*{error}"):
        mp.credentials({**SECRETS, key: value}, [])


def test_accounts() -> None:
    devices = [mp.Account("tank-01"), mp.Account("gw-1", "z2m-1")]
    pairs = dict(mp.credentials(SECRETS, devices))
    assert pairs == {
        "courtyard-ingest": SECRETS["MQTT_INGEST_PASSWORD"],
        "tank-01": mp.device_password(SECRETS["MQTT_DEVICE_SECRET"], "tank-01"),
        "gw-1": mp.device_password(SECRETS["MQTT_DEVICE_SECRET"], "gw-1"),
    }, "no simulator account without its password"
    with_sim = {**SECRETS, "MQTT_SIMULATOR_PASSWORD": "sim-0123456789abcdef"}
    assert dict(mp.credentials(with_sim, []))["courtyard-sim"] == "sim-0123456789abcdef"


def test_acl_is_the_shipped_rules_then_each_gateway() -> None:
    shipped = (MOSQUITTO_DIR / "acl").read_text()
    acl = mp.acl_text(shipped, [mp.Account("tank-01"), mp.Account("gw-1", "z2m-1")], "devices")
    assert acl.startswith(shipped.rstrip("\n"))
    generated = acl[len(shipped) :].splitlines()
    assert [line for line in generated if line and not line.startswith("#")] == [
        "user gw-1",
        "topic readwrite z2m-1/#",
        "user courtyard-ingest",
        "topic read z2m-1/#",
    ]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MAKE_PASSWORDS), *args], capture_output=True, text=True, check=False
    )


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    env, devices = tmp_path / "env", tmp_path / "devices"
    env.write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    devices.write_text("tank-01\ngw-1 gateway z2m-1\n")
    return env, devices


def test_show_prints_a_devices_password(inputs: tuple[Path, Path]) -> None:
    env, _ = inputs
    result = _run("--env-file", str(env), "--show", "tank-01", "gw-1")
    assert result.returncode == 0, result.stderr
    secret = SECRETS["MQTT_DEVICE_SECRET"]
    assert result.stdout.splitlines() == [
        f"tank-01 {mp.device_password(secret, 'tank-01')}",
        f"gw-1 {mp.device_password(secret, 'gw-1')}",
    ]


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd")
def test_writes_hashed_passwords_and_the_acl(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    env, devices = inputs
    out = tmp_path / "auth"
    owner = f"{os.getuid()}:{os.getgid()}"
    result = _run(
        "--env-file", str(env), "--devices", str(devices), "--out", str(out), "--owner", owner
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["acl", "passwd"], "a draft was left behind"
    passwd = (out / "passwd").read_text()
    users = [line.split(":", 1)[0] for line in passwd.splitlines()]
    assert users == ["courtyard-ingest", "tank-01", "gw-1"]
    assert all(re.fullmatch(r"[^:]+:\$7\$\d+\$[^$]+\$[^$]+", line) for line in passwd.splitlines())
    assert SECRETS["MQTT_INGEST_PASSWORD"] not in passwd
    assert stat.S_IMODE((out / "passwd").stat().st_mode) == 0o600
    assert "topic readwrite z2m-1/#" in (out / "acl").read_text()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("MQTT_DEVICE_SECRET=change-me\n", "MQTT_DEVICE_SECRET still holds the example's"),
        ("", "mosquitto_passwd failed"),  # with a mosquitto_passwd that fails
    ],
)
def test_failures_write_nothing(
    inputs: tuple[Path, Path], tmp_path: Path, change: str, error: str
) -> None:
    env, devices = inputs
    env.write_text(env.read_text() + change)
    out = tmp_path / "auth"
    out.mkdir()
    result = _run(
        "--env-file", str(env), "--devices", str(devices), "--out", str(out),
        "--mosquitto-passwd", shutil.which("false") or "/bin/false",
    )  # fmt: skip
    assert result.returncode == 2
    assert error in result.stderr
    assert list(out.iterdir()) == [], "no password file, and no plain-text draft either"
