"""The name people gave a thing (a device), in a reader's language.

A device has one `name` (any language) and names per language tag (`{"zh-CN": "冰箱门",
"en": "Fridge door"}`). A reader gets the name of their tag, else of its base language ("zh"
for "zh-CN", then any "zh-…" tag), else `name`, else what the caller falls back to (the id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class GivenName:
    name: str | None = None
    #: Language tag -> name.
    names: Mapping[str, str] = field(default_factory=dict)

    def in_language(self, language: str, fallback: str) -> str:
        return pick(self.name, self.names, language) or fallback


def pick(name: str | None, names: Mapping[str, str], language: str) -> str | None:
    """The name a reader of `language` gets, or None when nobody gave one."""
    base = language.split("-", 1)[0]
    for tag in (language, base):
        if names.get(tag):
            return names[tag]
    for tag, given in sorted(names.items()):
        if tag.split("-", 1)[0] == base and given:
            return given
    return name or None


def name_of(key: str, given: Mapping[str, GivenName] | None, language: str) -> str:
    """`key`'s name in `language` when `given` has one, else the key itself."""
    found = given.get(key) if given else None
    return key if found is None else found.in_language(language, key)
