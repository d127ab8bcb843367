"""Names people gave devices, in each reader's language, and in alert summaries."""

from __future__ import annotations

import pytest

from i18n import summaries
from i18n.given_names import GivenName, pick

FRIDGE = GivenName("Fridge door", {"zh-CN": "冰箱门", "en": "Fridge door (kitchen)"})


@pytest.mark.parametrize(
    ("given", "language", "expected"),
    [
        (FRIDGE, "zh-CN", "冰箱门"),
        (FRIDGE, "zh", "冰箱门"),  # the base language finds a regional name
        (FRIDGE, "zh-TW", "冰箱门"),
        (FRIDGE, "en", "Fridge door (kitchen)"),
        (FRIDGE, "fr", "Fridge door"),  # no French name: the name people gave
        (GivenName(None, {"zh-CN": "冰箱门"}), "en", None),  # nothing for English: the caller's id
        (GivenName("", {"en": ""}), "en", None),
    ],
)
def test_a_reader_gets_the_name_of_their_language(
    given: GivenName, language: str, expected: str | None
) -> None:
    assert pick(given.name, given.names, language) == expected
    assert given.in_language(language, "dev-1") == (expected or "dev-1")


def test_a_summary_names_its_device_and_household_and_keeps_unknown_ids() -> None:
    devices = {"z2m-sos-b470105e": GivenName("SOS button", {"zh-CN": "紧急按钮"})}
    assert (
        summaries.render("SOS from {device}", {"device": "z2m-sos-b470105e"}, "en", devices)
        == "SOS from SOS button"
    )
    assert summaries.render("SOS from {device}", {"device": "other-1"}, "en", devices) == (
        "SOS from other-1"
    )
    households = {"hh-07": "Bldg 4 / 1203 Mr Li"}
    text = "No activity at {household} for {hours} h, unusual for this time of day"
    assert summaries.render(text, {"household": "hh-07", "hours": 3}, "en", None, households) == (
        "No activity at Bldg 4 / 1203 Mr Li for 3 h, unusual for this time of day"
    )
    # An argument that is no household id of the alert's (already a label) stays as it is.
    assert "3号楼502" in summaries.render(
        text, {"household": "3号楼502", "hours": 3}, "en", None, households
    )
