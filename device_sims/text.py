"""The simulator's words in the terminal's language: the `device_sims` gettext domain.

Its own domain and catalogue (device_sims/locale) rather than the platform's: the simulator
imports nothing of ours but the wire format. The language is gettext's usual choice from
LANGUAGE, LC_ALL, LC_MESSAGES and LANG; the C locale, or a language without a catalogue, reads
English (the msgids).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from babel.support import Translations

DOMAIN = "device_sims"
LOCALE_DIR = Path(__file__).parent / "locale"
_LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
#: Primary language subtag → the catalogue's directory name.
_CATALOGUES = {"zh": "zh_CN", "en": "en"}


def language(environ: Mapping[str, str]) -> str:
    """The catalogue name (`zh_CN`, `en`) the terminal's locale variables ask for."""
    for name in _LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            tags = value.split(":") if name == "LANGUAGE" else [value]
            for tag in tags:
                base = tag.split(".")[0]
                if base in ("C", "POSIX"):
                    return "en"
                found = _CATALOGUES.get(base.replace("-", "_").split("_")[0].lower())
                if found is not None:
                    return found
            return "en"
    return "en"


@lru_cache(maxsize=4)
def _translations(catalogue: str) -> gettext.NullTranslations:
    return Translations.load(LOCALE_DIR, [catalogue], DOMAIN)


def _(message: str) -> str:
    """`message` (an English msgid) in the terminal's language."""
    return _translations(language(os.environ)).gettext(message)
