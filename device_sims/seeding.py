"""Stable per-entity random generators derived from a scenario seed and an entity name."""

from __future__ import annotations

import hashlib

import numpy as np


def stable_seed(seed: int, name: str) -> int:
    """A 64-bit seed from (seed, name) that is the same in every process and Python version.

    Python's hash() is salted per process (PYTHONHASHSEED), so it cannot be used here.
    """
    digest = hashlib.blake2b(f"{seed}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rng_for(seed: int, name: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(stable_seed(seed, name)))
