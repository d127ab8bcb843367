"""Residents' contact details, for the JSON API and the dashboard alike: only callers with
`residents:read` who see the household get them, and the read is in the audit log before the
details leave."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from api import metrics
from api.auth.principals import Permission, Principal
from store.access import audit_log
from store.places import place_reads


async def audited_contact(
    conn: psycopg.AsyncConnection[TupleRow],
    user: Principal,
    site_id: str,
    household_id: str,
    *,
    via: str,
) -> dict[str, object] | None:
    """The household's contact details for `user`, or None when they may not have them.
    Callers check that `user` sees the household first; `via` says how it was read."""
    if not user.can(Permission.RESIDENTS_READ):
        return None
    async with conn.transaction():
        await audit_log.record(
            conn,
            actor=user.actor,
            action="household.contact.read",
            target=f"household:{site_id}/{household_id}",
            site_id=site_id,
            details={"via": via},
        )
        contact = await place_reads.household_contact(conn, site_id, household_id)
    metrics.CONTACT_READS.inc()
    return contact
