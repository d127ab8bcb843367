"""The reader's own choice of language, from the switch in the header of every page.

The choice is the user's language setting (store.access.languages), which comes before the browser's
and the site's; the browser then goes back to the page it was on, now in that language.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Form
from starlette.responses import Response

from api.deps import CurrentUser, DbConn
from api.pages.routing import page_router, safe_next, see_other
from store.access import languages

router = page_router()

Choice = Literal["zh-CN", "en"]


@router.post("/language")
async def choose(
    conn: DbConn,
    user: CurrentUser,
    language: Annotated[Choice, Form()],
    next_url: Annotated[str | None, Form(alias="next", max_length=2000)] = None,
) -> Response:
    await languages.choose_language(conn, user.user_id, language)
    return see_other(safe_next(next_url))
