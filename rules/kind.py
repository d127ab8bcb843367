"""What a catalogue module declares about its rule kind, as typed objects the registry imports.

Each module of rules/catalog/ ends with one `KIND = Kind(...)` (two for doors): the kind's
name, its params class, how to build its rule, and what a backtest must read for it. Params
classes are pydantic dataclasses built with `param(...)` fields: the field's unit, limits and
description are where the documentation (docs/rules.md, `python -m rules.reference`) comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, Field, ValidationError
from pydantic.config import JsonDict
from pydantic_core import ErrorDetails

from rules.arrays import BatchView
from rules.directory import Directory
from rules.rule import InvalidParams, RuleState, Signal, StoredState

#: Every params class's pydantic config: no NaN or infinity anywhere (a limit that is never
#: reached is written as a missing value, not `.inf`).
PARAMS_CONFIG = ConfigDict(allow_inf_nan=False)


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None
    return name


#: An IANA time zone name, e.g. "Asia/Shanghai".
TimeZone = Annotated[str, AfterValidator(_known_zone)]


def param(
    default: Any = ...,
    *,
    description: str,
    unit: str | None = None,
    default_factory: Callable[[], Any] | None = None,
    **limits: Any,
) -> Any:
    """A params field: `description` says what it is for, `unit` its unit ("s", "%", ...),
    `limits` are pydantic's (`ge`, `gt`, `le`, `lt`, `min_length`)."""
    extra: JsonDict | None = {"unit": unit} if unit else None
    if default_factory is not None:
        return Field(
            default_factory=default_factory,
            description=description,
            json_schema_extra=extra,
            **limits,
        )
    return Field(default, description=description, json_schema_extra=extra, **limits)


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
NOTHING: frozenset[str] = frozenset()


def names(*given: str | None) -> frozenset[str]:
    return frozenset(n for n in given if n)


P = TypeVar("P")


def _everything(params: Any) -> Inputs:
    return EVERYTHING


@dataclass(frozen=True, slots=True)
class Kind(Generic[P]):
    """A rule kind: `build(rule_id, params, directory)` makes its rule, `inputs(params)` says
    what it reads. `never_resolves` names signal metrics whose alerts a clear never closes;
    `timed`: its conditions complete with the passing of time rather than with a sample (a
    door held open), so a backtest steps it on a timer. docs/rules.md says what the kind is for
    with its params class's docstring, else its module's first paragraph.
    """

    name: str
    params: type[P]
    build: Callable[[str, P, Directory], Evaluator]
    inputs: Callable[[P], Inputs] = _everything
    never_resolves: frozenset[str] = frozenset()
    timed: bool = False


S = TypeVar("S", bound=StoredState)


@dataclass(frozen=True, slots=True)
class CatalogRule(Generic[P, S]):
    """What every catalogue rule starts with: its id, its params, and `load_state` parsing the
    key states of its `State` class. A rule adds `evaluate` (and, if it needs them, more fields):

        @dataclass(frozen=True, slots=True)
        class StuckRule(CatalogRule[StuckParams, StuckState]):
            State = StuckState
    """

    State: ClassVar[type[Any]]
    id: str
    params: P

    def load_state(self, raw: Mapping[str, object]) -> RuleState[S]:
        state: RuleState[S] = RuleState.from_json(self.State, raw)
        return state


def alone(rule: Callable[[str, P], Evaluator]) -> Callable[[str, P, Directory], Evaluator]:
    """The build of a rule that needs no directory."""
    return lambda rule_id, params, directory: rule(rule_id, params)


# -- validation errors -------------------------------------------------------------------------

_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Every problem of a params validation as (field, message), in the house's wording."""
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, InvalidParams):
            out += list(cause.errors)
        else:
            out.append((".".join(str(p) for p in err["loc"]), message(err)))
    return out


def message(err: ErrorDetails) -> str:
    """One pydantic error in the house's wording ("must be > 0, got -1.0")."""
    ctx, kind, got = err.get("ctx", {}), err["type"], err.get("input")
    if kind in _BOUNDS:
        bound = next(v for k, v in ctx.items() if k in ("gt", "ge", "lt", "le"))
        if isinstance(bound, float) and isinstance(got, int) and not isinstance(got, bool):
            got = float(got)  # as the field holds it
        return f"must be {_BOUNDS[kind]} {bound:g}, got {got!r}"
    if kind == "finite_number":
        return f"must be a finite number, got {got!r}"
    if kind == "string_too_short":
        return "must not be empty"
    return str(err["msg"]).removeprefix("Value error, ")


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


__all__ = [
    "EVERYTHING",
    "NOTHING",
    "PARAMS_CONFIG",
    "Evaluator",
    "Inputs",
    "Kind",
    "Partitioned",
    "TimeZone",
    "CatalogRule",
    "alone",
    "names",
    "param",
    "message",
    "problems",
]
