"""StoredState: a state dataclass's JSON form follows its field annotations (through pydantic)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson
import pytest

from rules.rule import RuleState, StoredState


@dataclass(frozen=True, slots=True)
class Sample(StoredState):
    firing: bool = False
    since: float | None = None
    level: float = 0.0
    recent: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Nested(StoredState):
    inner: Sample = Sample()
    by_hour: Mapping[int, Sample] = field(default_factory=dict)


def test_round_trip_through_orjson() -> None:
    state = Sample(firing=True, since=1.5, level=2.0, recent=(1.0, 2.0))
    raw = orjson.loads(orjson.dumps(state.to_json()))
    assert raw == {"firing": True, "since": 1.5, "level": 2.0, "recent": [1.0, 2.0]}
    assert Sample.from_json(raw) == state


def test_nested_states_and_integer_keys_round_trip() -> None:
    state = Nested(Sample(level=1.0), {3: Sample(since=2.0)})
    raw = orjson.loads(orjson.dumps(state.to_json()))
    assert raw["by_hour"]["3"]["since"] == 2.0
    assert Nested.from_json(raw) == state


def test_missing_fields_take_their_defaults() -> None:
    assert Sample.from_json({"level": 3}) == Sample(level=3.0)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"firing": "perhaps"}, "firing: Input should be a valid boolean"),
        ({"since": "soon"}, "since: Input should be a valid number"),
        ({"level": None}, "level: Input should be a valid number"),
        ({"recent": [1, "x"]}, "recent.1: Input should be a valid number"),
    ],
)
def test_wrong_types_name_the_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Sample.from_json(raw)


def test_a_malformed_entry_names_its_key() -> None:
    with pytest.raises(ValueError, match="state of 'a/b/c': level: Input should be a valid"):
        RuleState.from_json(Sample, {"a/b/c": {"level": "high"}})
