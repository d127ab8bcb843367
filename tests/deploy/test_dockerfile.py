"""The Dockerfile and .dockerignore, checked without a Docker engine.

Static checks of what matters in the image (pinned base, wheel built in one stage and installed
offline in the next, a non-root user, the console script and its health check), and one that
builds: the wheel made from exactly the files .dockerignore lets into the build context holds the
whole package, and installed on its own it runs `courtyard`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from tests.deploy.deploy_files import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: Directories of the repository the context walk never enters (large, and excluded anyway).
_NEVER_WALKED = {".git", ".venv", ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages: comments dropped, continuation lines joined."""
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, rest = (pending + line).strip().partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(rest.split())))
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: args[m.group(1)], words[0])
            stages.append(Stage(base, name))
        elif not stages and instruction.keyword == "ARG":
            key, _, default = instruction.args.partition("=")
            args[key] = default
        elif stages:
            stages[-1].instructions.append(instruction)
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())[1]


@dataclass(frozen=True)
class Command:
    #: The RUN instruction's own flags (--mount=...), shared by every command of the instruction.
    flags: list[str]
    words: list[str]


def _run_commands(stage: Stage, program: str) -> list[Command]:
    """The commands of `stage`'s RUN instructions that invoke `program`."""
    found = []
    for run in stage.all("RUN"):
        words = shlex.split(run)
        flags = []
        while words and words[0].startswith("--"):
            flags.append(words.pop(0))
        command: list[str] = []
        for word in [*words, "&&"]:
            if word not in ("&&", ";"):
                command.append(word)
                continue
            if program in command:
                found.append(Command(flags, command))
            command = []
    return found


def _option(words: list[str], name: str) -> str:
    """The value of `--name value` or `--name=value`."""
    for i, word in enumerate(words):
        if word == name:
            return words[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    raise AssertionError(f"no {name} in {shlex.join(words)}")


def test_base_images_are_pinned_and_match_the_package(stages: list[Stage]) -> None:
    names = {s.name for s in stages}
    bases = [s.base for s in stages if s.base not in names]
    assert bases
    for base in bases:
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?", base), base
        assert "latest" not in base
    # Wheels of compiled dependencies (numpy, psycopg's binary) are built for the Python they
    # run on: one interpreter for both stages, one that the package supports.
    assert len(set(bases)) == 1
    version = re.search(r"python:(\d+\.\d+\.\d+)", bases[0])
    assert version is not None
    assert version.group(1) in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_build_stage_makes_wheels_of_the_whole_context(stages: list[Stage]) -> None:
    build = stages[0]
    assert build.name is not None and len(stages) >= 2
    assert "COPY . ." in [f"COPY {a}" for a in build.all("COPY")]
    (wheel,) = _run_commands(build, "wheel")
    assert wheel.words[:2] == ["pip", "wheel"] and wheel.words[-1] == "."
    assert _option(wheel.words, "--wheel-dir")


def test_runtime_installs_only_the_built_wheels(stages: list[Stage]) -> None:
    build, runtime = stages[0], stages[-1]
    (install,) = _run_commands(runtime, "install")
    assert install.words[:2] == ["pip", "install"]
    assert install.words[-1] == PYPROJECT["project"]["name"]
    assert "--no-index" in install.words
    find_links = _option(install.words, "--find-links")
    wheel_dir = _option(_run_commands(build, "wheel")[0].words, "--wheel-dir")
    mount = f"--mount=type=bind,from={build.name},source={wheel_dir},target={find_links}"
    assert mount in install.flags
    # Neither the source tree nor the wheels end up in a layer of the runtime image.
    assert runtime.all("COPY") == [] and runtime.all("ADD") == []


def test_runs_as_an_unprivileged_user(stages: list[Stage]) -> None:
    runtime = stages[-1]
    keywords = [i.keyword for i in runtime.instructions]
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert "RUN" not in keywords[last_user:], "RUN after USER would run as that user anyway"
    uid, gid = runtime.instructions[last_user].args.split(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) != 0 and int(gid) != 0
    (useradd,) = _run_commands(runtime, "useradd")
    assert _option(useradd.words, "--uid") == uid
    (groupadd,) = _run_commands(runtime, "groupadd")
    assert _option(groupadd.words, "--gid") == gid


def _env(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in stage.all("ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def test_runs_courtyard_with_a_health_check(stages: list[Stage]) -> None:
    runtime = stages[-1]
    (entrypoint,) = runtime.all("ENTRYPOINT")
    assert json.loads(entrypoint) == ["courtyard"]
    assert "courtyard" in PYPROJECT["project"]["scripts"]
    (cmd,) = runtime.all("CMD")
    assert json.loads(cmd) == ["api"]
    env = _env(runtime)
    # Reachable through a published port, on the port the health check probes.
    assert env["COURTYARD_HTTP_HOST"] == "0.0.0.0"
    assert runtime.all("EXPOSE") == [env["COURTYARD_HTTP_PORT"]]
    (healthcheck,) = runtime.all("HEALTHCHECK")
    assert "/healthz" in healthcheck and "COURTYARD_HTTP_PORT" in healthcheck
    assert env["PYTHONUNBUFFERED"] == "1", "logs must reach `docker logs` as they are written"


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match per path segment, plus `**`) as a regex."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            rules.append((negated, _pattern(line.removeprefix("!").strip("/"))))
    return rules


def ignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for negated, pattern in _rules():
        if any(pattern.fullmatch(p) for p in prefixes):
            result = not negated
    return result


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".git/config",
        "tests/conftest.py",
        "deploy/mosquitto/auth/passwd",
        "deploy/mosquitto/devices",
        ".venv/bin/python",
        "courtyard/__pycache__/cli.cpython-311.pyc",
        "courtyard.egg-info/PKG-INFO",
        "build/lib/courtyard/cli.py",
        "test-artifacts/run.log",
    ],
)
def test_the_context_leaves_out(path: str) -> None:
    assert ignored(path)


@pytest.mark.parametrize(
    "path", ["pyproject.toml", "README.md", "courtyard/cli.py", "store/migrations/0001_core.sql"]
)
def test_the_context_keeps(path: str) -> None:
    assert not ignored(path)


def _packages() -> list[str]:
    """The top-level packages setuptools puts in the wheel (pyproject's find.include)."""
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").is_file()
        and any(re.fullmatch(i.replace("*", ".*"), p.name) for i in include)
    )


def _context_files() -> list[str]:
    files = []
    for directory, subdirs, names in os.walk(ROOT):
        relative = Path(directory).relative_to(ROOT)
        subdirs[:] = [d for d in subdirs if d not in _NEVER_WALKED]
        files += [
            (relative / n).as_posix() for n in names if not ignored((relative / n).as_posix())
        ]
    return sorted(files)


def test_the_wheel_built_from_the_context_is_the_whole_package(tmp_path: Path) -> None:
    """Every file of every package is in the wheel the image installs, and it runs."""
    context = tmp_path / "context"
    for name in _context_files():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, context / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(context),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    wanted = {
        path.relative_to(ROOT).as_posix()
        for package in _packages()
        for path in (ROOT / package).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and not path.name.startswith(".")  # .gitkeep and the like
    }
    assert wanted - in_wheel == set(), "files .dockerignore or the package data leave out"

    # Installed on its own (its dependencies from this interpreter), the console script runs.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # This interpreter's packages, also when it runs in a venv itself (--system-site-packages
    # would give the base interpreter's instead, without the dependencies). Paths named in a
    # .pth come after the venv's own, and their own .pth files (an editable install of the
    # checkout) are not read.
    (purelib,) = venv.glob("lib/python*/site-packages")
    outer = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    (purelib / "outer.pth").write_text("\n".join(dict.fromkeys(outer)) + "\n")
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            # This interpreter's own (editable) courtyard is visible to the venv: replace it.
            "--force-reinstall",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run(
        [str(python), "-c", "import courtyard; print(courtyard.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), "imported the checkout, not the wheel"
    usage = subprocess.run(
        [str(venv / "bin" / "courtyard"), "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "migrate" in usage.stdout and "ingest" in usage.stdout
