"""The words of the `courtyard` command in the terminal's language (LANGUAGE, LC_ALL, LANG)."""

from __future__ import annotations

import os

from i18n.languages import terminal_language, translations


def _(message: str) -> str:
    """`message` (an English msgid of the `courtyard` domain) in the terminal's language."""
    return translations(terminal_language(os.environ)).gettext(message)
