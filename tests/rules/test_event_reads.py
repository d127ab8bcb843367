"""Which event types each kind of rule acts on (rules.event_reads): the mapping the device page
uses to say "no rule uses this"."""

from __future__ import annotations

from rules.event_reads import event_types_used


def test_emergencies_use_their_kinds() -> None:
    assert event_types_used("emergency", {"kinds": ["sos", "fall"]}) == {"sos", "fall"}


def test_inactivity_uses_activity_door_and_rest_events() -> None:
    used = event_types_used("inactivity", {})
    assert used is not None
    assert {"motion", "door_open", "door_closed", "bed_occupied", "button"} <= used
    assert "sos" not in used
    assert event_types_used("inactivity", {"activity_events": ["tap"], "door_events": [],
                                           "rest_events": []}) == {"tap"}  # fmt: skip


def test_doors_use_their_open_and_close_events() -> None:
    used = event_types_used("door_held", {})
    assert used is not None and {"door_open", "door_closed"} <= used


def test_readings_kinds_and_liveness_use_no_event() -> None:
    assert event_types_used("threshold", {"metric": "temp_c", "above": 30}) == frozenset()
    assert event_types_used("offline", {}) == frozenset()


def test_invalid_definitions_use_nothing() -> None:
    assert event_types_used("warp", {}) == frozenset()
    assert event_types_used("emergency", {"kinds": "not a list", "bogus": 1}) == frozenset()
