"""The engine's snapshot of places: device kinds, households and their devices (with the role
each plays there), time zones.

Rules that need more than a series (a household's sensors and their roles, a site's local time,
a device's kind or role for a scope) receive a `Directory` when they are built; it is plain
data, so tests build one by hand. `load` reads it from the store.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import time

import psycopg
from psycopg.rows import TupleRow

from store.devices.roles import household_roles
from store.places import directory as store_directory

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    site: str
    device: str
    kind: str | None = None
    household: str | None = None
    online: bool | None = None
    #: Its role in its household (store.devices.catalogue.Role: people's, else the suggestion,
    #: else its kind's); None outside a household or when nothing is known of it.
    role: str | None = None
    #: The room of a door or motion role (`bedroom`, `fridge` ...), when known.
    role_room: str | None = None


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

    def role_of(self, site: str, device: str) -> str | None:
        info = self.devices.get((site, device))
        return None if info is None else info.role

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
                by_key[(h.site, dev)] = (
                    DeviceInfo(h.site, dev, household=h.id)
                    if old is None
                    else replace(old, household=h.id)
                )
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
        roles = {(r.site_id, r.device_key): r for r in household_roles(conn, site_ids)}

    def info(site: str, device: str, kind: str | None, online: bool | None) -> DeviceInfo:
        role = roles.get((site, device))
        return DeviceInfo(
            site, device, kind, None, online,
            None if role is None else role.role, None if role is None else role.role_room,
        )  # fmt: skip

    known = {(d.site_id, d.device_key) for d in devices}
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
        # A household device listed before it first spoke has no devices row, but may have a
        # role people gave it.
        devices=[info(d.site_id, d.device_key, d.kind, d.online) for d in devices]
        + [info(s, d, None, None) for (s, d) in roles if (s, d) not in known],
        site_timezones={s.id: s.timezone for s in sites},
    )
