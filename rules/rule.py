"""The contract: StreamingRule, Signal (rule, subject, category, severity, state).

A rule is a pure function of a `BatchView`, its previous `RuleState` and `now` (event time):

    signals, state = rule.evaluate(view, state, now)

It does no I/O and keeps nothing on `self` between calls. Whatever must survive a batch (a hold's
pending-since time, a learned baseline, recent event times) is in the returned `RuleState`, a
mapping of per-key states (a key names a series or a subject) that the engine saves with
`store.rules.rule_state.save(conn, rule.id, state.to_json())`, only for the keys that changed
(`state.changed_since(old)`), and loads back with
`rule.load_state(store.rules.rule_state.load(...))`.

Params are frozen pydantic dataclasses (rules.kind.param fields with their limits and units);
a check across fields raises `InvalidParams`, naming each field it finds wrong.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, Self, TypeVar

from pydantic import TypeAdapter, ValidationError

from rules.arrays import BatchView

# The alert codes are the store's; rules re-export them for the catalogue.
from store.alerts.records import Category as Category
from store.alerts.records import Severity as Severity

#: What `to_json()` may return: orjson-friendly primitives only.
JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject = dict[str, JsonValue]


class SignalState(StrEnum):
    FIRING = "firing"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class Signal:
    """A rule's statement that a condition started (`firing`) or ended (`clear`) at `at`.

    `summary_key` is an English `str.format` template (the gettext msgid of a later translation)
    and `summary_args` its parameters; `summary` renders the English text. `metric` names what
    the rule fired on when one rule can fire several times for one subject (a metric, or an
    emergency kind), and is then part of `dedup_key`.
    """

    rule: str
    subject: str
    site: str
    category: Category
    severity: Severity
    state: SignalState
    at: datetime
    value: float | None
    metric: str | None
    summary_key: str
    summary_args: Mapping[str, str | float] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        # Device and household ids are unique within a site only.
        base = f"{self.rule}:{self.site}/{self.subject}"
        return base if self.metric is None else f"{base}:{self.metric}"

    @property
    def summary(self) -> str:
        return self.summary_key.format_map(self.summary_args)


class KeyState(Protocol):
    """One key's state: a frozen dataclass that round-trips through orjson-friendly JSON."""

    def to_json(self) -> JsonObject: ...

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> Self: ...


S = TypeVar("S", bound=KeyState)


@dataclass(frozen=True, slots=True)
class RuleState(Generic[S]):
    """A rule's per-key states. Immutable: `with_updates` returns a new one."""

    by_key: Mapping[str, S] = field(default_factory=dict)

    def get(self, key: str) -> S | None:
        return self.by_key.get(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_key)

    def __len__(self) -> int:
        return len(self.by_key)

    def with_updates(self, updates: Mapping[str, S]) -> RuleState[S]:
        if not updates:
            return self
        return RuleState({**self.by_key, **updates})

    def changed_since(self, old: RuleState[S]) -> dict[str, S]:
        """The keys whose state differs from `old`: what the engine needs to save."""
        return {k: s for k, s in self.by_key.items() if old.by_key.get(k) != s}

    def to_json(self) -> dict[str, JsonObject]:
        return {k: s.to_json() for k, s in self.by_key.items()}

    @classmethod
    def from_json(cls, kind: type[S], raw: Mapping[str, object]) -> RuleState[S]:
        """Parse what `to_json` wrote; raises `ValueError` naming the key on a malformed entry."""
        states: dict[str, S] = {}
        for key, value in raw.items():
            if not isinstance(value, Mapping):
                raise ValueError(f"state of {key!r}: expected an object, got {value!r}")
            try:
                states[key] = kind.from_json(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"state of {key!r}: {exc}") from exc
        return cls(states)


class StreamingRule(Protocol[S]):
    """Runs on every committed batch, on the engine's batch-consumer thread.

    `now` is event time: the committed batch's newest timestamp in a replay, the clock's time
    otherwise. The engine also calls `evaluate` with an empty view on a timer so that conditions
    that complete with the passing of time (a door held open, a burst window ending) progress
    without new data. Samples at or before a key's last evaluated time are late: they are
    skipped, since a rule cannot rewrite signals it already emitted.
    """

    @property
    def id(self) -> str: ...

    def evaluate(
        self, view: BatchView, state: RuleState[S], now: datetime
    ) -> tuple[list[Signal], RuleState[S]]: ...

    def load_state(self, raw: Mapping[str, object]) -> RuleState[S]: ...


class InvalidParams(ValueError):
    """Every problem a params check across fields found, each as `(field, message)`; raised in a
    validator, pydantic carries it to `rules.kind.problems`."""

    def __init__(self, kind: str, errors: list[tuple[str, str]]) -> None:
        self.kind = kind
        self.errors = tuple(errors)
        super().__init__(f"{kind}: " + "; ".join(f"{f}: {m}" for f, m in errors))


class StoredState:
    """Mixin for a key state, a frozen slotted dataclass: pydantic reads and writes its JSON
    form from the field annotations (nested states, tuples, mappings included), so a state class
    declares its fields and nothing else. A field missing from stored JSON takes its default;
    a malformed one raises `ValueError` naming it. Rules build states as plain dataclasses: only
    loading and saving go through pydantic."""

    __slots__ = ()

    def to_json(self) -> JsonObject:
        out: JsonObject = _codec(type(self)).dump_python(self, mode="json")
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> Self:
        try:
            out: Self = _codec(cls).validate_python(raw)
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}".removeprefix(": ")
                for e in exc.errors()
            )
            raise ValueError(detail) from None
        return out


_CODECS: dict[type[Any], TypeAdapter[Any]] = {}


def _codec(cls: type[Any]) -> TypeAdapter[Any]:
    codec = _CODECS.get(cls)
    if codec is None:
        codec = _CODECS[cls] = TypeAdapter(cls)
    return codec
