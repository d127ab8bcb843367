"""Rule kinds: the catalogue's declared kinds, params validation, and compile_rule.

Each catalogue module declares its kind (`KIND`, a `rules.kind.Kind`): its params class, its
build and its backtest inputs; this module imports them, so mypy, import-linter and a reader
see every kind here. `compile_rule` wraps the built rule in a `CompiledRule`, which applies
the definition's scope to every view and stamps the definition's category and severity (and,
for care rules, the household) on every signal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from rules.arrays import BatchView
from rules.catalog import (
    anomaly,
    battery,
    doors,
    emergencies,
    heartbeat,
    inactivity,
    stuck,
    thresholds,
    trends,
    usage,
)
from rules.directory import Directory
from rules.kind import EVERYTHING, Evaluator, Inputs, Kind, problems
from rules.policy import NotifyPolicy
from rules.rule import Category, RuleState, Severity, Signal
from rules.scope import BoundScope

if TYPE_CHECKING:
    from rules.definitions import RuleDefinition

#: Params fields the definition sets (`category:`, `severity:` of the rule), never `params:`.
FROM_DEFINITION = ("category", "severity")

KINDS: Mapping[str, Kind[Any]] = {
    kind.name: kind
    for kind in (
        thresholds.KIND,
        trends.KIND,
        anomaly.KIND,
        usage.KIND,
        battery.KIND,
        emergencies.KIND,
        doors.DOOR_HELD,
        doors.NIGHT_ACTIVITY,
        heartbeat.KIND,
        inactivity.KIND,
        stuck.KIND,
    )
}

#: Signal metrics (emergency kinds) whose alerts never resolve by themselves.
NEVER_RESOLVES: frozenset[str] = frozenset().union(*(k.never_resolves for k in KINDS.values()))


class RuleCompileError(ValueError):
    """A definition that passed validation cannot be built (e.g. its kind's module is gone)."""


# -- params ------------------------------------------------------------------------------------

_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def validate_params(
    kind: str, params: Mapping[str, object], category: str | None, severity: str | None
) -> tuple[Any, list[tuple[str, str]]]:
    """The kind's params object built from `params` (with the rule's category and severity
    filled in where the params class has them), or None and every problem as (field, message).
    """
    spec = KINDS.get(kind)
    if spec is None:
        return None, [("kind", f"unknown kind {kind!r}; known: {', '.join(KINDS)}")]
    cls = spec.params
    names = {f.name for f in dataclasses.fields(cls)}
    errors: list[tuple[str, str]] = []
    for key in params:
        if key in FROM_DEFINITION:
            errors.append((key, f"set {key} on the rule, not in params"))
        elif key not in names:
            errors.append((key, f"unknown field; {kind} params are: {_listing(names)}"))
    values = {k: v for k, v in params.items() if k in names and k not in FROM_DEFINITION}
    for key, value in (("category", category), ("severity", severity)):
        if key in names and value is not None:
            values[key] = value
    try:
        built = _adapter(cls).validate_python(values)
    except ValidationError as exc:
        errors += problems(exc)
        return None, errors
    return (None if errors else built), errors


def params_of(definition: RuleDefinition) -> Any:
    """The definition's params object; raises `RuleCompileError` naming the rule."""
    built, errors = validate_params(
        definition.kind, definition.params, definition.category, definition.severity
    )
    if errors or built is None:
        detail = "; ".join(f"params.{f}: {m}" for f, m in errors)
        raise RuleCompileError(f"rule {definition.id!r}: {detail}")
    return built


# -- compiled rules ----------------------------------------------------------------------------


class CompiledRule:
    """A definition made runnable: what the engine and the backtest evaluate.

    `evaluate` applies the scope first, then stamps the definition's category and severity on
    every signal; signals of a care rule about a device of a household are about the household
    (its id is the subject), since the household is what volunteers look after.
    """

    __slots__ = ("definition", "inputs", "_rule", "_scope", "_directory", "_care")

    def __init__(
        self,
        definition: RuleDefinition,
        rule: Evaluator,
        scope: BoundScope,
        inputs: Inputs = EVERYTHING,
    ) -> None:
        self.definition = definition
        self.inputs = inputs
        self._rule = rule
        self._scope = scope
        self._directory = scope.directory
        self._care = definition.category == Category.CARE

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def auto_resolve(self) -> bool:
        return self.definition.auto_resolve

    @property
    def notify(self) -> NotifyPolicy:
        return self.definition.notify

    def load_state(self, raw: Mapping[str, object]) -> RuleState[Any]:
        return self._rule.load_state(raw)

    def evaluate(
        self, view: BatchView, state: RuleState[Any], now: datetime
    ) -> tuple[list[Signal], RuleState[Any]]:
        signals, new = self._rule.evaluate(self._scope.filter(view), state, now)
        return [self._stamp(s) for s in signals], new

    def _stamp(self, signal: Signal) -> Signal:
        d = self.definition
        category, severity = Category(d.category), Severity(d.severity)
        subject = signal.subject
        if self._care:
            subject = self._directory.household_of(signal.site, subject) or subject
        if (signal.category, signal.severity, signal.subject) == (category, severity, subject):
            return signal
        return dataclasses.replace(signal, category=category, severity=severity, subject=subject)


def compile_rule(definition: RuleDefinition, directory: Directory) -> CompiledRule:
    """Build the rule of `definition` for this directory snapshot (rebuild when it changes).

    Raises `RuleCompileError` naming the rule when its kind cannot be built.
    """
    spec = KINDS.get(definition.kind)
    if spec is None:
        raise RuleCompileError(f"rule {definition.id!r}: unknown kind {definition.kind!r}")
    scope = definition.scope.bind(directory)
    params = params_of(definition)
    try:
        rule = spec.build(definition.id, params, scope.restrict())
    except ValueError as exc:
        raise RuleCompileError(f"rule {definition.id!r}: {exc}") from exc
    inputs = spec.inputs(params)
    return CompiledRule(definition, rule, scope, inputs)


def compile_rules(
    definitions: Iterable[RuleDefinition], directory: Directory
) -> tuple[list[CompiledRule], list[RuleCompileError]]:
    """Every enabled definition compiled; the ones that fail are returned beside, not raised,
    so one broken rule does not stop the others."""
    compiled: list[CompiledRule] = []
    failed: list[RuleCompileError] = []
    for definition in definitions:
        if not definition.enabled:
            continue
        try:
            compiled.append(compile_rule(definition, directory))
        except RuleCompileError as exc:
            failed.append(exc)
    return compiled, failed


__all__ = [
    "KINDS",
    "CompiledRule",
    "Evaluator",
    "Inputs",
    "Kind",
    "NEVER_RESOLVES",
    "RuleCompileError",
    "compile_rule",
    "compile_rules",
    "validate_params",
]


def _listing(names: set[str]) -> str:
    return ", ".join(sorted(names - set(FROM_DEFINITION)))
