"""A household's sensors → one timeline of moments: activity, the front door, lying down.

What each sensor's data means for the inactivity rule (`inactivity.py`) follows from the role the
device plays in its household (`Directory`: people's, else the suggestion, else its kind's):

- activity: a `motion` event, water flowing, a plug drawing power or switching
  (`appliance_on`/`appliance_off`), a button, any door but the front door (a fridge, a
  cupboard, the bathroom: someone is up and about), getting out of bed or off a seat (a bed or
  seat sensor's occupancy going to 0, `bed_vacant`, `seat_vacant`), a PIR's occupancy 1;
- door: the *front door* (role `front_door`) opening or closing (an event, or a change of a
  `door_open` reading: a Zigbee2MQTT contact repeats its state in every heartbeat, so only
  changes count). It alone can mean "went out";
- lying or sitting down: `bed_occupied` / `seat_occupied` from any device, or the occupancy 1
  of a device whose role is `bed` or `seat` (Zigbee2MQTT reports it as a motion too, and
  repeats it in every heartbeat while occupied: a repeat from the sensor the resident is
  already resting on is not a new moment). Nothing else means resting, whatever its name.

Batteries, link quality and other heartbeat readings mean nothing here, nor does an SOS press.
Per device and stream the work is vectorised; the streams are then merged and sorted once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from rules.arrays import BatchView, EventSeries, FloatArray, Series
from rules.directory import Directory
from store.devices.catalogue import Role

#: Moment kinds, in the order ties at one instant are taken (the last one sets the mode).
ACT, DOOR, LIE = 0, 1, 2
KindArray = npt.NDArray[np.int8]
#: A household's devices with data in a view → their series and event series.
Sources = dict[str, list[Series | EventSeries]]


class MomentParams(Protocol):
    """What counts as what (InactivityParams has these)."""

    @property
    def activity_events(self) -> tuple[str, ...]: ...
    @property
    def door_events(self) -> tuple[str, ...]: ...
    @property
    def rest_events(self) -> tuple[str, ...]: ...
    @property
    def door_metric(self) -> str: ...
    @property
    def occupancy_metric(self) -> str: ...
    @property
    def activity_levels(self) -> Mapping[str, float]: ...


@dataclass(frozen=True, slots=True)
class Moments:
    """A household's new moments, in time order."""

    ts: FloatArray
    kind: KindArray
    #: The rest sensor of each LIE moment ("" for the others).
    device: tuple[str, ...]
    #: Last `door_open` value per door device after these moments.
    doors: Mapping[str, float]
    #: The newest timestamp looked at (any metric), or the previous one when nothing is new.
    newest: float | None


#: The roles whose occupancy means resting, and the one door that can mean "went out".
REST_ROLES = frozenset({Role.BED, Role.SEAT})
FRONT_DOOR = Role.FRONT_DOOR


@dataclass(frozen=True, slots=True)
class HouseholdRoles:
    """The devices whose data means more than activity: bed and seat sensors, front doors."""

    rest: frozenset[tuple[str, str]]
    front_doors: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, directory: Directory) -> HouseholdRoles:
        devices = directory.devices.items()
        return cls(
            rest=frozenset(k for k, info in devices if info.role in REST_ROLES),
            front_doors=frozenset(k for k, info in devices if info.role == FRONT_DOOR),
        )


def household_sources(view: BatchView, directory: Directory) -> dict[tuple[str, str], Sources]:
    """Each household's devices that have data in the view, with their streams."""
    found: dict[tuple[str, str], Sources] = {}
    streams: list[tuple[str, str, Series | EventSeries]] = [
        (site, device, s) for (site, device, _), s in view.series.items()
    ]
    streams += [(site, device, e) for (site, device, _), e in view.events.items()]
    for site, device, stream in streams:
        household = directory.household_of(site, device)
        if household is not None:
            found.setdefault((site, household), {}).setdefault(device, []).append(stream)
    return found


def collect(
    p: MomentParams,
    site: str,
    sources: Sources,
    roles: HouseholdRoles,
    after: float | None,
    doors: Mapping[str, float],
    resting_on: str | None,
) -> Moments:
    """The moments later than `after` from a household's `sources`. `doors` are the door
    values known before; `resting_on` the rest sensor the resident lies on, if any."""
    wanted = {*p.activity_events, *p.rest_events}
    parts: list[tuple[FloatArray, KindArray, str]] = []
    door_values = dict(doors)
    newest = after
    for device, streams in sources.items():
        is_rest = (site, device) in roles.rest
        is_front = (site, device) in roles.front_doors
        for stream in streams:
            if isinstance(stream, Series):
                fresh = stream.after(after)
                if len(fresh):
                    parts += _series_moments(p, fresh, is_rest, is_front, door_values)
                stamps = fresh.ts
            else:
                fresh_events = stream.after(after)
                if len(fresh_events) and stream.type in wanted:
                    kind = _event_kind(p, stream.type, is_rest, is_front)
                    parts.append(
                        (fresh_events.ts, np.full(len(fresh_events), kind, np.int8), device)
                    )
                stamps = fresh_events.ts
            if stamps.size:
                newest = max(newest if newest is not None else -math.inf, float(stamps[-1]))
    parts = [part for part in parts if part[0].size]
    if not parts:
        return Moments(np.empty(0), np.empty(0, dtype=np.int8), (), door_values, newest)
    t = np.concatenate([part[0] for part in parts])
    k = np.concatenate([part[1] for part in parts])
    owner = np.repeat(np.arange(len(parts)), [part[0].size for part in parts])
    order = np.lexsort((k, t))
    t, k = t[order], k[order]
    devices = [parts[i][2] if kind == LIE else "" for i, kind in zip(owner[order], k, strict=True)]
    # A rest sensor repeating its occupancy while the resident still rests on it is no new
    # moment: the silence goes on. In a run LIE(bed) LIE(bed) LIE(bed) the first one stays.
    prev_kind = np.concatenate(([ACT if resting_on is None else LIE], k[:-1]))
    prev_device = [resting_on or "", *devices[:-1]]
    same = np.fromiter((a == b for a, b in zip(devices, prev_device, strict=True)), bool, t.size)
    keep = ~((k == LIE) & (prev_kind == LIE) & same)
    kept = tuple(d for d, ok in zip(devices, keep.tolist(), strict=True) if ok)
    return Moments(t[keep], k[keep], kept, door_values, newest)


def _event_kind(p: MomentParams, type_: str, is_rest: bool, is_front: bool) -> int:
    if type_ in p.rest_events:
        return LIE
    if type_ in p.door_events:
        return DOOR if is_front else ACT
    # A Zigbee2MQTT bed or chair reports its occupancy as a motion too.
    return LIE if is_rest and type_ == "motion" else ACT


def _series_moments(
    p: MomentParams, fresh: Series, is_rest: bool, is_front: bool, doors: dict[str, float]
) -> list[tuple[FloatArray, KindArray, str]]:
    v, device = fresh.values, fresh.device
    if fresh.metric == p.occupancy_metric:
        on = v > 0.5
        if is_rest:
            return [(fresh.ts, np.where(on, LIE, ACT).astype(np.int8), device)]
        return [(fresh.ts[on], np.full(int(on.sum()), ACT, np.int8), device)]
    if fresh.metric == p.door_metric:
        before = doors.get(device)
        previous = np.concatenate(([np.nan if before is None else before], v[:-1]))
        changed = ~np.isnan(previous) & (v != previous)
        doors[device] = float(v[-1])
        kind = DOOR if is_front else ACT
        return [(fresh.ts[changed], np.full(int(changed.sum()), kind, np.int8), device)]
    level = p.activity_levels.get(fresh.metric)
    if level is None:
        return []
    active = v > level
    return [(fresh.ts[active], np.full(int(active.sum()), ACT, np.int8), device)]
