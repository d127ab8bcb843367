"""store.backoff: waits double from the first up to the cap, and start afresh after a reset."""

from __future__ import annotations

import pytest

from store.backoff import Backoff


def test_waits_double_up_to_the_cap() -> None:
    backoff = Backoff(cap_s=2.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_reset_starts_the_next_outage_afresh() -> None:
    backoff = Backoff(cap_s=8.0, first_s=1.0)
    backoff.next()
    backoff.next()
    assert backoff.wait_s == 4.0
    backoff.reset()
    assert backoff.next() == 1.0


@pytest.mark.parametrize(("first_s", "cap_s"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 1.0)])
def test_nonsense_bounds_are_refused(first_s: float, cap_s: float) -> None:
    with pytest.raises(ValueError, match="first_s"):
        Backoff(cap_s=cap_s, first_s=first_s)
