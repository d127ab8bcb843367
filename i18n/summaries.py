"""An alert's summary in a reader's language: its template translated, its arguments formatted.

Rules store an English `str.format` template (`summary_key`, a msgid) and its arguments. For a
reader, the template comes from their catalogue; numbers are written the language's way; a
measured value (`value`, `limit`, `median`, `slope_per_h` of an alert about a metric) gets the
unit the metric's name ends in; metric and event names get their label; a device (`device`)
gets the name people gave it in the reader's language, and a household (`household`) its
label, when the caller passes them. The
notification renderer (rules) and the API and dashboard (api) show the same words.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping

from i18n.given_names import GivenName, name_of
from i18n.labels import label
from i18n.languages import translations
from i18n.localformat import measurement, number

#: Arguments that are a measurement of the alert's metric (`metric` in the same arguments),
#: or its change per hour, which reads with the same unit ("falling at 2.5% per hour").
MEASURED = frozenset({"value", "limit", "median", "clear_value", "slope_per_h"})
#: Arguments that name a metric or an event type.
NAMES = frozenset({"metric", "name"})
#: Arguments that are a device id of the alert's site.
DEVICES = frozenset({"device"})
#: Arguments that are a household id of the alert's site.
HOUSEHOLDS = frozenset({"household"})


def render(
    summary_key: str,
    summary_args: Mapping[str, object],
    language: str,
    devices: Mapping[str, GivenName] | None = None,
    households: Mapping[str, str] | None = None,
) -> str:
    """The summary for a reader of `language`; never raises. `devices` are the names people
    gave the devices of the alert's site (device id -> name); a device without one shows its id.
    `households` are households' labels by id, for the `household` argument.

    A template that does not match its arguments (a rule changed its wording) shows the
    placeholders it could not fill rather than losing the text; a template with a format spec
    (`{value:.1f}`) is filled with the raw numbers.
    """
    tr = translations(language)
    # The empty msgid is gettext's catalogue header, not a text.
    template = tr.gettext(summary_key) if summary_key else summary_key
    named = {
        key: _named(key, value, language, devices, households)
        for key, value in summary_args.items()
    }
    for args in (localized_args(named, language, tr), named):
        try:
            return template.format_map(_Lenient(args))
        except (ValueError, IndexError, AttributeError, KeyError, TypeError):
            continue
    return template


def _named(
    key: str,
    value: object,
    language: str,
    devices: Mapping[str, GivenName] | None,
    households: Mapping[str, str] | None,
) -> object:
    if key in DEVICES and isinstance(value, str):
        return name_of(value, devices, language)
    if key in HOUSEHOLDS and isinstance(value, str) and households and households.get(value):
        return households[value]
    return value


def localized_args(
    args: Mapping[str, object], language: str, tr: gettext.NullTranslations
) -> dict[str, object]:
    """The arguments as text for the reader: labels, units, the language's digits."""
    metric = args.get("metric")
    metric_name = metric if isinstance(metric, str) else None
    out: dict[str, object] = {}
    for key, value in args.items():
        if key in NAMES and isinstance(value, str):
            out[key] = label(value, tr)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            out[key] = value
        elif key in MEASURED and metric_name is not None:
            out[key] = measurement(float(value), metric_name, language)
        else:
            out[key] = number(float(value), language)
    return out


class _Lenient(dict[str, object]):
    """format_map arguments that leave an unknown placeholder as it is."""

    def __init__(self, values: Mapping[str, object]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
