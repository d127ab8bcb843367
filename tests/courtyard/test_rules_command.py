"""`courtyard rules check | list | backtest` as people run them, against a real database; and the
README's rules example, which must stay a valid rules file."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from rules.definitions import parse_rules
from store.readings.writer import BatchWriter
from store.records import Message, Reading
from tests.support.processes import courtyard_env

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
README = Path(__file__).parents[2] / "README.md"


def courtyard(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "courtyard", *args],
        env=courtyard_env(**settings),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_reports_each_problem_with_rule_field_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "rules:\n"
        "  - id: tank-low\n"
        "    kind: threshold\n"
        "    category: maintenance\n"
        "    severity: urgent\n"
        "    params: {metric: level_pct, op: '<', value: .nan}\n"
    )
    result = courtyard("rules", "check", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert "rules.yaml:5: rule 'tank-low': severity" in result.stderr
    assert "rule 'tank-low': params.value: must be a finite number" in result.stderr


@pytest.mark.parametrize("reads", [[], ["--raw"]], ids=["rollup-first", "raw"])
def test_backtest_lists_what_a_stored_rule_would_have_raised_and_writes_nothing(
    reads: list[str], database_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(database_url) as conn:
        readings = [
            Reading("court", "tank-1", "level_pct", T0 + timedelta(minutes=i), level)
            for i, level in enumerate([60, 50, 12, 11, 10, 9, 30, 60])
        ]
        BatchWriter().write(conn, [Message(received_at=T0, readings=tuple(readings))])
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - id: tank-low\n"
        "    kind: threshold\n"
        "    category: maintenance\n"
        "    severity: warning\n"
        "    params: {metric: level_pct, op: '<', value: 15, hold_s: 120}\n"
    )
    result = courtyard(
        "rules", "--rules-file", str(rules), "backtest", "tank-low",
        "--from", "2026-11-01T00:00:00+00:00", "--to", "2026-11-02T00:00:00+00:00", *reads,
        cwd=tmp_path, database_url=database_url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "tank-1" in result.stdout
    # Below 15 from 08:02 UTC, held 2 min: raised at 08:04, i.e. 16:04 in Shanghai.
    assert "2026-11-01 16:04" in result.stdout
    assert "resolved 2026-11-01 16:06" in result.stdout
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM rule_state").fetchone() == (0,)


def test_an_unknown_rule_is_named_with_the_known_ones(database_url: str, tmp_path: Path) -> None:
    result = courtyard("rules", "backtest", "nope", cwd=tmp_path, database_url=database_url)
    assert result.returncode == 2
    assert "no rule 'nope'" in result.stderr


def test_the_readme_rules_example_is_a_valid_rules_file() -> None:
    (example,) = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert [d.id for d in parse_rules(example, "README.md")] == ["pump-pressure-low"]
