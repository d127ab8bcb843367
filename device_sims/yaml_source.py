"""YAML with line numbers: load a document and say which line each mapping key and item is on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

#: A location inside a document, as pydantic reports it: keys and list indexes.
Path = tuple[str | int, ...]


class ScenarioError(Exception):
    """A scenario file is unreadable or invalid; the message names file, line and field."""


@dataclass(frozen=True, slots=True)
class YamlSource:
    name: str  # the file name, for messages
    data: object
    lines: dict[Path, int]  # 1-based line of each key / item

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the deepest part of `path` that exists in the document."""
        parts = tuple(path)
        while parts:
            line = self.lines.get(parts)
            if line is not None:
                return line
            parts = parts[:-1]
        return None

    def error(self, path: Sequence[str | int], message: str) -> ScenarioError:
        line = self.line_of(path)
        where = f"{self.name}:{line}" if line is not None else self.name
        field = dotted(path) or "(document)"
        return ScenarioError(f"{where}: {field}: {message}")


def dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def load(text: str, name: str) -> YamlSource:
    """Parse one YAML document (safe loader), or raise ScenarioError with the line of the error."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"{name}{line}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{name}: not valid YAML: {exc}") from None
    lines: dict[Path, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return YamlSource(name, data, lines)


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines)
