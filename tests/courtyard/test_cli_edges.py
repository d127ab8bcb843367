"""The `courtyard` command at its edges, run as a real process: a database it cannot reach is
one line naming the URL without its password; a second `courtyard up` on a data directory in
use says so and who uses it; `simulate --list` reads whole at 80 columns; every command's
`--help` says what it does."""

from __future__ import annotations

import argparse
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from rich.cells import cell_len

from courtyard.cli import _parser
from courtyard.embedded import EmbeddedMosquitto
from courtyard.ports import free_port
from device_sims.scenario import load_scenario, shipped
from tests.courtyard.up_support import UpProcess, english
from tests.support.processes import courtyard_env

COURTYARD = [sys.executable, "-m", "courtyard"]
PASSWORD = "s3cret-Pw"


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COURTYARD, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [["migrate"], ["users", "list"], ["rules", "list"]],
    ids=" ".join,
)
def test_a_database_nobody_listens_on_is_one_line_without_its_password(
    command: list[str], tmp_path: Path
) -> None:
    port = free_port()
    url = f"postgresql://courtyard:{PASSWORD}@127.0.0.1:{port}/courtyard"
    env = english(courtyard_env(database_url=url, data_dir=str(tmp_path / "data")))
    result = _run(command, env, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        f"courtyard: Cannot reach the database postgresql://courtyard:***@127.0.0.1:{port}"
        "/courtyard: "
    ), result.stderr
    assert "Connection refused" in result.stderr


def test_a_database_the_server_refuses_is_one_line_too(postgres_url: str, tmp_path: Path) -> None:
    server = urlsplit(postgres_url)
    netloc = f"{server.username}:{PASSWORD}@{server.hostname}:{server.port}"
    url = urlunsplit(server._replace(netloc=netloc, path="/no_such_database"))
    env = english(courtyard_env(database_url=url, data_dir=str(tmp_path / "data")))
    result = _run(["users", "list"], env, tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert PASSWORD not in result.stderr
    shown = urlunsplit(
        server._replace(
            netloc=f"{server.username}:***@{server.hostname}:{server.port}",
            path="/no_such_database",
        )
    )
    assert result.stderr.startswith(f"courtyard: Cannot reach the database {shown}: "), (
        result.stderr
    )


def test_a_second_up_on_a_data_directory_in_use_says_so_and_names_the_first(
    database_url: str, fresh_broker: EmbeddedMosquitto, tmp_path: Path
) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = english(
        courtyard_env(
            database_url=database_url,
            mqtt_url=fresh_broker.url,
            http_port=str(port),
            data_dir=str(data_dir),
            ingest__client_id=f"edges-{uuid.uuid4().hex[:8]}",
        )
    )
    first = UpProcess([*COURTYARD, "up"], env, tmp_path, tmp_path / "first.log")
    try:
        first.wait_healthy(f"http://127.0.0.1:{port}/", timeout_s=120)
        second = _run(["up"], env, tmp_path)
        assert second.returncode == 2, second.stderr
        assert second.stderr == (
            f"courtyard: The data directory {data_dir} is in use by another `courtyard up`"
            f" (pid {first.process.pid}): stop it, or set COURTYARD_DATA_DIR to another"
            " directory.\n"
        )
        assert first.process.poll() is None  # the first one runs on, untouched
        assert first.terminate() == 0
    finally:
        first.kill_tree()


def test_simulate_list_reads_whole_at_80_columns(tmp_path: Path) -> None:
    env = english(courtyard_env())
    result = _run(["simulate", "--list"], {**env, "COLUMNS": "80"}, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "…" not in result.stdout
    assert max(cell_len(line) for line in lines) <= 80
    text = " ".join(result.stdout.split())
    for name in shipped():
        assert name in lines  # each name whole, on a line of its own
        scenario = load_scenario(name)
        assert " ".join(scenario.description.split()) in text, name
        assert f"devices {scenario.device_count():,}" in text


@pytest.mark.parametrize("command", ["users", "tokens"])
def test_users_and_tokens_help_say_what_they_manage(command: str, tmp_path: Path) -> None:
    result = _run([command, "--help"], {**english(courtyard_env()), "COLUMNS": "80"}, tmp_path)
    assert result.returncode == 0, result.stderr
    usage, description, *_rest = result.stdout.split("\n\n")
    assert usage.startswith(f"usage: courtyard {command}")
    assert not description.startswith(("options:", "positional arguments:")), result.stdout
    assert "COURTYARD_DATABASE_URL" in description


def test_every_command_and_action_has_a_description() -> None:
    def undescribed(parser: argparse.ArgumentParser) -> list[str]:
        found = [] if parser.description else [parser.prog]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for subparser in action.choices.values():
                    found += undescribed(subparser)
        return found

    assert undescribed(_parser()) == []
