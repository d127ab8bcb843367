"""Rule definitions: list, read, create or replace (validated by the rules engine), enable,
disable, delete, and backtest over stored history.

A rule bound to a site is the business of those who see that site; a rule for every site
(`site_id` null) can be read by anyone who reads rules and changed only by a caller who sees
every site.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api.auth.principals import Principal
from api.deps import DbConn, Res, RulesReader, RulesWriter
from api.errors import ApiError, invalid, not_found
from api.params import RuleId, SiteFilter
from api.schemas.common import ID_PATTERN, error_responses
from api.schemas.rules import (
    BacktestRequest,
    BacktestResult,
    BacktestSignalPublic,
    NotifyPolicy,
    RuleBody,
    RulePublic,
)
from api.services import RuleService
from store.places import place_reads
from store.rules import rule_edits
from store.rules.rule_defs import RuleRecord, StoredRule

router = APIRouter(prefix="/rules", tags=["rules"], responses=error_responses(400, 401, 403, 422))

#: Longest backtest: it replays raw history, which is kept for the retention period anyway.
_MAX_BACKTEST_DAYS = 366


def rule_public(row: StoredRule) -> RulePublic:
    return RulePublic(
        id=row.id,
        kind=row.kind,
        site_id=row.site_id,
        description=row.description,
        scope=row.scope,
        params=row.params,
        category=row.category,  # type: ignore[arg-type]  # CHECK-constrained codes
        severity=row.severity,  # type: ignore[arg-type]
        enabled=row.enabled,
        auto_resolve=row.auto_resolve,
        # A stored policy may leave keys out (the column's default is {}): they mean the
        # defaults, to the engine as here.
        notify=NotifyPolicy.model_validate(row.notify),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _service(res: Res) -> RuleService:
    if res.rule_service is None:
        raise ApiError(503, "Rule validation is not available in this process.")
    return res.rule_service


async def _visible_rule(conn: DbConn, user: Principal, rule_id: str) -> StoredRule:
    row = await rule_edits.get_rule(conn, user.visibility, rule_id)
    if row is None:
        raise not_found("Rule")
    return row


def _may_change(user: Principal, row_site: str | None) -> bool:
    if row_site is None:
        return user.visibility.all_sites
    return user.visibility.allows_site(row_site) and user.visibility.households is None


@router.get("", response_model=list[RulePublic])
async def list_rules(
    conn: DbConn,
    user: RulesReader,
    site: SiteFilter = None,
    kind: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    enabled: bool | None = None,
) -> list[RulePublic]:
    """Rule definitions the caller may see, by id."""
    rows = await rule_edits.list_rules(
        conn, user.visibility, site_id=site, kind=kind, enabled=enabled
    )
    return [rule_public(r) for r in rows]


@router.get("/{rule_id}", response_model=RulePublic, responses=error_responses(404))
async def get_rule(conn: DbConn, user: RulesReader, rule_id: RuleId) -> RulePublic:
    """One rule definition."""
    return rule_public(await _visible_rule(conn, user, rule_id))


@router.put(
    "/{rule_id}",
    response_model=RulePublic,
    responses={201: {"model": RulePublic, "description": "Created."}, **error_responses(404, 503)},
)
async def put_rule(
    conn: DbConn, res: Res, user: RulesWriter, rule_id: RuleId, body: RuleBody, response: Response
) -> RulePublic:
    """Create a rule, or replace its whole definition: a field left out takes its default (as
    in a rules file), not the value stored before, and `enabled` is set too. The rules engine
    validates it first: a problem answers 422 naming the field (`body.params.above`,
    `body.notify.escalate_after_s`). Engines pick changes up on their next reload."""
    existing = await rule_edits.get_rule(conn, user.visibility, rule_id)
    if existing is None and await rule_edits.exists(conn, rule_id):
        raise not_found("Rule")  # someone else's: as if it did not exist, but not writable
    if existing is not None and not _may_change(user, existing.site_id):
        raise not_found("Rule")
    if not _may_change(user, body.site_id):
        if body.site_id is None:
            raise invalid("body.site_id", "only a caller who sees every site may set no site")
        raise invalid("body.site_id", "no such site")
    if body.site_id is not None and not await place_reads.site_exists(conn, body.site_id):
        raise invalid("body.site_id", "no such site")
    record = RuleRecord(
        id=rule_id,
        kind=body.kind,
        site_id=body.site_id,
        description=body.description,
        category=body.category,
        severity=body.severity,
        enabled=body.enabled,
        scope=body.scope,
        params=body.params,
        auto_resolve=body.auto_resolve,
        notify=body.notify.model_dump(mode="json"),
    )
    problems = await run_in_threadpool(_service(res).validate, record)
    if problems:
        raise ApiError(
            422,
            "The rule definition is invalid.",
            fields=[(f"body.{p.field}", p.message) for p in problems],
        )
    row, created = await rule_edits.put_rule(conn, record)
    if created:
        response.status_code = 201
    return rule_public(row)


async def _set_enabled(conn: DbConn, user: Principal, rule_id: str, enabled: bool) -> RulePublic:
    row = await _visible_rule(conn, user, rule_id)
    if not _may_change(user, row.site_id):
        raise not_found("Rule")
    await rule_edits.set_enabled(conn, rule_id, enabled)
    return rule_public(await _visible_rule(conn, user, rule_id))


@router.post("/{rule_id}/enable", response_model=RulePublic, responses=error_responses(404))
async def enable_rule(conn: DbConn, user: RulesWriter, rule_id: RuleId) -> RulePublic:
    """Enable a rule (idempotent)."""
    return await _set_enabled(conn, user, rule_id, True)


@router.post("/{rule_id}/disable", response_model=RulePublic, responses=error_responses(404))
async def disable_rule(conn: DbConn, user: RulesWriter, rule_id: RuleId) -> RulePublic:
    """Disable a rule (idempotent); its open alerts stay until someone resolves them."""
    return await _set_enabled(conn, user, rule_id, False)


@router.delete("/{rule_id}", status_code=204, responses=error_responses(404))
async def delete_rule(conn: DbConn, user: RulesWriter, rule_id: RuleId) -> Response:
    """Delete a rule definition. Its alerts stay, with their history."""
    row = await _visible_rule(conn, user, rule_id)
    if not _may_change(user, row.site_id):
        raise not_found("Rule")
    await rule_edits.delete_rule(conn, rule_id)
    return Response(status_code=204)


@router.post(
    "/{rule_id}/backtest", response_model=BacktestResult, responses=error_responses(404, 503)
)
async def backtest(
    conn: DbConn, res: Res, user: RulesReader, rule_id: RuleId, body: BacktestRequest
) -> BacktestResult:
    """Run the rule over stored history in [start, end) from a fresh state, and return the
    signals it would have emitted (nothing is stored). At most a year at a time."""
    row = await _visible_rule(conn, user, rule_id)
    if body.start >= body.end:
        raise invalid("body.start", "must be before end")
    if (body.end - body.start).days > _MAX_BACKTEST_DAYS:
        raise invalid("body.end", f"a backtest covers at most {_MAX_BACKTEST_DAYS} days")
    service = _service(res)
    try:
        signals = await run_in_threadpool(service.backtest, row, body.start, body.end)
    except ValueError as exc:
        raise ApiError(409, f"The rule cannot be backtested: {exc}") from None
    visible = [s for s in signals if user.visibility.allows_site(s.site_id)]
    return BacktestResult(
        rule_id=rule_id,
        start=body.start,
        end=body.end,
        signals=[
            BacktestSignalPublic(
                at=s.at,
                site_id=s.site_id,
                subject=s.subject,
                state=s.state,
                value=s.value,
                metric=s.metric,
                summary=s.summary,
            )
            for s in visible
        ],
    )
