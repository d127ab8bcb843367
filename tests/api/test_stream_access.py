"""An open alert stream outlives no revocation: it closes when the caller's token is revoked or
expires, their session ends, they are deactivated or their sites change, and it delivers nothing
after that. Real uvicorn server, real SSE clients; access changes made the way operators make
them (the API, the command line, or straight in the database, where no notification comes)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import psycopg
import pytest

from api import cli
from api.app import create_app
from api.feed import LISTENER_NAME
from api.settings import ApiSettings
from store.alerts import transitions
from store.settings import StoreSettings
from tests.api.conftest import bearer
from tests.api.live import serve_in_thread
from tests.api.rule_service import ThresholdRuleService
from tests.api.world import NOW, PASSWORD, World
from tests.support.waiting import wait_for

V = "/api/v1"
#: How long a stream may take to close once access ended (a few re-check intervals).
CLOSES_WITHIN_S = 10.0


class StreamReader(threading.Thread):
    """Reads one SSE stream until the server ends it."""

    def __init__(self, url: str, headers: dict[str, str], cookies: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.cookies = url, headers, cookies
        self.status: int | None = None
        self.ids: list[int] = []
        self.connected = threading.Event()
        self.ended = threading.Event()

    def run(self) -> None:
        try:
            with httpx.stream(
                "GET", self.url, headers=self.headers, cookies=self.cookies, timeout=60
            ) as response:
                self.status = response.status_code
                self.connected.set()
                for line in response.iter_lines():
                    if line.startswith("id:"):
                        self.ids.append(int(line.removeprefix("id:").strip()))
        except httpx.HTTPError:
            pass  # ended either way
        finally:
            self.connected.set()
            self.ended.set()


@contextmanager
def _server(database_url: str, world: World, recheck_s: float) -> Iterator[str]:
    settings = ApiSettings(
        pool_min_size=1,
        pool_max_size=4,
        auth_cache_s=0,
        cookie_secure=False,  # plain http on loopback: the client must send the cookie
        stream_ping_s=1,
        stream_recheck_s=recheck_s,
    )
    app = create_app(
        settings, StoreSettings(url=database_url), rule_service=ThresholdRuleService(database_url)
    )
    with serve_in_thread(app) as base:
        wait_for(lambda: _listening(database_url), timeout_s=20, what="the alert feed to listen")
        yield base


def _listening(url: str) -> bool:
    # Past its LISTENs: from now on no change is missed. Only this test's database: on a shared
    # server (COURTYARD_TEST_DATABASE_URL) other tests' API listeners run beside it.
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s AND state = 'idle' AND query NOT LIKE 'LISTEN%%'",
            (LISTENER_NAME,),
        ).fetchone()
    return row is not None and row[0] == 1


def _open(base: str, headers: dict[str, str], cookies: dict[str, str]) -> StreamReader:
    reader = StreamReader(f"{base}{V}/stream", headers, cookies)
    reader.start()
    assert reader.connected.wait(20)
    assert reader.status == 200
    return reader


def _raise_alpha_alert(url: str) -> int:
    with psycopg.connect(url) as conn:
        _, change = transitions.raise_or_repeat(
            conn,
            dedup_key="stream-access:alpha-facility-pump",
            rule_id="stream-access",
            site_id="alpha",
            subject="alpha-facility-pump",
            household_id=None,
            category="maintenance",
            severity="critical",
            summary_key="{subject} raised in the stream test",
            summary_args={"subject": "alpha-facility-pump"},
            value=None,
            metric=None,
            at=NOW + timedelta(seconds=1),
            actor="rule:stream-access",
        )
    return change.id


def _sql(url: str, statement: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(statement)


def _revoke_through_the_api(base: str, world: World, url: str, session: dict[str, str]) -> None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(id) FROM api_tokens WHERE user_id = 'manager'").fetchone()
    assert row is not None
    admin = bearer(world.tokens["admin"])
    assert httpx.delete(f"{base}{V}/tokens/{row[0]}", headers=admin).status_code == 204


def _deactivate_on_the_command_line(
    base: str, world: World, url: str, session: dict[str, str]
) -> None:
    assert cli.deactivate_user(StoreSettings(url=url), "manager") is not None


def _log_out(base: str, world: World, url: str, session: dict[str, str]) -> None:
    me = httpx.get(f"{base}{V}/me", cookies=session).json()
    out = httpx.delete(
        f"{base}{V}/session", cookies=session, headers={"X-CSRF-Token": me["csrf_token"]}
    )
    assert out.status_code == 204, out.text


def _expire_the_token(base: str, world: World, url: str, session: dict[str, str]) -> None:
    _sql(url, "UPDATE api_tokens SET expires_at = now() WHERE user_id = 'manager'")


def _move_to_another_site(base: str, world: World, url: str, session: dict[str, str]) -> None:
    _sql(url, "UPDATE user_sites SET site_id = 'beta' WHERE user_id = 'manager'")


Ending = Callable[[str, World, str, dict[str, str]], None]
#: (how access ends, whether the stream uses the session, how often streams re-check).
ENDINGS: dict[str, tuple[Ending, bool, float]] = {
    # These notify every API process: the stream closes without waiting for its next re-check.
    "token revoked through the API": (_revoke_through_the_api, False, 60),
    "user deactivated on the command line": (_deactivate_on_the_command_line, True, 60),
    "session logged out": (_log_out, True, 60),
    # Nothing notifies these: the periodic re-check finds them.
    "token expired": (_expire_the_token, False, 0.5),
    "sites changed": (_move_to_another_site, False, 0.5),
}


@pytest.mark.parametrize("ending", ENDINGS, ids=list(ENDINGS))
def test_a_stream_closes_when_access_ends(database_url: str, world: World, ending: str) -> None:
    end_access, by_session, recheck_s = ENDINGS[ending]
    with _server(database_url, world, recheck_s) as base:
        session: dict[str, str] = {}
        headers = {}
        if by_session:
            login = httpx.post(
                f"{base}{V}/session", json={"user_id": "manager", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            session = {"courtyard_session": login.cookies["courtyard_session"]}
        else:
            headers = bearer(world.tokens["manager"])
        reader = _open(base, headers, session)
        delivered = _raise_alpha_alert(database_url)
        wait_for(lambda: reader.ids == [delivered], timeout_s=20, what="the first alert")

        end_access(base, world, database_url, session)
        assert reader.ended.wait(CLOSES_WITHIN_S), f"the stream outlived: {ending}"
        assert reader.ids == [delivered]


def test_every_delivery_rechecks_the_caller(database_url: str, world: World) -> None:
    """A change committed after the token was revoked (with no notification of it, and no
    periodic re-check due) is not delivered: the stream closes instead."""
    with _server(database_url, world, recheck_s=60) as base:
        reader = _open(base, bearer(world.tokens["manager"]), {})
        _sql(database_url, "UPDATE api_tokens SET revoked_at = now() WHERE user_id = 'manager'")
        _raise_alpha_alert(database_url)
        assert reader.ended.wait(CLOSES_WITHIN_S), "the stream outlived its revoked token"
        assert reader.ids == []


def test_a_last_event_id_that_is_no_change_id_is_refused(database_url: str, world: World) -> None:
    """Over a real connection: "²" arrives as the byte 0xB2, read back as Latin-1, and
    str.isdigit() holds for it while int() refuses it."""
    with _server(database_url, world, recheck_s=5) as base:
        for value in ("\u00b2", "1\u00b9", "99999999999999999999", "abc", "-1"):
            headers = [
                (b"Authorization", f"Bearer {world.tokens['manager']}".encode()),
                (b"Last-Event-ID", value.encode("latin-1")),
            ]
            response = httpx.get(f"{base}{V}/stream", headers=headers, timeout=20)
            assert response.status_code == 400, (value, response.text)
            assert response.json()["error"]["fields"][0]["field"] == "header.Last-Event-ID"
