"""The switch in every page's header: a reader chooses their language, pages follow at once,
and a reader who is also notified (linked to a person) gets notifications in it too."""

from __future__ import annotations

import argparse

import psycopg
import pytest
from fastapi.testclient import TestClient

from api import cli
from store.access.users import NewUser
from store.settings import StoreSettings
from tests.api.pages.browser_session import PASSWORD, csrf_of, log_in
from tests.api.world import World


def _languages(url: str, user_id: str) -> tuple[str | None, str | None]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT u.language, p.language FROM users u LEFT JOIN people p ON p.id = u.person_id"
            " WHERE u.id = %s",
            (user_id,),
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def _switch(client: TestClient, form: dict[str, str]) -> tuple[int, str]:
    response = client.post("/language", data=form, follow_redirects=False)
    return response.status_code, response.headers.get("location", "")


def test_a_volunteer_switches_to_english_and_back(world: World, client: TestClient) -> None:
    client.headers["Accept-Language"] = "zh-CN"
    csrf = log_in(client, "volunteer")
    page = client.get("/my").text
    assert '<html lang="zh-CN">' in page
    assert 'name="language" value="en" lang="en"' in page  # the switch offers English

    back = "/my?done=commented"
    assert _switch(client, {"csrf_token": csrf, "language": "en", "next": back}) == (303, back)
    page = client.get("/my").text
    assert '<html lang="en">' in page and "My care alerts" in page
    assert 'value="zh-CN" lang="zh-CN" class="link-button">中文</button>' in page
    # The volunteer is notified as the person alpha-mine-volunteer: one language for both.
    assert _languages(world.url, "volunteer") == ("en", "en")

    assert _switch(client, {"csrf_token": csrf, "language": "zh-CN", "next": "/my"})[0] == 303
    assert '<html lang="zh-CN">' in client.get("/my").text
    assert _languages(world.url, "volunteer") == ("zh-CN", "zh-CN")


def test_a_user_who_is_nobody_notified_changes_only_their_pages(
    world: World, client: TestClient
) -> None:
    client.headers["Accept-Language"] = "en"
    csrf = log_in(client, "admin")
    assert _switch(client, {"csrf_token": csrf, "language": "zh-CN", "next": "/alerts"}) == (
        303,
        "/alerts",
    )
    assert '<html lang="zh-CN">' in client.get("/alerts").text  # over the browser's English
    assert _languages(world.url, "admin") == ("zh-CN", None)


def test_a_wrong_switch_changes_nothing(world: World, client: TestClient) -> None:
    client.headers["Accept-Language"] = "en"
    csrf = log_in(client, "manager")
    before = _languages(world.url, "manager")
    forged = client.post("/language", data={"language": "en", "next": "/"})
    assert forged.status_code == 403 and '<html lang="en">' in forged.text  # no CSRF token
    unknown = client.post("/language", data={"csrf_token": csrf, "language": "fr"})
    assert unknown.status_code == 422 and "<li>Language</li>" in unknown.text
    assert _languages(world.url, "manager") == before
    # Back to a page of this site only, never to another one.
    assert _switch(client, {"csrf_token": csrf, "language": "en", "next": "//evil.example/"}) == (
        303,
        "/",
    )


def test_the_switch_is_on_every_page_with_its_token(world: World, client: TestClient) -> None:
    csrf = log_in(client, "manager")
    page = client.get("/sites/alpha").text
    switch = page[page.index('action="/language"') : page.index("</form>", page.index("/language"))]
    assert csrf_of(switch) == csrf
    assert 'name="next" value="/sites/alpha"' in switch


def test_an_operator_can_give_a_new_user_their_language(world: World, client: TestClient) -> None:
    store = StoreSettings(url=world.url)
    cli.add_user(
        store, NewUser(user_id="lin", name="Lin", role="admin", language="en"), password=PASSWORD
    )
    client.headers["Accept-Language"] = "zh-CN"
    log_in(client, "lin")
    assert '<html lang="en">' in client.get("/alerts").text
    assert _languages(world.url, "lin") == ("en", None)


@pytest.mark.parametrize(("given", "ok"), [("zh-CN", True), ("en", True), ("fr", False)])
def test_users_add_takes_only_the_languages_there_are(given: str, ok: bool) -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    cli.add_user_arguments(parser)
    command = ["lin", "--role", "admin", "--language", given]
    if ok:
        assert parser.parse_args(command).language == given
    else:
        with pytest.raises(argparse.ArgumentError):
            parser.parse_args(command)
