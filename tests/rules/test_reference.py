"""docs/rules.md is generated from the params classes and must be current; every parameter of
every kind says what it is for."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.reference import parameters, reference
from rules.registry import KINDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_docs_rules_md_is_what_the_params_classes_say() -> None:
    assert DOC.read_text(encoding="utf-8") == reference(), (
        "docs/rules.md is stale: run `python -m rules.reference > docs/rules.md`"
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_parameter_is_described(kind: str) -> None:
    fields = parameters(KINDS[kind].params)
    assert fields
    assert [name for name, info in fields.items() if not (info.description or "").strip()] == []


def test_the_reference_names_every_kind_and_parameter() -> None:
    text = reference()
    for kind in KINDS.values():
        assert f"## `{kind.name}`" in text
        for name in parameters(kind.params):
            assert f"| `{name}` |" in text
