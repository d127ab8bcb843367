"""The alert table's address: its filters, sort and page as query parameters, read into the
store's TableFilter and Sort, and written back into links (sorting, paging, export) that keep
every filter, so that a view can be shared, bookmarked and gone back to.

The filter form sends every field, empty ones as `name=`: an empty field is no filter, never
an invalid address. A value that is not valid is a 422 page naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from api import pagination
from api.errors import ApiError
from api.schemas.common import ID_PATTERN
from i18n.languages import translations
from store.alerts import alert_table

#: Status choices of the filter and the statuses each stands for.
STATUSES: dict[str, tuple[str, ...] | None] = {
    "unresolved": ("open", "acknowledged"),
    "open": ("open",),
    "acknowledged": ("acknowledged",),
    "resolved": ("resolved",),
    "all": None,
}
SEVERITIES = ("critical", "warning", "info")
CATEGORIES = ("maintenance", "care", "security")
DEFAULT_SORT = "-raised"
_ID = re.compile(ID_PATTERN)
_TEXT_MAX = 200

Param = Annotated[str, Query(max_length=_TEXT_MAX)]


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """What the address asks for, checked; `params()` writes it back."""

    site: str = ""
    status: str = "unresolved"
    severity: str = ""
    category: str = ""
    #: "site/building"
    building: str = ""
    since: date | None = None
    until: date | None = None
    text: str = ""
    sort: str = DEFAULT_SORT
    after: str = ""

    @property
    def sort_key(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def params(self, **changes: str) -> dict[str, str]:
        """The non-default parameters, with `changes`; a change of anything but the page starts
        again at the first page."""
        values = {
            "site": self.site,
            "status": "" if self.status == "unresolved" else self.status,
            "severity": self.severity,
            "category": self.category,
            "building": self.building,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
            "q": self.text,
            "sort": "" if self.sort == DEFAULT_SORT else self.sort,
            "after": self.after,
        }
        if changes and "after" not in changes:
            values["after"] = ""
        values.update(changes)
        return {k: v for k, v in values.items() if v}

    def query_string(self, **changes: str) -> str:
        return urlencode(self.params(**changes))

    def sort_link(self, key: str) -> str:
        """The sort a column's heading offers: its own column reversed, or a new one (times
        and severity newest / worst first, the rest A to Z)."""
        if self.sort_key == key:
            return key if self.descending else f"-{key}"
        return f"-{key}" if key in ("raised", "changed", "severity") else key

    def without_page(self) -> AlertQuery:
        return replace(self, after="")


def _refuse(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": "value"}])


def _choice(field: str, value: str, choices: tuple[str, ...] | list[str]) -> str:
    if value and value not in choices:
        raise _refuse(field, "not one of the choices")
    return value


def _day(field: str, value: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _refuse(field, "not a date (YYYY-MM-DD)") from None
    if not 1970 <= day.year <= 2200:
        raise _refuse(field, "not a plausible date")
    return day


def read_query(
    site: Param = "",
    status: Param = "",
    severity: Param = "",
    category: Param = "",
    building: Param = "",
    from_: Annotated[str, Query(alias="from", max_length=20)] = "",
    to: Annotated[str, Query(max_length=20)] = "",
    q: Param = "",
    sort: Param = "",
    after: Annotated[str, Query(max_length=1000)] = "",
) -> AlertQuery:
    """The alert table's parameters (a FastAPI dependency)."""
    if site and not _ID.match(site):
        raise _refuse("site", "not a site id")
    site_part, _, building_part = building.partition("/")
    if building and not (_ID.match(site_part) and _ID.match(building_part)):
        raise _refuse("building", "not a building")
    since, until = _day("from", from_), _day("to", to)
    if since and until and since > until:
        raise _refuse("to", "before the start")
    sort = sort or DEFAULT_SORT
    if sort.removeprefix("-") not in alert_table.SORTS:
        raise _refuse("sort", "not a column")
    text = q.strip()
    if "\x00" in text:
        raise _refuse("q", "not text")
    return AlertQuery(
        site=site,
        status=_choice("status", status, list(STATUSES)) or "unresolved",
        severity=_choice("severity", severity, SEVERITIES),
        category=_choice("category", category, CATEGORIES),
        building=building,
        since=since,
        until=until,
        text=text,
        sort=sort,
        after=after,
    )


def matching_summaries(text: str, keys: list[str], language: str) -> list[str]:
    """The summary templates whose words (the reader's, or the English ones) hold `text`."""
    wanted = text.casefold()
    tr = translations(language)
    return [k for k in keys if wanted in k.casefold() or wanted in tr.gettext(k).casefold()]


def table_filter(query: AlertQuery, summary_keys: Collection[str] = ()) -> alert_table.TableFilter:
    site, _, building = query.building.partition("/")
    return alert_table.TableFilter(
        statuses=STATUSES[query.status],
        severity=query.severity or None,
        category=query.category or None,
        site_id=query.site or None,
        building=(site, building) if query.building else None,
        since=query.since,
        until=query.until,
        text=query.text or None,
        summary_keys=summary_keys,
    )


def table_sort(query: AlertQuery) -> alert_table.Sort:
    return alert_table.Sort(query.sort_key, query.descending)


def position(query: AlertQuery) -> tuple[object, int] | None:
    """Where the page starts: (sort value, id) of the previous page's last row."""
    if not query.after:
        return None
    try:
        value, alert_id = pagination.decode(
            query.after, [alert_table.SORT_TYPES[query.sort_key], int]
        )
    except ApiError:
        raise _refuse("after", "not a page of this list") from None
    return value, int(str(alert_id))


def cursor(row: alert_table.TableRow) -> str:
    value = row.sort_value
    assert isinstance(value, str | int | datetime)
    return pagination.encode([value, row.alert.id])
