"""What one API caller may see, as SQL conditions the API's queries add to their WHERE clauses.

A `Visibility` is built by the API from the caller's role and assignments; the reads the API
makes (the `*_reads` modules, charts, household states) narrow every query with it, so a row
outside it is never fetched (the API then answers 404 rather than revealing that it exists).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Visibility:
    #: Sites the caller may see; None: every site.
    sites: frozenset[str] | None = None
    #: When set, only these (site, household) pairs: their devices, their alerts, their details,
    #: and no facility data at all (a volunteer's view).
    households: frozenset[tuple[str, str]] | None = None
    #: Alert categories the caller may see; None: all of them.
    categories: frozenset[str] | None = None

    @classmethod
    def everything(cls) -> Visibility:
        return cls()

    def allows_site(self, site_id: str) -> bool:
        if self.households is not None:
            return any(site == site_id for site, _ in self.households)
        return self.sites is None or site_id in self.sites

    def allows_household(self, site_id: str, household_id: str | None) -> bool:
        if self.households is not None:
            return household_id is not None and (site_id, household_id) in self.households
        return self.allows_site(site_id)

    def allows_alert(self, site_id: str, household_id: str | None, category: str) -> bool:
        if self.categories is not None and category not in self.categories:
            return False
        return self.allows_household(site_id, household_id)

    @property
    def all_sites(self) -> bool:
        return self.sites is None and self.households is None


class Where:
    """WHERE conditions with named parameters. Fragments are constants of store modules."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.params: dict[str, object] = {}

    def add(self, fragment: str, **params: object) -> None:
        self._parts.append(fragment)
        self.params.update(params)

    def sql(self) -> str:
        return "WHERE " + " AND ".join(self._parts) if self._parts else ""


def _pairs(households: Collection[tuple[str, str]]) -> tuple[list[str], list[str]]:
    ordered = sorted(households)
    return [s for s, _ in ordered], [h for _, h in ordered]


def visible_devices(where: Where, visibility: Visibility, alias: str = "d") -> None:
    """Narrow `<alias>` (a devices row) to what `visibility` allows."""
    if visibility.sites is not None:
        where.add(f"{alias}.site_id = ANY(%(v_sites)s::text[])", v_sites=sorted(visibility.sites))
    if visibility.households is not None:
        sites, households = _pairs(visibility.households)
        where.add(
            f"""EXISTS (SELECT 1 FROM household_devices v_hd
                WHERE v_hd.site_id = {alias}.site_id AND v_hd.device_key = {alias}.device_key
                  AND (v_hd.site_id, v_hd.household_id) IN (
                      SELECT * FROM unnest(%(v_hh_sites)s::text[], %(v_hh_ids)s::text[])))""",
            v_hh_sites=sites,
            v_hh_ids=households,
        )


def visible_alerts(where: Where, visibility: Visibility, alias: str = "a") -> None:
    """Narrow `<alias>` (an alerts row) to what `visibility` allows."""
    if visibility.sites is not None:
        where.add(f"{alias}.site_id = ANY(%(v_sites)s::text[])", v_sites=sorted(visibility.sites))
    if visibility.households is not None:
        sites, households = _pairs(visibility.households)
        where.add(
            f"""({alias}.site_id, {alias}.household_id) IN (
                SELECT * FROM unnest(%(v_hh_sites)s::text[], %(v_hh_ids)s::text[]))""",
            v_hh_sites=sites,
            v_hh_ids=households,
        )
    if visibility.categories is not None:
        where.add(
            f"{alias}.category = ANY(%(v_categories)s::text[])",
            v_categories=sorted(visibility.categories),
        )


def visible_households(where: Where, visibility: Visibility, alias: str = "h") -> None:
    """Narrow `<alias>` (a households row) to what `visibility` allows."""
    if visibility.sites is not None:
        where.add(f"{alias}.site_id = ANY(%(v_sites)s::text[])", v_sites=sorted(visibility.sites))
    if visibility.households is not None:
        sites, households = _pairs(visibility.households)
        where.add(
            f"""({alias}.site_id, {alias}.id) IN (
                SELECT * FROM unnest(%(v_hh_sites)s::text[], %(v_hh_ids)s::text[]))""",
            v_hh_sites=sites,
            v_hh_ids=households,
        )


def visible_sites(where: Where, visibility: Visibility, column: str) -> None:
    """Narrow a site id column to the sites `visibility` allows."""
    if visibility.sites is not None:
        where.add(f"{column} = ANY(%(v_sites)s::text[])", v_sites=sorted(visibility.sites))
    if visibility.households is not None:
        where.add(
            f"{column} = ANY(%(v_hh_only_sites)s::text[])",
            v_hh_only_sites=sorted({site for site, _ in visibility.households}),
        )
