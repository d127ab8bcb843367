"""Tests for ingest/json_bounds.py: each bound at its edge, and the reason naming where it broke."""

from __future__ import annotations

import orjson
import pytest

from ingest.json_bounds import JsonLimits, check

LIMITS = JsonLimits(max_depth=4, max_string_chars=8, max_items=3)


def nested(levels: int, key: str = "a") -> object:
    value: object = 1
    for _ in range(levels):
        value = {key: value}
    return value


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param({"attrs": nested(3)}, None, id="depth-at-the-limit"),
        pytest.param(
            {"attrs": nested(4)},
            '"attrs" nests deeper than 4 levels of objects and arrays',
            id="depth-one-past",
        ),
        pytest.param(
            [1, [[[[]]]]],
            "item 2 nests deeper than 4 levels of objects and arrays",
            id="array-deep",
        ),
        pytest.param(
            {'we"ird\x00': [[[{}]]]},
            '"we\\"ird\\u0000" nests deeper than 4 levels of objects and arrays',
            id="deep-under-an-odd-key",
        ),
        pytest.param({"s": "x" * 8}, None, id="string-at-the-limit"),
        pytest.param(
            {"attrs": {"note": "x" * 9}},
            "the string at $.attrs.note is 9 characters long, over the limit of 8",
            id="string-one-past",
        ),
        pytest.param(
            [{"v": 1}, {"n": ["ok", "y" * 20]}],
            "the string at $[1].n[1] is 20 characters long, over the limit of 8",
            id="string-in-an-array",
        ),
        pytest.param(
            {"attrs": {"x" * 9: 1}},
            "a key in the object at $.attrs is 9 characters long, over the limit of 8",
            id="key-too-long",
        ),
        pytest.param({"a": [1, 2, 3]}, None, id="items-at-the-limit"),
        pytest.param(
            {"a": [1, 2, 3, 4]},
            "the array at $.a has 4 items, over the limit of 3",
            id="array-one-past",
        ),
        pytest.param(
            {"a": {"b": 1, "c": 2, "d": 3, "e": 4}},
            "the object at $.a has 4 members, over the limit of 3",
            id="object-one-past",
        ),
        pytest.param(
            {"a b": [0, {"c": "z" * 9}]},
            'the string at $["a b"][1].c is 9 characters long, over the limit of 8',
            id="path-with-an-odd-key",
        ),
        pytest.param(
            "x" * 9, "the string at $ is 9 characters long, over the limit of 8", id="top"
        ),
        pytest.param(12345678901234567890, None, id="scalars-are-free"),
    ],
)
def test_check(data: object, reason: str | None) -> None:
    assert check(data, LIMITS) == reason


def test_a_long_path_is_cut() -> None:
    data = nested(40, key="abcdef")
    reason = check({"s": "x" * 99, "t": data}, JsonLimits(max_depth=100, max_string_chars=10))
    assert reason == "the string at $.s is 99 characters long, over the limit of 10"
    deep_string = {"k" * 20: {"m" * 20: {"n" * 20: "x" * 21}}}
    reason = check(deep_string, JsonLimits(max_string_chars=20, max_depth=100))
    assert reason == (
        "the string at $.kkkkkkkkkkkkkkkkkkkk.mmmmmmmmmmmmmmmmmmmm.nnnnnnnnnnnnnnn… "
        "is 21 characters long, over the limit of 20"
    )


def test_the_deepest_payload_the_parser_reads_is_walked_without_recursion() -> None:
    data = orjson.loads("[" * 1000 + "]" * 1000)
    assert check(data, JsonLimits()) == ("item 1 nests deeper than 32 levels of objects and arrays")
