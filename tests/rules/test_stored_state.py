"""FlatState: a state dataclass's JSON form follows its field annotations."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import pytest

from rules.rule import FlatState


@dataclass(frozen=True, slots=True)
class Sample(FlatState):
    firing: bool = False
    since: float | None = None
    level: float = 0.0
    recent: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Unsupported(FlatState):
    name: str = ""


def test_round_trip_through_orjson() -> None:
    state = Sample(firing=True, since=1.5, level=2.0, recent=(1.0, 2.0))
    raw = orjson.loads(orjson.dumps(state.to_json()))
    assert raw == {"firing": True, "since": 1.5, "level": 2.0, "recent": [1.0, 2.0]}
    assert Sample.from_json(raw) == state


def test_missing_fields_take_their_defaults() -> None:
    assert Sample.from_json({"level": 3}) == Sample(level=3.0)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"firing": "yes"}, "firing: expected true or false"),
        ({"since": "soon"}, "since: expected a number or null"),
        ({"level": None}, "level: expected a number, got null"),
        ({"recent": [1, "x"]}, "recent: expected a list of numbers"),
    ],
)
def test_wrong_types_name_the_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Sample.from_json(raw)


def test_an_unsupported_field_type_is_refused() -> None:
    with pytest.raises(TypeError, match="a FlatState field must be one of"):
        Unsupported.from_json({"name": "x"})
