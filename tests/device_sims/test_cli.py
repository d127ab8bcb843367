"""`courtyard simulate` options: list, dry run to a file, overrides, clear errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import pytest

from courtyard.embedded import EmbeddedMosquitto
from device_sims.cli import add_arguments, run


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="courtyard simulate")
    add_arguments(parser)
    return parser.parse_args(argv)


def test_help_explains_every_option() -> None:
    parser = argparse.ArgumentParser(prog="courtyard simulate")
    add_arguments(parser)
    for action in parser._actions:
        assert action.help, action.dest


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_args("--list"), "") == 0
    assert "small-community" in capsys.readouterr().out


def test_dry_run_to_file_is_reproducible(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    base = ("--scenario", "incident-fall", "--duration", "3h", "--format", "senml", "--dry-run")
    assert run(_args(*base, "--out", str(a)), "") == 0
    assert run(_args(*base, "--out", str(b)), "") == 0
    assert a.read_bytes() == b.read_bytes()
    first = orjson.loads(a.read_bytes().splitlines()[0])
    assert set(first) >= {"ts", "topic", "qos", "retain"}


def test_bad_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsite: {id: x, name: X, timezone: Nowhere/Land}\n")
    assert run(_args("--scenario", str(bad), "--dry-run"), "") == 2
    assert "bad.yaml:2: site.timezone" in capsys.readouterr().out.replace("\n", "")


def test_publishes_with_speed(fresh_broker: EmbeddedMosquitto) -> None:
    argv = ("--scenario", "incident-sos", "--duration", "30m", "--speed", "36000")
    assert run(_args(*argv), fresh_broker.url) == 0
