"""Diurnal profiles (by local hour) of household water demand and of people passing through."""

from __future__ import annotations

# Residential water demand, relative to the daily mean (the 24 values average ~1.0). Shape of
# the classic diurnal curve for apartment blocks: a morning peak at 07-08 h, a lower midday
# plateau, the evening peak at 19-21 h, and a night minimum around 03 h at ~20 % of the mean.
WATER_DEMAND: tuple[float, ...] = (
    0.45, 0.3, 0.22, 0.2, 0.25, 0.55, 1.3, 1.9, 1.7, 1.2, 1.0, 1.05,
    1.2, 1.0, 0.85, 0.8, 0.9, 1.15, 1.55, 1.85, 1.75, 1.4, 1.0, 0.65,
)  # fmt: skip

# People passing a gate or riding a lift, relative to the daily mean (average ~1.0): commute
# peaks at 07-09 h and 17-19 h, quiet nights (a few late returns).
FOOT_TRAFFIC: tuple[float, ...] = (
    0.15, 0.08, 0.05, 0.04, 0.05, 0.25, 0.9, 2.3, 2.2, 1.3, 1.0, 1.1,
    1.3, 1.1, 0.95, 1.0, 1.3, 2.0, 2.4, 1.8, 1.3, 0.9, 0.5, 0.3,
)  # fmt: skip

# Electricity load of a block, relative to the mean: cooking and evening peaks.
ELECTRIC_LOAD: tuple[float, ...] = (
    0.55, 0.5, 0.48, 0.47, 0.48, 0.6, 0.9, 1.15, 1.05, 0.95, 0.95, 1.1,
    1.2, 1.0, 0.95, 0.95, 1.05, 1.3, 1.6, 1.75, 1.7, 1.5, 1.1, 0.75,
)  # fmt: skip


def at_hour(profile: tuple[float, ...], hour: float) -> float:
    """Linear interpolation between hourly values (hour in [0, 24))."""
    low = int(hour) % 24
    frac = hour - int(hour)
    return profile[low] * (1.0 - frac) + profile[(low + 1) % 24] * frac
