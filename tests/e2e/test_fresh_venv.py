"""A fresh virtualenv, as CI's machine would have it: the README's first command, verbatim,
installs Courtyard and runs `courtyard up`; then `courtyard up --demo` from that virtualenv
shows readings and an alert through the API. SIGTERM stops each, and nothing they started is
left running: the embedded PostgreSQL and broker, the simulator's process, anything else.

The repository's working tree is copied first (without build output and caches), so the
install writes nothing into the checkout. pip reaches PyPI; the install takes a few minutes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from courtyard.ports import free_port
from courtyard.settings import ENV_PREFIX
from tests.courtyard.up_support import Api, UpProcess, english
from tests.support.waiting import wait_for

# One worker runs every `courtyard up`: each takes the MQTT port 1883 when it is free.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800), pytest.mark.xdist_group("courtyard-up")]

ROOT = Path(__file__).resolve().parents[2]
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".mypy_cache",
    ".ruff_cache", ".pytest_cache", ".hypothesis", "test-artifacts", "node_modules",
)  # fmt: skip
#: pip install and the first start of the servers (initdb) on a loaded machine.
_INSTALL_AND_START_S = 1200


def readme_first_command() -> str:
    """The first line of README.md's first code block, exactly as a reader would copy it."""
    found = re.search(r"^```[a-z]*\n(.*?)^```", (ROOT / "README.md").read_text(), re.S | re.M)
    assert found, "README.md has no code block"
    return found.group(1).splitlines()[0]


def venv_env(venv: Path, data_dir: Path, port: int) -> dict[str, str]:
    """Our environment as a shell in the virtualenv would have it: its bin first on PATH, no
    PYTHONPATH (nothing of this checkout importable), no COURTYARD_* but these."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(ENV_PREFIX) and k not in ("PYTHONPATH", "PYTHONHOME")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env[ENV_PREFIX + "DATA_DIR"] = str(data_dir)
    env[ENV_PREFIX + "HTTP_PORT"] = str(port)
    return english(env)


def test_readme_command_then_demo_in_a_fresh_virtualenv(server_dir: Path, tmp_path: Path) -> None:
    command = readme_first_command()
    assert "courtyard up" in command, command
    source = tmp_path / "courtyard-src"
    shutil.copytree(ROOT, source, ignore=_NOT_COPIED)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    server_dir.chmod(0o755)  # the servers' account (as root) must traverse it to their dirs
    port = free_port()
    env = venv_env(venv, server_dir, port)
    base = f"http://127.0.0.1:{port}/"

    # 1. The README's command, verbatim, in the copied repository.
    readme = UpProcess(["bash", "-c", command], env, source, tmp_path / "readme.log")
    try:
        readme.wait_healthy(base, timeout_s=_INSTALL_AND_START_S)
        readme.record_tree()
        installed = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import courtyard; print(courtyard.__file__)"],
            env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert installed.stdout.startswith(str(venv)), installed.stdout
        assert readme.terminate(readme.courtyard_pid()) == 0, readme.output()[-4000:]
        assert readme.leftovers() == []
    finally:
        readme.kill_tree()

    # 2. The demo, from the virtualenv's console script, on the same data (a second run).
    courtyard = str(venv / "bin" / "courtyard")
    up = UpProcess([courtyard, "up", "--demo"], env, tmp_path, tmp_path / "demo.log")
    try:
        up.wait_healthy(base, timeout_s=300)
        api = Api(base, up.token())
        wait_for(api.has_readings, timeout_s=180, interval_s=1, what="readings via the API")
        wait_for(api.alerts, timeout_s=300, interval_s=1, what="an alert via the API")
        status = subprocess.run(
            [courtyard, "status"], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert status.returncode == 0, status.stderr
        assert f"runs as process {up.process.pid}" in status.stdout
        started = up.record_tree()
        assert len(started) >= 4, up.output()  # courtyard, postgres, broker, the simulator's
        assert up.terminate() == 0, up.output()[-4000:]
        assert up.leftovers() == []
    finally:
        up.kill_tree()
