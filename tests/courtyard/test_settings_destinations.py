"""COURTYARD_NOTIFY__ALLOWED_DESTINATIONS reaches both its users: the rules engine's senders and
the API, which checks channels when they are saved."""

from __future__ import annotations

import pytest

from courtyard.settings import ConfigError, load_settings


def test_the_api_gets_the_notify_sections_allowed_destinations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COURTYARD_NOTIFY__ALLOWED_DESTINATIONS", "hooks.internal, 10.20.0.0/16")
    settings = load_settings()
    assert settings.api.notify_allowed_destinations == "hooks.internal, 10.20.0.0/16"
    assert settings.notify.destinations.hosts == {"hooks.internal"}


def test_an_unreadable_entry_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTYARD_NOTIFY__ALLOWED_DESTINATIONS", "10.0.0.0/8, http://x/")
    with pytest.raises(ConfigError, match="COURTYARD_NOTIFY__ALLOWED_DESTINATIONS.*http://x/"):
        load_settings()
