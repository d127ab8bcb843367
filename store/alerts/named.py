"""Alerts with the names people gave their devices and households, for whatever shows them.

An alert stores ids (its subject, a summary's `device` argument, its household): names change,
ids do not. Reads for readers attach the names as they are now, in one query for the devices
and one for the households of all the alerts read, so a rename shows at once in every summary,
page and notification.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import psycopg
from psycopg.rows import TupleRow

from i18n.given_names import GivenName
from store.alerts.records import Alert
from store.devices.device_names import DeviceRef, names_of, names_of_async

#: (site id, household id)
HouseholdRef = tuple[str, str]

_LABELS = """
SELECT h.site_id, h.id, h.label
FROM households h
JOIN unnest(%s::text[], %s::text[]) AS k(site_id, id) ON h.site_id = k.site_id AND h.id = k.id
"""


def device_refs(alert: Alert) -> list[DeviceRef]:
    """The devices an alert may show: its subject and its summary's `device` argument."""
    refs = [(alert.site_id, alert.subject)]
    device = alert.summary_args.get("device")
    if isinstance(device, str) and device != alert.subject:
        refs.append((alert.site_id, device))
    return refs


def _household_params(alerts: Iterable[Alert]) -> tuple[list[str], list[str]] | None:
    refs = sorted({(a.site_id, a.household_id) for a in alerts if a.household_id is not None})
    if not refs:
        return None
    return [site for site, _ in refs], [household for _, household in refs]


def _with(
    alert: Alert, found: dict[DeviceRef, GivenName], labels: dict[HouseholdRef, str]
) -> Alert:
    names = {key: found[(site, key)] for site, key in device_refs(alert) if (site, key) in found}
    label = None if alert.household_id is None else labels.get((alert.site_id, alert.household_id))
    return dataclasses.replace(alert, device_names=names, household_label=label)


def _refs(alerts: Iterable[Alert]) -> list[DeviceRef]:
    return [ref for alert in alerts for ref in device_refs(alert)]


def named(conn: psycopg.Connection[TupleRow], alerts: Sequence[Alert]) -> list[Alert]:
    found = names_of(conn, _refs(alerts))
    params = _household_params(alerts)
    rows = [] if params is None else conn.execute(_LABELS, params).fetchall()
    labels = {(site, household): label for site, household, label in rows}
    return [_with(alert, found, labels) for alert in alerts]


async def named_async(
    conn: psycopg.AsyncConnection[TupleRow], alerts: Sequence[Alert]
) -> list[Alert]:
    found = await names_of_async(conn, _refs(alerts))
    params = _household_params(alerts)
    rows = [] if params is None else await (await conn.execute(_LABELS, params)).fetchall()
    labels = {(site, household): label for site, household, label in rows}
    return [_with(alert, found, labels) for alert in alerts]
