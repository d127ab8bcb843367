"""Rule kinds: how a definition becomes a running rule (params class, factory), and compile_rule.

A kind names its params dataclass and a factory `(definition, directory) -> rule`. The params
class is imported lazily, so a kind whose module is missing or broken fails the rules that use
it, by name, and no other. `compile_rule` wraps the built rule in a `CompiledRule`, which applies
the definition's scope to every view and stamps the definition's category and severity (and, for
care rules, the household) on every signal.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import TypeAdapter, ValidationError

from rules.arrays import BatchView
from rules.directory import Directory
from rules.policy import NotifyPolicy
from rules.rule import Category, InvalidParams, RuleState, Severity, Signal
from rules.scope import BoundScope

if TYPE_CHECKING:
    from rules.definitions import RuleDefinition

#: Params fields the definition sets (`category:`, `severity:` of the rule), never `params:`.
FROM_DEFINITION = ("category", "severity")


class Evaluator(Protocol):
    """What the catalogue's rules have in common (rules.rule.StreamingRule, any state type)."""

    def evaluate(
        self, view: BatchView, state: RuleState[Any], now: datetime
    ) -> tuple[list[Signal], RuleState[Any]]: ...

    def load_state(self, raw: Mapping[str, object]) -> RuleState[Any]: ...


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a rule reads, so a backtest loads only that; None means everything."""

    metrics: frozenset[str] | None = None
    event_types: frozenset[str] | None = None


EVERYTHING = Inputs()


@dataclass(frozen=True, slots=True)
class KindSpec:
    name: str
    module: str
    params_name: str
    build: Callable[[RuleDefinition, Directory], Evaluator]
    inputs: Callable[[Any], Inputs] = lambda params: EVERYTHING

    def params_class(self) -> type[Any]:
        """The params dataclass; raises `ValueError` saying why when it cannot be imported."""
        try:
            return getattr(importlib.import_module(self.module), self.params_name)  # type: ignore[no-any-return]
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"kind {self.name!r} is not available ({exc})") from exc


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
    try:
        cls = spec.params_class()
    except ValueError as exc:
        return None, [("kind", str(exc))]
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
        errors += _pydantic_errors(exc)
        return None, errors
    return (None if errors else built), errors


def _pydantic_errors(exc: ValidationError) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, InvalidParams):
            out += list(cause.errors)
            continue
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        out.append((where, message))
    return out


def params_of(definition: RuleDefinition) -> Any:
    """The definition's params object; raises `RuleCompileError` naming the rule."""
    built, errors = validate_params(
        definition.kind, definition.params, definition.category, definition.severity
    )
    if errors or built is None:
        detail = "; ".join(f"params.{f}: {m}" for f, m in errors)
        raise RuleCompileError(f"rule {definition.id!r}: {detail}")
    return built


# -- partitions --------------------------------------------------------------------------------


class Partitioned:
    """One rule instance per partition (a household, a time zone), each seeing only its part of
    the view. State keys name their series or device, so the parts' keys are disjoint and one
    `RuleState` carries them all: each part updates its own keys in turn."""

    def __init__(
        self,
        route: Callable[[str, str], Hashable | None],
        make: Callable[[Any], Evaluator],
        load: Callable[[Mapping[str, object]], RuleState[Any]],
        keys: Iterable[Hashable] = (),
    ) -> None:
        self._route = route
        self._make = make
        self._load = load
        self._parts: dict[Hashable, Evaluator] = {k: make(k) for k in keys}
        self._routes: dict[tuple[str, str], Hashable | None] = {}

    def _part_of(self, site: str, device: str) -> Hashable | None:
        key = (site, device)
        if key not in self._routes:
            self._routes[key] = self._route(site, device)
        return self._routes[key]

    def load_state(self, raw: Mapping[str, object]) -> RuleState[Any]:
        return self._load(raw)

    def evaluate(
        self, view: BatchView, state: RuleState[Any], now: datetime
    ) -> tuple[list[Signal], RuleState[Any]]:
        split: dict[Hashable, tuple[dict[Any, Any], dict[Any, Any], list[Any]]] = {}
        for key, s in view.series.items():
            part = self._part_of(key[0], key[1])
            if part is not None:
                split.setdefault(part, ({}, {}, []))[0][key] = s
        for key, e in view.events.items():
            part = self._part_of(key[0], key[1])
            if part is not None:
                split.setdefault(part, ({}, {}, []))[1][key] = e
        for st in view.statuses:
            part = self._part_of(st.site, st.device)
            if part is not None:
                split.setdefault(part, ({}, {}, []))[2].append(st)
        for part in split:
            if part not in self._parts:
                self._parts[part] = self._make(part)
        signals: list[Signal] = []
        empty = BatchView()
        # Every part, not only those with data: time passes for all of them on a tick.
        for part, rule in self._parts.items():
            pieces = split.get(part)
            sub = empty if pieces is None else BatchView(pieces[0], pieces[1], tuple(pieces[2]))
            fired, state = rule.evaluate(sub, state, now)
            signals += fired
        return signals, state


# -- factories ---------------------------------------------------------------------------------


def _simple(module: str, cls: str) -> Callable[[RuleDefinition, Directory], Evaluator]:
    def build(definition: RuleDefinition, directory: Directory) -> Evaluator:
        rule: Evaluator = getattr(importlib.import_module(module), cls)(
            definition.id, params_of(definition)
        )
        return rule

    return build


def _with_directory(module: str, cls: str) -> Callable[[RuleDefinition, Directory], Evaluator]:
    def build(definition: RuleDefinition, directory: Directory) -> Evaluator:
        rule: Evaluator = getattr(importlib.import_module(module), cls)(
            definition.id, params_of(definition), directory
        )
        return rule

    return build


def _anomaly(definition: RuleDefinition, directory: Directory) -> Evaluator:
    """Hour-of-day buckets are local hours: without an explicit `timezone`, one instance per
    site time zone, each series learning in its own site's zone."""
    from rules.catalog.anomaly import AnomalyRule, AnomalyState

    params = params_of(definition)
    if "timezone" in definition.params:
        return AnomalyRule(definition.id, params)
    return Partitioned(
        route=lambda site, device: directory.timezone_of(site),
        make=lambda zone: AnomalyRule(definition.id, dataclasses.replace(params, timezone=zone)),
        load=lambda raw: RuleState.from_json(AnomalyState, raw),
        keys=sorted({directory.timezone_of(s) for s in directory.site_timezones}),
    )


def _night_activity(definition: RuleDefinition, directory: Directory) -> Evaluator:
    """One quiet-hours rule per household in scope, in the household's zone and quiet hours."""
    from rules.catalog.doors import NightActivityParams, OpeningState, QuietHoursRule

    params: NightActivityParams = params_of(definition)
    households = dict(directory.households)

    def make(key: tuple[str, str]) -> Evaluator:
        h = households[key]
        own = params.for_household(h.id, h.timezone, h.quiet_start, h.quiet_end)
        return QuietHoursRule(definition.id, own)

    def route(site: str, device: str) -> tuple[str, str] | None:
        household = directory.household_of(site, device)
        key = None if household is None else (site, household)
        return key if key in households else None

    return Partitioned(
        route=route,
        make=make,
        load=lambda raw: RuleState.from_json(OpeningState, raw),
        keys=sorted(households),
    )


def _names(*names: str | None) -> frozenset[str]:
    return frozenset(n for n in names if n)


NOTHING: frozenset[str] = frozenset()

KINDS: Mapping[str, KindSpec] = {
    spec.name: spec
    for spec in (
        KindSpec(
            "threshold",
            "rules.catalog.thresholds",
            "ThresholdParams",
            _simple("rules.catalog.thresholds", "ThresholdRule"),
            lambda p: Inputs(_names(p.metric, p.only_when), NOTHING),
        ),
        KindSpec(
            "trend",
            "rules.catalog.trends",
            "TrendParams",
            _simple("rules.catalog.trends", "TrendRule"),
            lambda p: Inputs(_names(p.metric), NOTHING),
        ),
        KindSpec(
            "anomaly",
            "rules.catalog.anomaly",
            "AnomalyParams",
            _anomaly,
            lambda p: Inputs(_names(p.metric), NOTHING),
        ),
        KindSpec(
            "usage",
            "rules.catalog.usage",
            "UsageParams",
            _simple("rules.catalog.usage", "UsageRule"),
            lambda p: (
                Inputs(NOTHING, _names(p.name))
                if p.source == "event"
                else Inputs(_names(p.name), NOTHING)
            ),
        ),
        KindSpec(
            "battery",
            "rules.catalog.battery",
            "BatteryParams",
            _simple("rules.catalog.battery", "BatteryRule"),
            lambda p: Inputs(_names(p.metric), NOTHING),
        ),
        KindSpec(
            "emergency",
            "rules.catalog.emergencies",
            "EmergencyParams",
            _simple("rules.catalog.emergencies", "EmergencyRule"),
            lambda p: Inputs(frozenset(p.kinds), frozenset(p.kinds)),
        ),
        KindSpec(
            "door_held",
            "rules.catalog.doors",
            "DoorHeldParams",
            _simple("rules.catalog.doors", "DoorHeldRule"),
            lambda p: Inputs(_names(p.metric), _names(p.open_event, p.close_event)),
        ),
        KindSpec(
            "night_activity",
            "rules.catalog.doors",
            "NightActivityParams",
            _night_activity,
            lambda p: Inputs(_names(p.metric), _names(p.open_event)),
        ),
        KindSpec(
            "offline",
            "rules.catalog.heartbeat",
            "OfflineParams",
            _with_directory("rules.catalog.heartbeat", "OfflineRule"),
        ),
        KindSpec(
            "inactivity",
            "rules.catalog.inactivity",
            "InactivityParams",
            _with_directory("rules.catalog.inactivity", "InactivityRule"),
        ),
        KindSpec(
            "stuck",
            "rules.catalog.stuck",
            "StuckParams",
            _simple("rules.catalog.stuck", "StuckRule"),
            lambda p: Inputs(frozenset(p.metrics) or None, NOTHING),
        ),
    )
}


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
    try:
        rule = spec.build(definition, scope.restrict())
        inputs = spec.inputs(params_of(definition))
    except (ImportError, AttributeError, ValueError) as exc:
        if isinstance(exc, RuleCompileError):
            raise
        raise RuleCompileError(f"rule {definition.id!r}: {exc}") from exc
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
    "KindSpec",
    "Partitioned",
    "RuleCompileError",
    "compile_rule",
    "compile_rules",
    "validate_params",
]


def _listing(names: set[str]) -> str:
    return ", ".join(sorted(names - set(FROM_DEFINITION)))
