"""Rule definitions: the rules file (YAML) and the `rules` table, validated with precise errors.

A rules file is `rules: [...]`, one mapping per rule:

    rules:
      - id: pump-current-low
        kind: threshold
        category: maintenance
        severity: critical
        scope: {device_kinds: [booster_pump]}
        params: {metric: current_a, op: "<", value: 4.0, hold_s: 50, only_when: running}

Every problem of a file is reported at once (`RuleFileError.errors`), each naming the file and
line, the rule (its id, or `#n` when it has none) and the field:
`rules.yaml:7: rule 'pump-current-low': params.value: must be a finite number, got nan`.

YAML is read in its 1.2 spirit: `on`/`off`/`yes`/`no` are strings (a gate reading named `on`),
and `22:00` is a string, not the sexagesimal integer 1320 that YAML 1.1 makes of it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rules.kind import message as error_message
from rules.policy import NotifyPolicy
from rules.registry import KINDS, validate_params
from rules.rule import Category, InvalidParams, Severity
from rules.scope import Scope
from store.rules.rule_defs import RuleRecord, scope_with_site

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
#: Validation context key: the loader checks params itself (to report them beside the other
#: fields' errors), so the model need not do it twice.
_PARAMS_CHECKED = "params_checked"


def _known_keys(cls: type[Any]) -> Callable[[object], object]:
    """A before-validator refusing keys the dataclass does not have (pydantic ignores them)."""
    names = {f.name for f in dataclasses.fields(cls)}

    def check(value: object) -> object:
        if isinstance(value, Mapping):
            unknown = sorted(str(k) for k in value if k not in names)
            if unknown:
                raise ValueError(
                    f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"
                )
        return value

    return check


class RuleDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    kind: str
    description: str = ""
    enabled: bool = True
    category: Category
    severity: Severity
    scope: Annotated[Scope, BeforeValidator(_known_keys(Scope))] = Scope()
    params: dict[str, Any] = Field(default_factory=dict)
    auto_resolve: bool = True
    notify: Annotated[NotifyPolicy, BeforeValidator(_known_keys(NotifyPolicy))] = NotifyPolicy()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
        return kind

    @model_validator(mode="after")
    def _valid_params(self, info: ValidationInfo) -> RuleDefinition:
        if not (info.context or {}).get(_PARAMS_CHECKED):
            _, errors = validate_params(self.kind, self.params, self.category, self.severity)
            if errors:
                raise InvalidParams("params", errors)
        return self


class RuleFileError(ValueError):
    """Every problem found in a rules file (or in stored definitions), one line each."""

    def __init__(self, source: str, errors: Sequence[str]) -> None:
        self.source = source
        self.errors = tuple(errors)
        count = f"{len(self.errors)} problem{'s' if len(self.errors) != 1 else ''}"
        super().__init__(f"{count} in {source}:\n" + "\n".join(self.errors))


# -- YAML with line numbers --------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's surprises: booleans are only true/false, and integers and
    floats have no sexagesimal (`22:00`) forms."""


_ALTERED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _ALTERED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|0o[0-7_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
        r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)

Path_ = tuple[str | int, ...]


def _parse_yaml(text: str, source: str) -> tuple[object, dict[Path_, int]]:
    """The document and the 1-based line of each path in it (mapping keys, sequence items)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleFileError(source, [f"{where}: not valid YAML: {problem}"]) from exc
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}

    def walk(n: yaml.Node, path: Path_) -> None:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                if isinstance(key, yaml.ScalarNode):
                    lines[(*path, str(key.value))] = key.start_mark.line + 1
                    walk(value, (*path, str(key.value)))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*path, i))

    if node is not None:
        walk(node, ())
    return data, lines


def _line(lines: Mapping[Path_, int], path: Path_) -> int | None:
    for end in range(len(path), -1, -1):
        found = lines.get(tuple(path[:end]))
        if found is not None:
            return found
    return None


def _field(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# -- validation --------------------------------------------------------------------------------


def _rule_problems(raw: Mapping[str, Any]) -> tuple[RuleDefinition | None, list[tuple[Path_, str]]]:
    """The definition, or every problem of one rule as (path inside the rule, message)."""
    problems: list[tuple[Path_, str]] = []
    definition = None
    try:
        definition = RuleDefinition.model_validate(raw, context={_PARAMS_CHECKED: True})
    except ValidationError as exc:
        for err in exc.errors():
            loc: Path_ = tuple(err["loc"])
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, InvalidParams):
                problems += [((*loc, f), m) for f, m in cause.errors]
            else:
                problems.append((loc, error_message(err)))
    kind, params = raw.get("kind"), raw.get("params", {})
    if isinstance(kind, str) and kind in KINDS and isinstance(params, Mapping):
        category, severity = raw.get("category"), raw.get("severity")
        _, errors = validate_params(
            kind,
            params,
            category if category in set(Category) else None,
            severity if severity in set(Severity) else None,
        )
        problems += [(("params", *f.split(".")), m) for f, m in errors]
    return (definition if not problems else None), problems


def check_definition(raw: Mapping[str, Any]) -> tuple[RuleDefinition | None, list[tuple[str, str]]]:
    """One definition from plain data (an API request, a stored row): the definition, or every
    problem as (dotted field, message), e.g. ("params.value", "must be a finite number")."""
    definition, problems = _rule_problems(raw)
    return definition, [(_field(loc), message) for loc, message in problems]


def parse_rules(text: str, source: str = "<rules>") -> list[RuleDefinition]:
    """Parse a rules file's text; raises `RuleFileError` listing every problem."""
    data, lines = _parse_yaml(text, source)
    if data is None:
        return []
    if not isinstance(data, Mapping) or set(data) - {"rules"}:
        raise RuleFileError(source, [f"{source}:1: expected a mapping with one key, `rules`"])
    items = data.get("rules") or []
    if not isinstance(items, list):
        line = _line(lines, ("rules",))
        raise RuleFileError(source, [f"{source}:{line}: `rules` must be a list of rules"])
    errors: list[str] = []
    definitions: list[RuleDefinition] = []
    first_line: dict[str, int | None] = {}
    for i, raw in enumerate(items):
        here: Path_ = ("rules", i)
        rule_id = raw.get("id") if isinstance(raw, Mapping) else None
        valid_id = isinstance(rule_id, str) and re.match(ID_PATTERN, rule_id) is not None
        name = f"rule {rule_id!r}" if valid_id else f"rule #{i + 1}"
        if not isinstance(raw, Mapping):
            errors.append(f"{source}:{_line(lines, here)}: {name}: expected a mapping")
            continue
        definition, problems = _rule_problems(raw)
        for loc, message in problems:
            line = _line(lines, (*here, *loc))
            where = f"{source}:{line}" if line is not None else source
            errors.append(f"{where}: {name}: {_field(loc)}: {message}")
        if valid_id:
            assert isinstance(rule_id, str)
            if rule_id in first_line:
                line = _line(lines, (*here, "id"))
                errors.append(
                    f"{source}:{line}: {name}: id: duplicate of the rule at line "
                    f"{first_line[rule_id]}"
                )
            else:
                first_line[rule_id] = _line(lines, (*here, "id"))
        if definition is not None:
            definitions.append(definition)
    if errors:
        raise RuleFileError(source, errors)
    return definitions


def load_rules_file(path: str | Path) -> list[RuleDefinition]:
    """Read and validate a rules file; raises `RuleFileError` (or `OSError` when unreadable)."""
    path = Path(path)
    return parse_rules(path.read_text(encoding="utf-8"), str(path))


# -- the `rules` table -------------------------------------------------------------------------


def to_record(definition: RuleDefinition) -> RuleRecord:
    """The row the store keeps for a definition (scope, params and notify as JSON objects)."""
    plain = definition.model_dump(mode="json")
    return RuleRecord(
        id=definition.id,
        kind=definition.kind,
        description=definition.description,
        enabled=definition.enabled,
        category=str(definition.category),
        severity=str(definition.severity),
        scope=plain["scope"],
        params=plain["params"],
        auto_resolve=definition.auto_resolve,
        notify=plain["notify"],
    )


def check_record(record: RuleRecord) -> tuple[RuleDefinition | None, list[tuple[str, str]]]:
    """A stored (or about to be stored) row as the engine will run it: its site, when it has
    one, is its scope's only site. The definition, or every problem as (dotted field, message)."""
    return check_definition(
        {
            "id": record.id,
            "kind": record.kind,
            "description": record.description,
            "enabled": record.enabled,
            "category": record.category,
            "severity": record.severity,
            "scope": scope_with_site(record.scope, record.site_id),
            "params": record.params,
            "auto_resolve": record.auto_resolve,
            "notify": record.notify,
        }
    )


def from_records(records: Sequence[RuleRecord]) -> tuple[list[RuleDefinition], list[str]]:
    """Definitions from stored rows; a row that no longer validates (its kind renamed, a param
    removed) is reported by its id and skipped, so the others still run."""
    definitions: list[RuleDefinition] = []
    errors: list[str] = []
    for record in records:
        definition, problems = check_record(record)
        errors += [f"rule {record.id!r}: {where}: {m}" for where, m in problems]
        if definition is not None:
            definitions.append(definition)
    return definitions, errors
