"""The run summary: what was published, per channel, and which incidents were injected."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from device_sims.emissions import Outgoing
from device_sims.scenario import Scenario


@dataclass(frozen=True, slots=True)
class RunSummary:
    """Exact counts of what the simulator handed to its sink, so an end-to-end test can check the
    store against them.

    * `messages[channel]`: MQTT messages per accounting channel (telemetry, event, status,
      zigbee2mqtt, zigbee2mqtt_availability, malformed);
    * `readings[channel]`: readings those messages carry: one per key of a native telemetry
      object, one per SenML record, one per numeric or boolean field of a Zigbee2MQTT state;
    * `events[channel]`: events: one per native event message, one per Zigbee2MQTT `action`
      press (its empty reset counts none);
    * `malformed` messages are meant to be rejected; they carry no readings;
    * `confirmed`: what the sink confirmed (MQTT: PUBACKed by the broker at QoS 1).
    """

    scenario: str
    seed: int
    sim_start: datetime
    sim_end: datetime
    devices: int
    households: int
    messages: Mapping[str, int]
    readings: Mapping[str, int]
    events: Mapping[str, int]
    incidents: Mapping[str, int]
    confirmed: int
    wall_s: float

    @property
    def total_messages(self) -> int:
        return sum(self.messages.values())

    @property
    def total_readings(self) -> int:
        return sum(self.readings.values())

    @property
    def total_events(self) -> int:
        return sum(self.events.values())


class Tally:
    """Counts messages as they go out."""

    __slots__ = ("messages", "readings", "events", "last_ts")

    def __init__(self) -> None:
        self.messages: Counter[str] = Counter()
        self.readings: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.last_ts = 0.0

    def add(self, message: Outgoing) -> None:
        self.messages[message.channel] += 1
        if message.readings:
            self.readings[message.channel] += message.readings
        if message.events:
            self.events[message.channel] += message.events
        self.last_ts = message.ts

    def summary(self, scenario: Scenario, confirmed: int, wall_s: float) -> RunSummary:
        end = scenario.end.timestamp()
        injected = Counter(f.kind for f in scenario.faults if f.start < end)
        return RunSummary(
            scenario.name, scenario.seed, scenario.start, scenario.end, scenario.device_count(),
            len(scenario.households), dict(self.messages), dict(self.readings), dict(self.events),
            dict(injected), confirmed, wall_s,
        )  # fmt: skip
