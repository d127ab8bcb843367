"""Scenarios: load a YAML file by name or path, validate it, expand it into devices and homes.

A `Scenario` is the ground truth the rules engine's end-to-end tests read: what the community
is, which incidents start when, which alerts each must raise by when (`expected_alerts`) and
which periods must stay quiet (`quiet_periods`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from device_sims.devices import DEFAULT_INTERVAL_S, KINDS, DeviceSpec, Site
from device_sims.encode import OutputFormat
from device_sims.faults import DEFAULT_DURATION_S, HOUSEHOLD, PHYSICAL, Fault
from device_sims.households.home_kit import BATTERY_ROLES, HouseholdSpec, kit_sensors
from device_sims.scenario_schema import DeviceGroup, ScenarioModel
from device_sims.yaml_source import ScenarioError, YamlSource, load
from ingest.wire import ID_PATTERN

SHORT = {
    "water_tank": "tank", "booster_pump": "pump", "elevator": "elevator",
    "equipment_room": "eqroom", "street_light": "light", "smoke_detector": "smoke",
    "leak_detector": "leak", "electricity_meter": "emeter", "water_meter": "wmeter",
    "card_reader": "reader", "face_gate": "facegate", "unit_door": "door",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExpectedAlert:
    incident: int  # index in the file's incidents
    kind: str
    category: str
    rule: str
    subject: str
    metric: str | None
    severity: str | None
    not_before: datetime  # the incident's start
    deadline: datetime  # latest acceptable time of the alert


@dataclass(frozen=True, slots=True)
class Building:
    id: str
    floors: int


@dataclass(frozen=True, slots=True)
class QuietPeriod:
    start: datetime
    end: datetime
    scope: str  # "site", a device id or a household id
    category: str | None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    site: Site
    site_name: str
    start: datetime
    duration_s: float
    seed: int
    format: OutputFormat
    z2m_base: str
    gateway: str
    devices: tuple[DeviceSpec, ...]
    households: tuple[HouseholdSpec, ...]
    household_formats: Mapping[str, OutputFormat]
    faults: tuple[Fault, ...]
    expected_alerts: tuple[ExpectedAlert, ...]
    quiet_periods: tuple[QuietPeriod, ...]
    buildings: tuple[Building, ...] = ()
    #: Device id (as the simulator sends it) -> language tag -> name, for those the file names.
    device_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Building id -> language tag -> name.
    building_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)

    def device_count(self) -> int:
        return len(self.devices) + sum(len(kit_sensors(h)) for h in self.households)

    def with_overrides(
        self,
        seed: int | None = None,
        duration_s: float | None = None,
        fmt: OutputFormat | None = None,
        start: datetime | None = None,
    ) -> Scenario:
        """A copy with CLI overrides. A new start shifts incidents and quiet periods with it."""
        out = self
        if seed is not None:
            out = replace(out, seed=seed)
        if duration_s is not None:
            out = replace(out, duration_s=duration_s)
        if fmt is OutputFormat.ZIGBEE2MQTT:  # facility devices have no Zigbee2MQTT form
            z2m = dict.fromkeys(out.household_formats, OutputFormat.ZIGBEE2MQTT)
            out = replace(out, household_formats=z2m)
        elif fmt is not None:
            out = replace(out, format=fmt)
        if start is not None:
            shift = (start - out.start).total_seconds()
            delta = timedelta(seconds=shift)
            out = replace(
                out,
                start=start,
                faults=tuple(
                    replace(f, start=f.start + shift, until=f.until + shift) for f in out.faults
                ),
                expected_alerts=tuple(
                    replace(e, not_before=e.not_before + delta, deadline=e.deadline + delta)
                    for e in out.expected_alerts
                ),
                quiet_periods=tuple(
                    replace(q, start=q.start + delta, end=q.end + delta) for q in out.quiet_periods
                ),
            )
        return out


def shipped() -> list[str]:
    """Names of the scenarios shipped with the package."""
    folder = resources.files("device_sims") / "scenarios"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a shipped scenario by name, or a file by path.

    Raises ScenarioError whose message reads `file:line: field: problem`.
    """
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
        return parse_scenario(text, str(path))
    resource = resources.files("device_sims") / "scenarios" / f"{name_or_path}.yaml"
    if not resource.is_file():
        known = ", ".join(shipped())
        raise ScenarioError(f"no scenario named {name_or_path!r} (shipped: {known})")
    return parse_scenario(resource.read_text(encoding="utf-8"), f"{name_or_path}.yaml")


def parse_scenario(text: str, name: str = "<scenario>") -> Scenario:
    source = load(text, name)
    if not isinstance(source.data, dict):
        raise source.error((), "a scenario is a mapping (site:, start:, duration:, ...)")
    try:
        model = ScenarioModel.model_validate(source.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise source.error(first["loc"], message + more) from None
    return _build(model, source)


def _build(model: ScenarioModel, source: YamlSource) -> Scenario:
    tz = ZoneInfo(model.site.timezone)
    site = Site(model.site.id, tz, model.site.latitude, model.site.longitude)
    start = model.start.astimezone(UTC)
    t0 = start.timestamp()
    building_names: dict[str, dict[str, str]] = {}
    buildings = _buildings(model, source, building_names)
    device_names: dict[str, dict[str, str]] = {}
    devices = list(_devices(model, source, building_names, device_names))
    kinds = {d.id: d.kind for d in devices}
    households: list[HouseholdSpec] = []
    formats: dict[str, OutputFormat] = {}
    sensor_roles: dict[str, str] = {}
    friendly: set[str] = set()
    for i, hh in enumerate(model.households):
        for n in range(1, hh.repeat + 1):
            hid = _fill(hh.id, n=n, where=source, path=("households", i, "id"))
            label = hh.label.format(n=n) if hh.repeat > 1 else hh.label
            routine = {str(k): v for k, v in hh.routine.items()}
            building = None
            if hh.building is not None:
                building = _fill(hh.building, n=n, where=source, path=("households", i, "building"))
                if building not in buildings:
                    raise source.error(
                        ("households", i, "building"), f"unknown building {building!r}"
                    )
            spec = HouseholdSpec(
                hid, label, tuple(hh.rooms), frozenset(hh.sensors), routine, building
            )
            for sensor in kit_sensors(spec):
                which = sensor.role if sensor.room is None else f"pir_{sensor.room}"
                if which in model.sensor_names:
                    device_names[sensor.device] = _names(
                        model.sensor_names[which],
                        source,
                        ("sensor_names", which),
                        household=label,
                    )
                _unique(sensor.device, kinds, source, ("households", i, "id"))
                sensor_roles[sensor.device] = sensor.role
                kinds[sensor.device] = f"household_{sensor.role}"
                name = sensor.friendly_name
                if hh.format == "zigbee2mqtt":
                    if any(c in name for c in "+#") or name in friendly:
                        raise source.error(
                            ("households", i, "label"),
                            f"Zigbee2MQTT name {name!r} is not unique or holds + or #",
                        )
                    friendly.add(name)
            _unique(hid, kinds, source, ("households", i, "id"))
            kinds[hid] = "household"
            households.append(spec)
            formats[hid] = OutputFormat(hh.format)
    _unique(model.gateway, kinds, source, ("gateway",))
    if model.gateway_name:
        device_names[model.gateway] = dict(model.gateway_name)

    def when(value: float | datetime) -> float:
        return value.timestamp() if isinstance(value, datetime) else t0 + value

    faults: list[Fault] = []
    expected: list[ExpectedAlert] = []
    for i, inc in enumerate(model.incidents):
        path = ("incidents", i)
        _check_target(inc.kind, inc.target, kinds, sensor_roles, households, source, path)
        begin = when(inc.at)
        span = (
            inc.duration if inc.duration is not None else DEFAULT_DURATION_S.get(inc.kind, math.inf)
        )
        faults.append(Fault(inc.kind, inc.target, begin, begin + span, dict(inc.params)))
        for j, exp in enumerate(inc.expect):
            if exp.subject not in kinds:
                raise source.error(
                    (*path, "expect", j, "subject"), f"unknown subject {exp.subject!r}"
                )
            at = datetime.fromtimestamp(begin, UTC)
            expected.append(
                ExpectedAlert(
                    i,
                    inc.kind,
                    exp.category,
                    exp.rule,
                    exp.subject,
                    exp.metric,
                    exp.severity,
                    at,
                    at + timedelta(seconds=exp.within),
                )
            )
    quiet: list[QuietPeriod] = []
    for i, q in enumerate(model.quiet):
        if q.scope != "site" and q.scope not in kinds:
            raise source.error(
                ("quiet", i, "scope"), f"unknown scope {q.scope!r} (site, a device or a household)"
            )
        a, b = when(q.start), when(q.to)
        if b <= a:
            raise source.error(("quiet", i, "to"), "must be after 'from'")
        quiet.append(
            QuietPeriod(
                datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC), q.scope, q.category
            )
        )
    return Scenario(
        model.name,
        model.description,
        site,
        model.site.name,
        start,
        model.duration,
        model.seed,
        OutputFormat(model.format),
        model.zigbee2mqtt_base,
        model.gateway,
        tuple(devices),
        tuple(households),
        formats,
        tuple(faults),
        tuple(expected),
        tuple(quiet),
        tuple(Building(b, f) for b, f in buildings.items()),
        device_names,
        building_names,
    )


def _fill(template: str, where: YamlSource, path: tuple[str | int, ...], **values: object) -> str:
    try:
        text = template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise where.error(path, f"bad id template {template!r}: {exc}") from None
    if ID_PATTERN.fullmatch(text) is None:
        raise where.error(path, f"id {text!r} does not match {ID_PATTERN.pattern}")
    return text


def _names(
    templates: Mapping[str, str], where: YamlSource, path: tuple[str | int, ...], **values: object
) -> dict[str, str]:
    """Name templates filled in each language; a building's name is the one of that language."""
    out: dict[str, str] = {}
    for language, template in templates.items():
        filled = {
            k: v.get(language, next(iter(v.values()), "")) if isinstance(v, Mapping) else v
            for k, v in values.items()
        }
        try:
            out[language] = template.format(**filled)
        except (KeyError, IndexError, ValueError) as exc:
            raise where.error((*path, language), f"bad name template {template!r}: {exc}") from None
    return out


def _unique(
    device: str, seen: Mapping[str, str], source: YamlSource, path: tuple[str | int, ...]
) -> None:
    if device in seen:
        raise source.error(path, f"duplicate id {device!r}")


def _buildings(
    model: ScenarioModel, source: YamlSource, names: dict[str, dict[str, str]]
) -> dict[str, int]:
    """building id -> floors, templates expanded; `names` gets each named building's names."""
    found: dict[str, int] = {}
    for b, building in enumerate(model.buildings):
        for n in range(1, building.repeat + 1):
            bid = _fill(building.id, source, ("buildings", b, "id"), n=n)
            if bid in found:
                raise source.error(("buildings", b, "id"), f"duplicate building id {bid!r}")
            found[bid] = building.floors
            if building.name:
                names[bid] = _names(building.name, source, ("buildings", b, "name"), n=n)
    return found


def _devices(
    model: ScenarioModel,
    source: YamlSource,
    building_names: Mapping[str, Mapping[str, str]],
    names: dict[str, dict[str, str]],
) -> Iterator[DeviceSpec]:
    seen: dict[str, str] = {}
    groups: list[tuple[str | None, int, DeviceGroup, tuple[str | int, ...]]] = []
    for b, building in enumerate(model.buildings):
        for n in range(1, building.repeat + 1):
            bid = _fill(building.id, source, ("buildings", b, "id"), n=n)
            for g, group in enumerate(building.devices):
                groups.append((bid, building.floors, group, ("buildings", b, "devices", g)))
    for g, group in enumerate(model.site_devices):
        groups.append((None, 1, group, ("site_devices", g)))
    for building_id, floors, group, path in groups:
        width = max(2, len(str(group.count)))
        short = SHORT[group.kind]
        default = (
            f"{building_id}-{short}-{{n:0{width}d}}" if building_id else f"{short}-{{n:0{width}d}}"
        )
        interval = group.interval or DEFAULT_INTERVAL_S[group.kind]
        params = dict(group.params)
        if group.kind == "elevator":
            params.setdefault("floors", float(floors))
        for n in range(1, group.count + 1):
            device = _fill(
                group.id or default, source, (*path, "id"), n=n, building=building_id, kind=short
            )
            _unique(device, seen, source, (*path, "id"))
            seen[device] = group.kind
            if group.name:
                where = building_names.get(building_id or "", {}) or (building_id or "")
                names[device] = _names(group.name, source, (*path, "name"), n=n, building=where)
            yield DeviceSpec(device, group.kind, interval, building_id, params)


def _check_target(
    kind: str,
    target: str,
    kinds: Mapping[str, str],
    roles: Mapping[str, str],
    households: list[HouseholdSpec],
    source: YamlSource,
    path: tuple[str | int, ...],
) -> None:
    actual = kinds.get(target)
    if actual is None:
        raise source.error((*path, "target"), f"unknown target {target!r}")
    if kind in PHYSICAL and actual != PHYSICAL[kind]:
        raise source.error(
            (*path, "target"), f"{kind} applies to a {PHYSICAL[kind]}, {target!r} is a {actual}"
        )
    if kind in HOUSEHOLD:
        if actual != "household":
            raise source.error(
                (*path, "target"), f"{kind} applies to a household, {target!r} is a {actual}"
            )
        fitted = next(h.fitted for h in households if h.id == target)
        needs = {"sos": "sos", "long_absence": "door", "night_wandering": "door"}.get(kind)
        if needs is not None and needs not in fitted:
            raise source.error((*path, "target"), f"{kind} needs a {needs} sensor in {target!r}")
    elif actual == "household":
        raise source.error(
            (*path, "target"), f"{kind} applies to a device, {target!r} is a household"
        )
    if kind == "battery_low":
        has_battery = (
            KINDS[actual].has_battery if actual in KINDS else roles.get(target) in BATTERY_ROLES
        )
        if not has_battery:
            raise source.error((*path, "target"), f"{target!r} has no battery")
