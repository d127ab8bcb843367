"""The dashboard in the reader's language: the gettext callables and formatting filters of the
pages' Jinja2 environment, answering in the language of the page being rendered.

The environment is shared; the language is not. `speaking(language)` sets it in a context
variable around one render (Starlette renders a TemplateResponse synchronously when it is
built), and the callables installed once in the environment read it. A context variable rather
than template context: macros imported without context (`{% import "_labels.html" as label %}`)
and filters see the environment's globals, not the page's variables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from i18n import labels, summaries
from i18n.given_names import pick
from i18n.languages import SOURCE_LANGUAGE, translations
from i18n.localformat import local_datetime, measurement, measurement_pattern, number
from store.alerts.records import Alert

_language: ContextVar[str] = ContextVar("courtyard_page_language", default=SOURCE_LANGUAGE)


@contextmanager
def speaking(language: str) -> Iterator[str]:
    """Render pages in `language` within the block."""
    token = _language.set(language)
    try:
        yield language
    finally:
        _language.reset(token)


def current() -> str:
    return _language.get()


def _gettext(message: str) -> str:
    return translations(_language.get()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


def _pgettext(context: str, message: str) -> str:
    return translations(_language.get()).pgettext(context, message)


def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).npgettext(context, singular, plural, n)


def install(env: jinja2.Environment) -> None:
    """gettext for `_()` and `{% trans %}` (newstyle: named placeholders) and the filters."""
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    env.filters["localtime"] = localtime
    env.filters["number"] = number_filter
    env.filters["measure"] = measure
    env.filters["measure_pattern"] = measure_pattern
    env.filters["metric_label"] = metric_label
    env.filters["kind_label"] = kind_label
    env.filters["role_label"] = role_label
    env.filters["room_label"] = room_label
    env.filters["contact_label"] = contact_label
    env.filters["summary"] = summary
    env.filters["subject_name"] = subject_name
    env.filters["device_name"] = device_name


def _zone(name: str | None) -> str:
    try:
        ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name or "UTC"


def localtime(value: datetime | None, zone: str | None) -> str:
    """`value` (UTC in storage) on the clock of the IANA `zone`, written the reader's way.

    Pages name their zone once; a zone that changes its clock also gets the UTC offset beside
    each time, so the two 02:30 of a fall-back night read differently.
    """
    if value is None:
        return ""
    name = _zone(zone)
    text = local_datetime(value, name, _language.get())
    if not _has_dst(value, name):
        return text
    offset = value.astimezone(ZoneInfo(name)).utcoffset() or timedelta(0)
    return f"{text} ({_utc_offset(offset)})"


def number_filter(value: float | None) -> str:
    """A reading for people, in the reader's digits: at most two decimals."""
    return "" if value is None else number(value, _language.get())


def measure(value: float | None, metric: str | None) -> str:
    """A reading with the unit its metric's name ends in ("81.5%", "12.5千瓦时")."""
    return "" if value is None else measurement(value, metric, _language.get())


def measure_pattern(metric: str | None) -> str:
    """How the browser writes a value of `metric`: "{value}" where its number goes."""
    return measurement_pattern(metric, _language.get())


def metric_label(metric: str) -> str:
    """What people call a metric ("水位" for `level_pct`); a name we do not know as it is."""
    return labels.label(metric, translations(_language.get()))


def kind_label(kind: str | None) -> str:
    return "" if kind is None else labels.kind_label(kind, translations(_language.get()))


def role_label(role: str | None) -> str:
    return "" if role is None else labels.role_label(role, translations(_language.get()))


def room_label(room: str) -> str:
    return labels.room_label(room, translations(_language.get()))


def contact_label(field: str) -> str:
    return labels.contact_label(field, translations(_language.get()))


def summary(alert: Alert) -> str:
    """The alert's summary in the reader's language, numbers and units their way, its devices
    and household by the names people gave them (read with the alert: store.alerts.named)."""
    return summaries.render(
        alert.summary_key,
        alert.summary_args,
        _language.get(),
        alert.device_names,
        alert.household_labels,
    )


def subject_name(alert: Alert) -> str:
    """What the alert is about as people call it: its device's name, its household's label,
    else the subject id."""
    return alert.subject_name(_language.get())


class NamedDevice(Protocol):
    device_key: str
    name: str | None
    names: dict[str, str]


def device_name(device: NamedDevice) -> str:
    """A device as people call it in the reader's language, else its id."""
    return pick(device.name, device.names, _language.get()) or device.device_key


def _has_dst(at: datetime, zone: str) -> bool:
    tz = ZoneInfo(zone)
    year = at.astimezone(tz).year
    winter = datetime(year, 1, 1, tzinfo=tz).utcoffset()
    summer = datetime(year, 7, 1, tzinfo=tz).utcoffset()
    return winter != summer


def _utc_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
