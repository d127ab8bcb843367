"""wait_for: poll a condition until it holds or a timeout passes (tests never sleep blindly)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T], *, timeout_s: float, interval_s: float = 0.05, what: str = "condition"
) -> T:
    """Return probe()'s first truthy value; fail with `what` and the last value after timeout_s."""
    deadline = time.monotonic() + timeout_s
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout_s} s waiting for {what} (last: {last!r})"
            )
        time.sleep(interval_s)
        last = probe()
    return last
