"""Languages people read: the codes, choosing one for a reader, and the gettext catalogues.

One gettext domain, `courtyard`, holds every text of `rules`, `api`, `courtyard` and `store`
(rule titles, notifications, dashboard pages, CLI messages): an alert title written by a rule is
read in the dashboard too, so the catalogue lives here, in the ground package every other one
may import. The sources are English `str.format` templates (the msgids); `i18n/locale/` has
`courtyard.pot` (extracted with Babel, see babel.cfg) and one compiled catalogue per language.

Language codes are the ones `people.language` stores: `zh-CN` and `en`. A reader's language is,
in order: their own setting, the browser's `Accept-Language`, their site's default, the
platform's default.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.support import Translations

DOMAIN = "courtyard"
LOCALE_DIR = Path(__file__).parent / "locale"
#: The language of the msgids.
SOURCE_LANGUAGE = "en"
#: Every language people may choose; the first is the platform's default.
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]

# BCP 47 tags browsers and people write, reduced to ours. Traditional-Chinese readers get
# Simplified Chinese: closer to what they read than English is.
_PRIMARY = {"zh": "zh-CN", "en": "en"}


def N_(message: str) -> str:
    """Mark `message` as a msgid for extraction without translating it here (gettext_noop)."""
    return message


def NC_(context: str, message: str) -> str:
    """`N_` with a context (the msgctxt of `pgettext`), for words that differ by use."""
    return message


def normalize(tag: str | None) -> str | None:
    """Our code for a language tag (`zh`, `zh_CN`, `zh-Hans-CN`, `en-GB`...), None if unknown."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return _PRIMARY.get(primary)


def accepted(header: str | None) -> list[str]:
    """The tags of an `Accept-Language` header, most wanted first (q=0 and junk left out)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for n, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag.strip() and q > 0:
            weighted.append((-q, n, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def choose(
    setting: str | None = None,
    accept_language: str | None = None,
    site_default: str | None = None,
    default: str = DEFAULT_LANGUAGE,
) -> str:
    """The reader's language: their setting, else the browser's, else the site's, else ours."""
    return first_known([setting, *accepted(accept_language), site_default]) or (
        normalize(default) or DEFAULT_LANGUAGE
    )


def first_known(tags: Iterable[str | None]) -> str | None:
    for tag in tags:
        code = normalize(tag)
        if code is not None:
            return code
    return None


def gettext_name(language: str) -> str:
    """The catalogue directory's name of a language: `zh-CN` is gettext's `zh_CN`."""
    return language.replace("-", "_")


def babel_locale(language: str) -> Locale:
    """The CLDR locale dates and numbers are formatted in."""
    return _locale(normalize(language) or SOURCE_LANGUAGE)


@lru_cache(maxsize=8)
def _locale(code: str) -> Locale:
    return Locale.parse(gettext_name(code))


@lru_cache(maxsize=16)
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language` (English msgids come back as they are)."""
    code = normalize(language) or SOURCE_LANGUAGE
    return Translations.load(LOCALE_DIR, [gettext_name(code)], DOMAIN)


def is_translated(tr: gettext.NullTranslations) -> bool:
    """Whether `tr` is a real catalogue rather than the English fallback."""
    return isinstance(tr, gettext.GNUTranslations)


#: Where gettext programs read the terminal's language, in gettext's order of precedence.
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def terminal_language(environ: Mapping[str, str]) -> str:
    """The language of a command-line program, as gettext chooses it: the first locale variable
    set; the C (POSIX) locale, or a language we have no catalogue for, reads English."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            # LANGUAGE is a priority list ("zh_CN:en"); the others one locale ("zh_CN.UTF-8").
            tags = value.split(":") if name == "LANGUAGE" else [value]
            if tags[0].split(".")[0] in ("C", "POSIX"):
                return SOURCE_LANGUAGE
            return first_known(t.split(".")[0] for t in tags) or SOURCE_LANGUAGE
    return SOURCE_LANGUAGE
