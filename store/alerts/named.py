"""Alerts with the names people gave their devices, for whatever shows them to people.

An alert stores device ids (its subject, a summary's `device` argument): names change, ids do
not. Reads for readers attach the names as they are now, in one query for all the alerts read,
so a rename shows at once in every summary, page and notification.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import psycopg
from psycopg.rows import TupleRow

from i18n.given_names import GivenName
from store.alerts.records import Alert
from store.devices.device_names import DeviceRef, names_of, names_of_async


def device_refs(alert: Alert) -> list[DeviceRef]:
    """The devices an alert may show: its subject and its summary's `device` argument."""
    refs = [(alert.site_id, alert.subject)]
    device = alert.summary_args.get("device")
    if isinstance(device, str) and device != alert.subject:
        refs.append((alert.site_id, device))
    return refs


def _with(alert: Alert, found: dict[DeviceRef, GivenName]) -> Alert:
    names = {key: found[(site, key)] for site, key in device_refs(alert) if (site, key) in found}
    return dataclasses.replace(alert, device_names=names)


def _refs(alerts: Iterable[Alert]) -> list[DeviceRef]:
    return [ref for alert in alerts for ref in device_refs(alert)]


def named(conn: psycopg.Connection[TupleRow], alerts: Sequence[Alert]) -> list[Alert]:
    found = names_of(conn, _refs(alerts))
    return [_with(alert, found) for alert in alerts]


async def named_async(
    conn: psycopg.AsyncConnection[TupleRow], alerts: Sequence[Alert]
) -> list[Alert]:
    found = await names_of_async(conn, _refs(alerts))
    return [_with(alert, found) for alert in alerts]
