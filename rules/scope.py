"""Which devices a rule watches: sites, device kinds, device ids (or glob patterns), households,
household roles (`front_door`, `bed` ... of store.devices.catalogue.Role).

Each non-empty field narrows the scope and the fields combine with AND; within a field any entry
matches (OR). An empty field places no limit, so the empty `Scope()` is everything, and filtering
with it returns the view unchanged without looking at it.

Device kinds, household membership and roles come from the `Directory` the rule was compiled
with: a device the directory does not know yet has no kind, household or role, so a scope naming
kinds, households or roles leaves it out until the engine reloads the directory. A device's role
is the one people gave it in its household, else Courtyard's suggestion, else its kind's
(`household_device_roles`): a household nobody configured still has roles.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Annotated

from pydantic import AfterValidator

from rules.arrays import BatchView
from rules.directory import Directory
from store.devices.catalogue import Role

_GLOB_CHARS = frozenset("*?[")


def _known_role(role: str) -> str:
    if role not in set(Role):
        raise ValueError(f"unknown role {role!r}; known: {', '.join(Role)}")
    return role


#: A household role, checked when a definition is validated (rules file, API, stored row).
RoleName = Annotated[str, AfterValidator(_known_role)]


@dataclass(frozen=True, slots=True)
class Scope:
    sites: tuple[str, ...] = ()
    device_kinds: tuple[str, ...] = ()
    #: Device ids; an entry with `*`, `?` or `[...]` is a shell-style pattern ("b0?-door-*").
    devices: tuple[str, ...] = ()
    households: tuple[str, ...] = ()
    #: Household roles (`front_door`, `bed` ...): only household devices playing one of them.
    roles: tuple[RoleName, ...] = ()

    @property
    def is_everything(self) -> bool:
        return not (
            self.sites or self.device_kinds or self.devices or self.households or self.roles
        )

    def bind(self, directory: Directory) -> BoundScope:
        """The scope's device test against one directory snapshot."""
        return BoundScope(self, directory)


class BoundScope:
    """A scope applied to a directory: `contains`, `filter` a view, `restrict` the directory.

    Answers are cached per (site, device): the directory is a snapshot, so they cannot change.
    """

    __slots__ = ("scope", "directory", "_sites", "_kinds", "_ids", "_patterns", "_households",
                 "_roles", "_cache")  # fmt: skip

    def __init__(self, scope: Scope, directory: Directory) -> None:
        self.scope = scope
        self.directory = directory
        self._sites = frozenset(scope.sites)
        self._kinds = frozenset(scope.device_kinds)
        self._ids = frozenset(d for d in scope.devices if _GLOB_CHARS.isdisjoint(d))
        self._patterns = tuple(d for d in scope.devices if not _GLOB_CHARS.isdisjoint(d))
        self._households = frozenset(scope.households)
        self._roles = frozenset(scope.roles)
        self._cache: dict[tuple[str, str], bool] = {}

    @property
    def is_everything(self) -> bool:
        return self.scope.is_everything

    def contains(self, site: str, device: str) -> bool:
        key = (site, device)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._test(site, device)
        return found

    def _test(self, site: str, device: str) -> bool:
        if self._sites and site not in self._sites:
            return False
        if (
            self.scope.devices
            and device not in self._ids
            and not any(fnmatchcase(device, p) for p in self._patterns)
        ):
            return False
        if self._kinds and self.directory.kind_of(site, device) not in self._kinds:
            return False
        if self._roles and self.directory.role_of(site, device) not in self._roles:
            return False
        return not self._households or self.directory.household_of(site, device) in self._households

    def has_household(self, site: str, household: str) -> bool:
        """A household is in scope when its site and id are (device filters do not apply)."""
        if self._sites and site not in self._sites:
            return False
        return not self._households or household in self._households

    def filter(self, view: BatchView) -> BatchView:
        """The part of `view` about devices in scope; the view itself when the scope is
        everything or when every device of it is in scope."""
        if self.is_everything:
            return view
        series = {k: s for k, s in view.series.items() if self.contains(k[0], k[1])}
        events = {k: e for k, e in view.events.items() if self.contains(k[0], k[1])}
        statuses = tuple(st for st in view.statuses if self.contains(st.site, st.device))
        if (
            len(series) == len(view.series)
            and len(events) == len(view.events)
            and len(statuses) == len(view.statuses)
        ):
            return view
        return BatchView(series=series, events=events, statuses=statuses)

    def restrict(self, directory: Directory | None = None) -> Directory:
        """The directory as a rule in this scope should see it: devices in scope, and the
        households in scope with only their devices in scope. Rules that look for silence
        (devices that sent nothing) walk the directory, so the scope must reach them there."""
        source = self.directory if directory is None else directory
        if self.is_everything:
            return source
        devices = {k: d for k, d in source.devices.items() if self.contains(*k)}
        households = {
            k: replace(h, devices=tuple(d for d in h.devices if self.contains(h.site, d)))
            for k, h in source.households.items()
            if self.has_household(*k)
        }
        return Directory(devices, households, source.site_timezones)
