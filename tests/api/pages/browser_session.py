"""Dashboard sessions in TestClient tests: log in through the login form, read CSRF tokens."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

PASSWORD = "correct horse"
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200, page.text
    match = _LOGIN_TOKEN.search(page.text)
    assert match, page.text
    return match.group(1)


def log_in(client: TestClient, user_id: str, password: str = PASSWORD, next_url: str = "/") -> str:
    """Log `client` in as `user_id` through the form; returns the session's CSRF token."""
    client.cookies.clear()
    token = login_token(client)
    response = client.post(
        "/login",
        data={"user_id": user_id, "password": password, "login_token": token, "next": next_url},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/", follow_redirects=True).text)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match and match.group(1), "no CSRF token in the page"
    return match.group(1)
