"""The deployment files as tests read them: paths, make-passwords as a module, compose's ${...}."""

from __future__ import annotations

import importlib.util
import re
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
COURTYARD_ENV = ROOT / "deploy" / "courtyard.env"
MAKE_PASSWORDS = ROOT / "deploy" / "make-passwords"
MOSQUITTO_DIR = ROOT / "deploy" / "mosquitto"

#: Compose's variable syntax (Compose Specification, "Interpolation"): $$ is a literal $.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(Exception):
    """A `${NAME:?message}` whose variable is unset or empty: compose refuses to start."""


def make_passwords() -> ModuleType:
    """deploy/make-passwords (a script without .py) imported as the module `make_passwords`."""
    name = "make_passwords"
    if name in sys.modules:
        return sys.modules[name]
    loader = SourceFileLoader(name, str(MAKE_PASSWORDS))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    loader.exec_module(module)
    return module


def variables(text: str) -> set[str]:
    """Names of the variables a compose file refers to."""
    return {
        m.group("name") or m.group("bare")
        for m in _VARIABLE.finditer(text)
        if not m.group("escaped")
    }


def interpolate_string(value: str, env: dict[str, str]) -> str:
    def substitute(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        present = name in env
        usable = present and (env[name] != "" or not (op or "").startswith(":"))
        if op in (":-", "-"):
            return env[name] if usable else arg
        if op in (":?", "?"):
            if not usable:
                raise MissingVariable(f"{name}: {arg}")
            return env[name]
        if op in (":+", "+"):
            return arg if usable else ""
        return env.get(name, "")

    return _VARIABLE.sub(substitute, value)


def interpolate(node: object, env: dict[str, str]) -> object:
    """The compose document with every string's variables replaced, as compose does."""
    if isinstance(node, str):
        return interpolate_string(node, env)
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    return node
