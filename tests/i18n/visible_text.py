"""What a person reads (or hears from a screen reader) in a piece of HTML: its text outside
scripts and styles, and the attributes that are spoken or shown."""

from __future__ import annotations

import html.parser
import re

#: Attributes whose values people read (or hear, from a screen reader).
SPOKEN_ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "aria-description"})
LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
#: Elements without content or end tag.
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class VisibleText(html.parser.HTMLParser):
    """Collects, in document order, each piece of readable text that has a letter in it.

    An element with a `lang` of its own below the page's root (a language's own name in a
    language switch, say) is in that language on purpose: its text is left out.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        #: While text is left out (inside script, style or another language): the elements
        #: open since then, innermost last; it is read again once the first of them closes.
        self._skipped: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if self._skipped:
            if tag not in VOID_ELEMENTS:
                self._skipped.append(tag)  # nested: its end tag must not end the skipping
            return
        if tag in ("script", "style") or (tag != "html" and named.get("lang")):
            if tag not in VOID_ELEMENTS:  # a void element holds no text to leave out
                self._skipped.append(tag)
            return
        for name, value in attrs:
            if name in SPOKEN_ATTRIBUTES and value and LETTERS.search(value):
                self.found.append(f"{name}={value!r}")
        value = named.get("value")
        if tag == "input" and value and named.get("type") in ("submit", "button"):
            self.found.append(f"value={value!r}")

    def handle_endtag(self, tag: str) -> None:
        if self._skipped and self._skipped[-1] == tag:
            self._skipped.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipped and LETTERS.search(data):
            self.found.append(data.strip())


def visible_text(source: str) -> list[str]:
    parser = VisibleText()
    parser.feed(source)
    parser.close()
    return parser.found
