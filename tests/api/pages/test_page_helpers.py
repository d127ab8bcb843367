"""Pure helpers of the pages: where a form may send the browser back to, chart ranges, and who
gets which pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from api.auth.principals import Principal, Role, permissions_for
from api.pages.access import home_of, sections
from api.pages.devices import chart_range
from api.pages.routing import safe_next
from store.access.visibility import Visibility


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/my", "/my"),
        ("/alerts/3?done=x#alert-3", "/alerts/3?done=x#alert-3"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


NOW = datetime(2024, 3, 30, 12, 0, 30, tzinfo=UTC)


def test_preset_range_ends_at_the_next_minute() -> None:
    start, end = chart_range("24h", None, None, "Asia/Shanghai", NOW) or (None, None)
    assert end == datetime(2024, 3, 30, 12, 1, tzinfo=UTC)
    assert start == datetime(2024, 3, 29, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "first", "last", "start", "end"),
    [
        # Shanghai: local midnight is 16:00 UTC the day before.
        (
            "Asia/Shanghai",
            date(2024, 3, 1),
            date(2024, 3, 1),
            datetime(2024, 2, 29, 16, tzinfo=UTC),
            datetime(2024, 3, 1, 16, tzinfo=UTC),
        ),
        # Berlin's spring-forward night: 31 March 2024 is a 23-hour local day.
        (
            "Europe/Berlin",
            date(2024, 3, 31),
            date(2024, 3, 31),
            datetime(2024, 3, 30, 23, tzinfo=UTC),
            datetime(2024, 3, 31, 22, tzinfo=UTC),
        ),
    ],
)
def test_whole_local_days(
    zone: str, first: date, last: date, start: datetime, end: datetime
) -> None:
    assert chart_range("24h", first, last, zone, NOW) == (start, end)


def test_reversed_days_are_no_range() -> None:
    assert chart_range("24h", date(2024, 3, 2), date(2024, 3, 1), "UTC", NOW) is None


def _principal(role: Role, visibility: Visibility) -> Principal:
    return Principal(
        user_id="u",
        name="U",
        role=role,
        person_id=None,
        permissions=permissions_for(role, None),
        visibility=visibility,
        via="session",
    )


VOLUNTEER = _principal(Role.VOLUNTEER, Visibility(households=frozenset({("a", "h")})))
MANAGER = _principal(Role.MANAGER, Visibility(sites=frozenset({"a", "b"})))
OPERATOR = _principal(Role.OPERATOR, Visibility(sites=frozenset({"a"})))
INTEGRATION = _principal(Role.INTEGRATION, Visibility(sites=frozenset({"a"})))


@pytest.mark.parametrize(
    ("user", "shown", "home"),
    [
        (VOLUNTEER, ["my"], "/my"),
        (MANAGER, ["sites", "alerts", "rejects"], "/sites"),
        (OPERATOR, ["rejects"], "/rejects"),
        (INTEGRATION, [], None),
    ],
)
def test_sections_and_homes(user: Principal, shown: list[str], home: str | None) -> None:
    assert sections(user) == shown
    assert home_of(user, ["a", "b"]) == home


def test_a_manager_of_one_site_lands_on_it() -> None:
    assert home_of(MANAGER, ["a"]) == "/sites/a"
