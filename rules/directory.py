"""The engine's snapshot of places: device kinds, households and their devices, time zones.

Rules that need more than a series (a household's sensors, a site's local time, a device's kind
for a scope) receive a `Directory` when they are built; it is plain data, so tests build one by
hand. `load` reads it from the store.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import time

import psycopg
from psycopg.rows import TupleRow

from store.places import directory as store_directory

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    site: str
    device: str
    kind: str | None = None
    household: str | None = None
    online: bool | None = None


@dataclass(frozen=True, slots=True)
class HouseholdInfo:
    site: str
    id: str
    label: str = ""
    #: IANA zone: the household's own, else its site's.
    timezone: str = DEFAULT_TIMEZONE
    #: Local quiet hours (start > end spans midnight); None when the household has none.
    quiet_start: time | None = None
    quiet_end: time | None = None
    devices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Directory:
    devices: Mapping[tuple[str, str], DeviceInfo] = field(default_factory=dict)
    households: Mapping[tuple[str, str], HouseholdInfo] = field(default_factory=dict)
    site_timezones: Mapping[str, str] = field(default_factory=dict)

    def device(self, site: str, device: str) -> DeviceInfo | None:
        return self.devices.get((site, device))

    def household_of(self, site: str, device: str) -> str | None:
        info = self.devices.get((site, device))
        return None if info is None else info.household

    def kind_of(self, site: str, device: str) -> str | None:
        info = self.devices.get((site, device))
        return None if info is None else info.kind

    def timezone_of(self, site: str) -> str:
        return self.site_timezones.get(site, DEFAULT_TIMEZONE)

    @classmethod
    def of(
        cls,
        households: Collection[HouseholdInfo] = (),
        devices: Collection[DeviceInfo] = (),
        site_timezones: Mapping[str, str] | None = None,
    ) -> Directory:
        """Build a directory; household membership from `households[].devices` is merged into
        the device entries (a device listed by a household but not yet seen gets an entry)."""
        by_key = {(d.site, d.device): d for d in devices}
        for h in households:
            for dev in h.devices:
                old = by_key.get((h.site, dev))
                by_key[(h.site, dev)] = DeviceInfo(
                    h.site, dev, None if old is None else old.kind, h.id,
                    None if old is None else old.online,
                )  # fmt: skip
        return cls(
            devices=by_key,
            households={(h.site, h.id): h for h in households},
            site_timezones=dict(site_timezones or {}),
        )


def load(conn: psycopg.Connection[TupleRow], site_ids: Collection[str] | None = None) -> Directory:
    """Read the directory of `site_ids` (every site when None) in one transaction."""
    with conn.transaction():
        sites = store_directory.sites(conn)
        devices = store_directory.devices(conn, site_ids)
        households = store_directory.households(conn, site_ids)
    return Directory.of(
        households=[
            HouseholdInfo(
                h.site_id,
                h.id,
                h.label,
                h.timezone,
                h.quiet_start,
                h.quiet_end,
                tuple(h.devices),
            )  # fmt: skip
            for h in households
        ],
        devices=[DeviceInfo(d.site_id, d.device_key, d.kind, None, d.online) for d in devices],
        site_timezones={s.id: s.timezone for s in sites},
    )
