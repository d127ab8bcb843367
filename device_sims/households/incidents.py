"""Household incidents: how no wake-up, a fall, night wandering and a long absence rewrite a day.

An incident replaces the planned activities inside its window with what would really happen:

* no_wake_up: the resident stays in bed from `start` (bed occupied, no motion) until help comes;
* fall: activity stops abruptly where the resident was (no motion, bed empty) until found
  (a resident who is out at that time comes home two minutes before);
* night_wandering: out of bed a few minutes before `start`, the front door opens at `start`,
  back home at `until`, a few minutes in the living room, then back to bed;
* long_absence: a visit to family. The door announces it (open/close on leaving, again on
  return) and the flat is empty in between. It is NOT an incident for the care rules.

sos changes no activity; `households/home_kit.py` emits the button press.
"""

from __future__ import annotations

from collections.abc import Sequence

from device_sims.faults import Fault
from device_sims.households.routine import Activity


def overlay(
    acts: Sequence[Activity], start: float, end: float, new: Sequence[Activity]
) -> list[Activity]:
    """Replace whatever `acts` hold in [start, end) by `new` (which lies inside that window)."""
    out: list[Activity] = []
    for act in acts:
        if act.end <= start or act.start >= end:
            out.append(act)
            continue
        if act.start < start:
            out.append(Activity(act.start, start, act.kind, act.room, act.kettle))
        if act.end > end:
            out.append(Activity(end, act.end, act.kind, act.room, False))
    out.extend(a for a in new if a.end > a.start)
    out.sort(key=lambda a: a.start)
    return out


def room_at(acts: Sequence[Activity], t: float) -> str:
    for act in acts:
        if act.start <= t < act.end:
            return act.room
    return "living"


def apply_incidents(
    acts: list[Activity], incidents: Sequence[Fault], day_start: float, day_end: float
) -> list[Activity]:
    for incident in incidents:
        if incident.until + 600.0 <= day_start or incident.start - 600.0 >= day_end:
            continue
        start, until = incident.start, incident.until
        s, e = max(start, day_start), min(until, day_end)
        if incident.kind == "no_wake_up" and s < e:
            acts = overlay(acts, s, e, [Activity(s, e, "still_in_bed", "bedroom")])
        elif incident.kind == "fall" and s < e:
            room = room_at(acts, start)
            fall = [Activity(s, e, "fallen", room)]
            if room == "outside":
                # A fall is a home incident: bring the resident home two minutes before it,
                # so the incident's time (and the alert deadline counted from it) stays exact.
                back = max(day_start, s - 120.0)
                fall = [Activity(back, s, "living", "living"), Activity(s, e, "fallen", "living")]
                s = back
            acts = overlay(acts, s, e, fall)
        elif incident.kind == "long_absence" and s < e:
            acts = overlay(acts, s, e, [Activity(s, e, "away", "outside")])
        elif incident.kind == "night_wandering":
            plan = [
                Activity(start - 360.0, start - 180.0, "wander", "bedroom"),
                Activity(start - 180.0, start, "wander", "living"),
                Activity(start, until, "out", "outside"),
                Activity(until, until + 240.0, "wander", "living"),
            ]
            inside = [
                Activity(max(a.start, day_start), min(a.end, day_end), a.kind, a.room)
                for a in plan
                if a.end > day_start and a.start < day_end
            ]
            if inside:
                acts = overlay(acts, inside[0].start, inside[-1].end, inside)
    return acts
