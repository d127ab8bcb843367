"""Test support: extract the msgids the sources mark, exactly as docs/translations.md does."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
#: `-k NC_:1c,2` of the extraction command: N_ with a context.
KEYWORDS = {**DEFAULT_KEYWORDS, "NC_": ((1, "c"), 2)}

#: domain → (mapping file, catalogue directory)
DOMAINS = {
    "courtyard": (ROOT / "babel.cfg", ROOT / "i18n" / "locale"),
    "device_sims": (ROOT / "babel-device_sims.cfg", ROOT / "device_sims" / "locale"),
}
LANGUAGES = ("zh_CN", "en")

Key = tuple[str | None, str]


def key_of(msgid: str | tuple[str, ...] | list[str], context: str | None) -> Key:
    return (context, msgid if isinstance(msgid, str) else msgid[0])


def extracted(domain: str) -> set[Key]:
    mapping, _ = DOMAINS[domain]
    with mapping.open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: set[Key] = set()
    for _file, _line, msgid, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        key = key_of(msgid, context)
        if key[1]:
            found.add(key)
    return found


def template(domain: str) -> Catalog:
    _, directory = DOMAINS[domain]
    with (directory / f"{domain}.pot").open("rb") as f:
        return read_po(f)


def po(domain: str, language: str) -> Catalog:
    _, directory = DOMAINS[domain]
    with (directory / language / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
        return read_po(f)


def mo(domain: str, language: str) -> Catalog:
    _, directory = DOMAINS[domain]
    with (directory / language / "LC_MESSAGES" / f"{domain}.mo").open("rb") as f:
        return read_mo(f)


def keys(catalog: Catalog) -> set[Key]:
    return {key_of(m.id, m.context) for m in catalog if m.id}
