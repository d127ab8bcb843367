"""The catalogues are complete and current: every marked text is in the .pot, translated in
zh_CN (nothing missing, nothing fuzzy), and compiled into the committed .mo files."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Message

from tests.i18n.catalogs import DOMAINS, LANGUAGES, extracted, key_of, keys, mo, po, template


def _strings(message: Message) -> tuple[str, ...]:
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def _ids(message: Message) -> tuple[str, ...]:
    return (message.id,) if isinstance(message.id, str) else tuple(message.id)


def _translated(message: Message) -> bool:
    strings = _strings(message)
    return bool(strings) and all(strings)


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_the_template_holds_what_the_sources_mark(domain: str) -> None:
    in_sources = extracted(domain)
    in_template = keys(template(domain))
    assert in_sources - in_template == set(), "marked but not extracted: re-run the extraction"
    assert in_template - in_sources == set(), "extracted but no longer marked: re-extract"


@pytest.mark.parametrize("domain", sorted(DOMAINS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogue_has_every_message_of_the_template(domain: str, language: str) -> None:
    assert keys(po(domain, language)) == keys(template(domain)), "run pybabel update"


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_zh_cn_has_no_missing_or_fuzzy_entries(domain: str) -> None:
    catalog = po(domain, "zh_CN")
    untranslated = sorted(
        str(key_of(m.id, m.context)) for m in catalog if m.id and not _translated(m)
    )
    fuzzy = sorted(str(key_of(m.id, m.context)) for m in catalog if m.id and m.fuzzy)
    assert untranslated == []
    assert fuzzy == []
    assert list(catalog.obsolete) == []


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_zh_cn_keeps_every_placeholder(domain: str) -> None:
    placeholder = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)s")
    wrong = []
    for m in po(domain, "zh_CN"):
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = _strings(m)
        wanted = set(placeholder.findall(ids[-1]))
        wrong += [(ids[0], s) for s in strings if set(placeholder.findall(s)) != wanted]
    assert wrong == []


@pytest.mark.parametrize("domain", sorted(DOMAINS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_files_are_compiled_from_the_po_files(domain: str, language: str) -> None:
    source = {
        key_of(m.id, m.context): _strings(m) for m in po(domain, language) if m.id and not m.fuzzy
    }
    compiled = {key_of(m.id, m.context): _strings(m) for m in mo(domain, language) if m.id}
    # Untranslated entries are left out of the .mo, or (plurals) hold the English forms.
    english = {key_of(m.id, m.context): _ids(m) for m in po(domain, language) if m.id}
    compiled = {k: v for k, v in compiled.items() if v != english.get(k)}
    translated = {k: v for k, v in source.items() if all(v)}
    assert compiled == translated, "run pybabel compile"
