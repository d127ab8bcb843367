"""Times, numbers and measured values as a reader of a language reads them (Babel, CLDR data).

Times are shown in a place's IANA zone, 24-hour, with the date in the language's medium form
("2026年11月28日 16:00", "Nov 28, 2026, 16:00"). Where a time could be ambiguous (a reader in
another zone, or the repeated hour of a daylight-saving change) the zone's specific name goes
beside it: "中欧夏令时间" and "中欧标准时间" tell the two 02:30 of a fall-back night apart.

A metric's unit comes from its name's suffix, as the wire format writes them (`level_pct`,
`temp_c`, `energy_kwh`...); CLDR's unit names make `12.5千瓦时` and `12.5 kWh`.
"""

from __future__ import annotations

import math
from datetime import datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from babel.numbers import format_decimal
from babel.units import format_compound_unit, format_unit

from i18n.languages import babel_locale

#: Metric name suffix → CLDR unit (or a (numerator, denominator) pair of them). Longest
#: suffixes are tried first, so `_kwh` wins over `_h` and `_kpa` over `_a`.
UNITS: dict[str, str | tuple[str, str]] = {
    "pct": "percent",
    "c": "temperature-celsius",
    "kwh": "energy-kilowatt-hour",
    "wh": "energy-watt-hour",
    "bar": "pressure-bar",
    "kpa": "pressure-kilopascal",
    "hpa": "pressure-hectopascal",
    "a": "electric-ampere",
    "v": "electric-volt",
    "w": "power-watt",
    "kw": "power-kilowatt",
    "lpm": ("volume-liter", "duration-minute"),
    "l": "volume-liter",
    "m3": "volume-cubic-meter",
    "m": "length-meter",
    "mm": "length-millimeter",
    "s": "duration-second",
    "min": "duration-minute",
    "h": "duration-hour",
    "hz": "frequency-hertz",
    "lux": "light-lux",
    "mps": "speed-meter-per-second",
}
#: Fraction digits shown for a measured value: enough for a tank level or a temperature,
#: few enough that a reading is read at a glance.
VALUE_PATTERN = "#,##0.##"


#: Units CLDR has no name for, written the same in every language.
SYMBOLS: dict[str, str] = {"mv": "mV"}
#: `<what>_per_<time>`: a count in each such time (`starts_per_h`), not a duration.
_PER = "_per_"

Unit = str | tuple[str | None, str]


def unit_of(metric: str | None) -> Unit | None:
    """The CLDR unit a metric's name ends in, None when it names none we know. A rate
    (`starts_per_h`) is (None, the time unit): "12/h", "12/小时"."""
    if not metric or "_" not in metric:
        return None
    head, suffix = metric.rsplit("_", 1)
    unit = UNITS.get(suffix)
    if (head + "_").endswith(_PER) and isinstance(unit, str) and unit.startswith("duration-"):
        return (None, unit)
    return unit


def number(value: float, language: str, pattern: str = VALUE_PATTERN) -> str:
    """A number in the language's digits and separators; an unknown (NaN, inf) value is '?'."""
    if not math.isfinite(value):
        return "?"
    return str(format_decimal(value, format=pattern, locale=babel_locale(language)))


def measurement(value: float, metric: str | None, language: str) -> str:
    """A metric's value with its unit: "81.5%", "12.5千瓦时", "3 L/min"."""
    if not math.isfinite(value):
        return "?"
    return _with_unit(value, metric, VALUE_PATTERN, language)


#: A number no unit's name contains, standing in for the value in `measurement_pattern`.
_STAND_IN = 7654321


def measurement_pattern(metric: str | None, language: str) -> str:
    """How a value of `metric` is written, with `{value}` where the number goes ("{value}%",
    "{value} L/min"): for the browser, which formats the numbers it draws."""
    formatted = _with_unit(_STAND_IN, metric, "0", language)
    return formatted.replace(str(_STAND_IN), "{value}")


def _with_unit(value: float, metric: str | None, pattern: str, language: str) -> str:
    locale = babel_locale(language)
    symbol = SYMBOLS.get(metric.rsplit("_", 1)[-1]) if metric and "_" in metric else None
    if symbol is not None:
        return f"{number(value, language, pattern)} {symbol}"
    unit = unit_of(metric)
    if isinstance(unit, tuple):
        return str(
            format_compound_unit(
                value,
                unit[0],
                denominator_unit=unit[1],
                length="short",
                format=pattern,
                locale=locale,
            )
        )
    if unit is not None:
        return str(format_unit(value, unit, length="short", format=pattern, locale=locale))
    return number(value, language, pattern)


def local_datetime(at: datetime, zone: str, language: str, *, with_zone: bool = False) -> str:
    """`at` (aware) as a local date and time in `zone`; the zone's name beside it if asked."""
    tz = ZoneInfo(zone)
    text = str(format_datetime(at, _datetime_pattern(language), tzinfo=tz, locale=_loc(language)))
    return f"{text} ({zone_name(at, zone, language)})" if with_zone else text


def local_clock(at: datetime | time, zone: str | None, language: str) -> str:
    """The time of day alone (24-hour): a datetime is converted to `zone`, a time is as it is."""
    tz = ZoneInfo(zone) if zone is not None and isinstance(at, datetime) else None
    return str(format_time(at, "HH:mm", tzinfo=tz, locale=_loc(language)))


def zone_name(at: datetime, zone: str, language: str) -> str:
    """The zone's specific name at `at`: summer and winter time are told apart."""
    return str(format_datetime(at, "zzzz", tzinfo=ZoneInfo(zone), locale=_loc(language)))


def _loc(language: str) -> str:
    return str(babel_locale(language))


@lru_cache(maxsize=8)
def _datetime_pattern(language: str) -> str:
    # The language's own order of date and time ("{1} {0}", "{1}, {0}"), a 24-hour clock.
    locale = babel_locale(language)
    date = locale.date_formats["medium"].pattern
    combined = str(locale.datetime_formats["medium"])
    return combined.replace("{1}", date).replace("{0}", "HH:mm")
