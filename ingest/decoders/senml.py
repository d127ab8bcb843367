"""SenML JSON packs (RFC 8428) on courtyard telemetry topics → readings of the topic's device."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ingest import validation
from ingest.decoders.result import DecodeContext, Rejected

#: (metric, time) → value; the same metric at the same time twice in one pack keeps the last.
SeriesValues = dict[tuple[str, datetime], float]

#: RFC 8428 §4.4: a receiver must not use a pack whose version is newer than it understands.
SUPPORTED_VERSION = 10
#: §4.5.3: resolved times below 2**28 s are relative to "now" (for us, the receive time).
RELATIVE_TIME_LIMIT = 2**28

#: SenML units (RFC 8428 §12.1, and RFC 8798's secondary units) → metric names, for records with
#: no name of their own. Only units with an unambiguous quantity are listed.
UNIT_METRICS: dict[str, str] = {
    "Cel": "temperature_c",
    "K": "temperature_k",
    "%RH": "humidity_pct",
    "%EL": "battery_pct",
    "%": "pct",
    "/": "ratio",
    "lat": "latitude",
    "lon": "longitude",
    "V": "voltage_v",
    "mV": "voltage_mv",
    "A": "current_a",
    "mA": "current_ma",
    "W": "power_w",
    "kW": "power_kw",
    "Wh": "energy_wh",
    "kWh": "energy_kwh",
    "J": "energy_j",
    "Pa": "pressure_pa",
    "hPa": "pressure_hpa",
    "bar": "pressure_bar",
    "lx": "illuminance_lux",
    "m": "distance_m",
    "l": "volume_l",
    "m3": "volume_m3",
    "l/s": "flow_l_s",
    "m3/s": "flow_m3_s",
    "Hz": "frequency_hz",
    "dBm": "signal_dbm",
    "s": "duration_s",
    "count": "count",
}

_STRING_FIELDS = frozenset({"bn", "bu", "n", "u", "vs", "vd"})
_NUMBER_FIELDS = frozenset({"bt", "bv", "bs", "v", "s", "t", "ut"})
_VALUE_FIELDS = ("v", "vs", "vb", "vd")
_ALL_FIELDS = _STRING_FIELDS | _NUMBER_FIELDS | {"bver", "vb"}


@dataclass(frozen=True, slots=True)
class _Base:
    """The base fields in force: each applies until a later record sets it again (§4.1)."""

    name: str = ""
    time: float = 0.0
    unit: str | None = None
    value: float = 0.0
    sum: float = 0.0


def is_pack(data: object) -> bool:
    """A non-empty array of objects, none with `readings`, at least one with a SenML field."""
    if not isinstance(data, list) or not data:
        return False
    records = [r for r in data if isinstance(r, dict)]
    return (
        len(records) == len(data)
        and not any("readings" in r for r in records)
        and any(_ALL_FIELDS & r.keys() for r in records)
    )


def read_pack(data: object, now: datetime, context: DecodeContext) -> SeriesValues | Rejected:
    """Resolve a pack into numeric values, or reject it whole naming the record at fault.

    Base fields carry forward (§4.1); times below 2**28 are relative to `now` (§4.5.3); `vb` is
    stored as 1/0; string and data values (`vs`, `vd`) are skipped; a sum `s` is its own metric
    `<metric>_sum`. A record's metric is its `n`: the base name `bn` names the device, so it is
    dropped, and the rest is sanitised (`validation.sanitize_metric_name`). A record without `n`,
    or whose `n` is a device URN (`urn:...`, §5.1.1), is named by its unit (`UNIT_METRICS`).
    When one pack holds several base names (a collection of resources, §5.1.6), each metric keeps
    its base name as a prefix, since the resources' readings would otherwise collide.
    """
    if not isinstance(data, list) or not data:
        return Rejected("a SenML pack must be a non-empty JSON array of records")
    base_names = {r["bn"] for r in data if isinstance(r, dict) and isinstance(r.get("bn"), str)}
    qualify = len(base_names) > 1
    base = _Base()
    values: SeriesValues = {}
    for index, record in enumerate(data):
        result = _read_record(record, base, qualify, now, context)
        if isinstance(result, Rejected):
            return Rejected(f"SenML record {index + 1} of {len(data)}: {result.reason}")
        base, entries = result
        values.update(entries)
    return values


def _read_record(
    record: object, base: _Base, qualify: bool, now: datetime, context: DecodeContext
) -> tuple[_Base, SeriesValues] | Rejected:
    if not isinstance(record, dict):
        return Rejected(f"expected an object, got {validation.describe(record)}")
    problem = _check_fields(record)
    if problem is not None:
        return problem
    base = _with_base_fields(record, base)
    present = [field for field in _VALUE_FIELDS if field in record]
    if len(present) > 1:
        return Rejected(f"has {len(present)} value fields ({', '.join(present)}); one is allowed")
    if not ({"v", "vb", "s"} & record.keys()):
        return base, {}  # base fields only, or a string/data value we do not store
    ts = _time(base.time + _number(record, "t", 0.0), now, context)
    if isinstance(ts, Rejected):
        return ts
    metric = _metric(record, base, qualify)
    if isinstance(metric, Rejected):
        return metric
    values = _values(record, base, metric, ts)
    return values if isinstance(values, Rejected) else (base, values)


def _check_fields(record: dict[str, object]) -> Rejected | None:
    for key, value in record.items():
        if key.endswith("_"):
            return Rejected(f'unsupported must-understand field "{key}" (RFC 8428 §4.4)')
        if key in _STRING_FIELDS and not isinstance(value, str):
            return Rejected(f'"{key}" must be a string, got {validation.describe(value)}')
        if key in _NUMBER_FIELDS and not _is_number(value):
            return Rejected(f'"{key}" must be a number, got {validation.describe(value)}')
        if key == "vb" and not isinstance(value, bool):
            return Rejected(f'"vb" must be true or false, got {validation.describe(value)}')
    return _check_version(record.get("bver"))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_version(version: object) -> Rejected | None:
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return Rejected(f'"bver" must be a positive integer, got {validation.describe(version)}')
    if version > SUPPORTED_VERSION:
        return Rejected(f"SenML version {version} is newer than the supported {SUPPORTED_VERSION}")
    return None


def _with_base_fields(record: dict[str, object], base: _Base) -> _Base:
    name, unit = record.get("bn", base.name), record.get("bu", base.unit)
    return _Base(
        name=name if isinstance(name, str) else base.name,
        time=_number(record, "bt", base.time),
        unit=unit if isinstance(unit, str) else base.unit,
        value=_number(record, "bv", base.value),
        sum=_number(record, "bs", base.sum),
    )


def _number(record: dict[str, object], key: str, default: float) -> float:
    value = record.get(key)
    return float(value) if isinstance(value, int | float) else default


def _time(seconds: float, now: datetime, context: DecodeContext) -> datetime | Rejected:
    if not math.isfinite(seconds):
        return Rejected(f"time {seconds!r} is not a finite number")
    try:
        if seconds < RELATIVE_TIME_LIMIT:
            ts = now + timedelta(seconds=seconds)
        else:
            ts = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return Rejected(f"time {seconds!r} is out of range")
    return validation.check_timestamp(ts, now, context) or ts


def _metric(record: dict[str, object], base: _Base, qualify: bool) -> str | Rejected:
    name = record.get("n")
    if isinstance(name, str) and not name.lower().startswith("urn:"):
        local = name
    else:
        unit = record.get("u", base.unit)
        by_unit = UNIT_METRICS.get(unit) if isinstance(unit, str) else None
        if by_unit is None:
            what = f"name {validation.describe(name)} names a device" if name else "it has no name"
            return Rejected(
                f"cannot name the metric: {what}, and its unit {validation.describe(unit)} "
                f"is not one of {', '.join(UNIT_METRICS)}"
            )
        local = by_unit
    raw = f"{base.name}_{local}" if qualify else local
    metric = validation.sanitize_metric_name(raw)
    if metric is None:
        return Rejected(f"name {validation.describe(raw)} has no letters or digits for a metric")
    return metric


def _values(
    record: dict[str, object], base: _Base, metric: str, ts: datetime
) -> SeriesValues | Rejected:
    values: SeriesValues = {}
    if "vb" in record:
        values[(metric, ts)] = 1.0 if record["vb"] else 0.0
    if "v" in record:
        value = validation.numeric_value(base.value + _number(record, "v", 0.0), "value")
        if isinstance(value, Rejected):
            return value
        values[(metric, ts)] = value
    if "s" in record:
        total = validation.numeric_value(base.sum + _number(record, "s", 0.0), "sum")
        if isinstance(total, Rejected):
            return total
        values[(metric[:60] + "_sum", ts)] = total
    return values
