"""What a person reads (or hears from a screen reader) in a piece of HTML: its text outside
scripts and styles, and the attributes that are spoken or shown."""

from __future__ import annotations

import html.parser
import re

#: Attributes whose values people read (or hear, from a screen reader).
SPOKEN_ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "aria-description"})
LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


class VisibleText(html.parser.HTMLParser):
    """Collects, in document order, each piece of readable text that has a letter in it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in SPOKEN_ATTRIBUTES and value and LETTERS.search(value):
                self.found.append(f"{name}={value!r}")
            if name == "value" and value and dict(attrs).get("type") in ("submit", "button"):
                self.found.append(f"value={value!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and LETTERS.search(data):
            self.found.append(data.strip())


def visible_text(source: str) -> list[str]:
    parser = VisibleText()
    parser.feed(source)
    parser.close()
    return parser.found
