"""Tests for ingest/decoders/senml.py: every RFC 8428 §5.1 example, then the edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ingest.decoders import senml
from ingest.decoders.result import DecodeContext, Rejected

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CONTEXT = DecodeContext()
S = timedelta(seconds=1)

# --- RFC 8428 §5.1, verbatim -------------------------------------------------------------------

RFC_5_1_1 = """[
     {"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}
   ]"""
RFC_5_1_2_NOW = """[
  {"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},
  {"n":"current","u":"A","v":1.2}
]"""
RFC_5_1_2_SERIES = """[
     {"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,
      "bu":"A","bver":5,
      "n":"voltage","u":"V","v":120.1},
     {"n":"current","t":-5,"v":1.2},
     {"n":"current","t":-4,"v":1.3},
     {"n":"current","t":-3,"v":1.4},
     {"n":"current","t":-2,"v":1.5},
     {"n":"current","t":-1,"v":1.6},
     {"n":"current","v":1.7}
   ]"""
# The RFC prints this SensML stream open-ended ("..."); it is closed after the last record shown.
RFC_5_1_2_STREAM = """[
     {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
      "bu":"%RH","v":21.2},
     {"t":10,"v":21.3},
     {"t":20,"v":21.4},
     {"t":30,"v":21.4},
     {"t":40,"v":21.5},
     {"t":50,"v":21.5},
     {"t":60,"v":21.5},
     {"t":70,"v":21.6},
     {"t":80,"v":21.7}
   ]"""
RFC_5_1_3 = """[
     {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
      "bu":"%RH","v":20},
     {"u":"lon","v":24.30621},
     {"u":"lat","v":60.07965},
     {"t":60,"v":20.3},
     {"u":"lon","t":60,"v":24.30622},
     {"u":"lat","t":60,"v":60.07965},
     {"t":120,"v":20.7},
     {"u":"lon","t":120,"v":24.30623},
     {"u":"lat","t":120,"v":60.07966},
     {"u":"%EL","t":150,"v":98},
     {"t":180,"v":21.2},
     {"u":"lon","t":180,"v":24.30628},
     {"u":"lat","t":180,"v":60.07967}
   ]"""
RFC_5_1_4 = """[
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067464e+09,
      "v":20},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067464e+09,
      "v":24.30621},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067464e+09,
      "v":60.07965},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067524e+09,
      "v":20.3},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067524e+09,
      "v":24.30622},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067524e+09,
      "v":60.07965},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067584e+09,
      "v":20.7},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067584e+09,
      "v":24.30623},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067584e+09,
      "v":60.07966},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%EL","t":1.320067614e+09,
      "v":98},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067644e+09,
      "v":21.2},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067644e+09,
      "v":24.30628},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067644e+09,
      "v":60.07967}
   ]"""
RFC_5_1_5 = """[
    {"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},
    {"n":"label","vs":"Machine Room"},
    {"n":"open","vb":false},
    {"n":"nfv-reader","vd":"aGkgCg"}
  ]"""
RFC_5_1_6 = """[
     {"bn":"2001:db8::2/","bt":1.320078429e+09,
      "n":"temperature","u":"Cel","v":25.2},
     {"n":"humidity","u":"%RH","v":30},
     {"bn":"2001:db8::1/","n":"temperature","u":"Cel","v":12.3},
     {"n":"humidity","u":"%RH","v":67}
   ]"""
RFC_5_1_7_THERMOSTAT = """[
     {"bn":"urn:dev:ow:10e2073a01080063:"},
     {"n":"temp","u":"Cel","v":23.1},
     {"n":"heat","u":"/","v":1},
     {"n":"fan","u":"/","v":0}
   ]"""
RFC_5_1_7_LIGHTS_ON = """[
     {"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":1},
     {"n":"2001:db8::4","v":1}
   ]"""
RFC_5_1_7_LIGHTS_OFF = """[
     {"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":0.5},
     {"n":"2001:db8::4","v":0.5},
     {"n":"2001:db8::3","t":0.1,"v":0},
     {"n":"2001:db8::4","t":0.1,"v":0}
   ]"""

T_2010 = datetime(2010, 6, 8, 18, 1, 16, 1000, tzinfo=UTC)  # bt 1.276020076001e+09
T_2011 = datetime(2011, 10, 31, 13, 24, 24, tzinfo=UTC)  # bt 1.320067464e+09
T_2011_PM = datetime(2011, 10, 31, 16, 27, 9, tzinfo=UTC)  # bt 1.320078429e+09

Expected = list[tuple[str, datetime, float]]

POSITIONS: Expected = [
    ("humidity_pct", T_2011, 20), ("longitude", T_2011, 24.30621), ("latitude", T_2011, 60.07965),
    ("humidity_pct", T_2011 + 60 * S, 20.3), ("longitude", T_2011 + 60 * S, 24.30622),
    ("latitude", T_2011 + 60 * S, 60.07965),
    ("humidity_pct", T_2011 + 120 * S, 20.7), ("longitude", T_2011 + 120 * S, 24.30623),
    ("latitude", T_2011 + 120 * S, 60.07966),
    ("battery_pct", T_2011 + 150 * S, 98),
    ("humidity_pct", T_2011 + 180 * S, 21.2), ("longitude", T_2011 + 180 * S, 24.30628),
    ("latitude", T_2011 + 180 * S, 60.07967),
]  # fmt: skip

RFC_EXAMPLES: list[tuple[str, str, datetime, Expected]] = [
    ("5.1.1 single data point", RFC_5_1_1, NOW, [("temperature_c", NOW, 23.1)]),
    ("5.1.2 now", RFC_5_1_2_NOW, NOW, [("voltage", NOW, 120.1), ("current", NOW, 1.2)]),
    (
        "5.1.2 series",
        RFC_5_1_2_SERIES,
        T_2010 + 60 * S,
        [("voltage", T_2010, 120.1)]
        + [
            ("current", T_2010 - k * S, v)
            for k, v in [(5, 1.2), (4, 1.3), (3, 1.4), (2, 1.5), (1, 1.6), (0, 1.7)]
        ],
    ),  # fmt: skip
    (
        "5.1.2 stream",
        RFC_5_1_2_STREAM,
        T_2011 + 90 * S,
        [
            ("humidity_pct", T_2011 + k * 10 * S, v)
            for k, v in enumerate([21.2, 21.3, 21.4, 21.4, 21.5, 21.5, 21.5, 21.6, 21.7])
        ],
    ),  # fmt: skip
    ("5.1.3 multiple measurements", RFC_5_1_3, T_2011 + 200 * S, POSITIONS),
    ("5.1.4 resolved data", RFC_5_1_4, T_2011 + 200 * S, POSITIONS),
    ("5.1.5 data types", RFC_5_1_5, NOW, [("temp", NOW, 23.1), ("open", NOW, 0.0)]),
    (
        "5.1.6 collection of resources",
        RFC_5_1_6,
        T_2011_PM,
        [
            ("m_2001_db8_2_temperature", T_2011_PM, 25.2),
            ("m_2001_db8_2_humidity", T_2011_PM, 30),
            ("m_2001_db8_1_temperature", T_2011_PM, 12.3),
            ("m_2001_db8_1_humidity", T_2011_PM, 67),
        ],
    ),  # fmt: skip
    (
        "5.1.7 thermostat",
        RFC_5_1_7_THERMOSTAT,
        NOW,
        [("temp", NOW, 23.1), ("heat", NOW, 1), ("fan", NOW, 0)],
    ),
    (
        "5.1.7 lights on",
        RFC_5_1_7_LIGHTS_ON,
        T_2011_PM,
        [("m_2001_db8_3", T_2011_PM, 1), ("m_2001_db8_4", T_2011_PM, 1)],
    ),
    (
        "5.1.7 lights off",
        RFC_5_1_7_LIGHTS_OFF,
        T_2011_PM,
        [
            ("m_2001_db8_3", T_2011_PM, 0.5),
            ("m_2001_db8_4", T_2011_PM, 0.5),
            ("m_2001_db8_3", T_2011_PM + S / 10, 0),
            ("m_2001_db8_4", T_2011_PM + S / 10, 0),
        ],
    ),  # fmt: skip
]


def read(pack: str | list[object], now: datetime = NOW) -> senml.SeriesValues | Rejected:
    data = orjson.loads(pack) if isinstance(pack, str) else pack
    return senml.read_pack(data, now, CONTEXT)


@pytest.mark.parametrize(
    ("pack", "now", "expected"), [example[1:] for example in RFC_EXAMPLES],
    ids=[example[0] for example in RFC_EXAMPLES],
)  # fmt: skip
def test_rfc_8428_examples(pack: str, now: datetime, expected: Expected) -> None:
    assert senml.is_pack(orjson.loads(pack))
    values = read(pack, now)
    assert not isinstance(values, Rejected), values
    assert sorted((m, ts, v) for (m, ts), v in values.items()) == sorted(expected)


@pytest.mark.parametrize(
    ("pack", "expected"),
    [
        # Base value and base sum are added; the sum is its own metric.
        ([{"bn": "d:", "bv": 100, "bs": 10, "n": "flow", "v": 1.5, "s": 2}],
         {"flow": 101.5, "flow_sum": 12.0}),
        # Base fields carry forward until a later record sets them again (§4.1).
        ([{"bu": "Cel", "bv": 1, "v": 1}, {"n": "x", "v": 2}, {"bv": 0, "n": "y", "v": 3}],
         {"temperature_c": 2.0, "x": 3.0, "y": 3.0}),
        # A record's own unit overrides the base unit.
        ([{"bu": "W", "u": "kWh", "v": 7}, {"v": 8}], {"energy_kwh": 7.0, "power_w": 8.0}),
        # Exponent notation and integers.
        ([{"n": "a", "v": 1.5e2}, {"n": "b", "v": -3}], {"a": 150.0, "b": -3.0}),
        ([{"n": "on", "vb": True}], {"on": 1.0}),
        ([{"n": "Temp-Room 1", "v": 1}], {"temp_room_1": 1.0}),
        # The same metric at the same time twice: the last is kept.
        ([{"n": "a", "v": 1}, {"n": "a", "v": 2}], {"a": 2.0}),
        # Unknown fields are ignored; ut (update time) carries nothing to store.
        ([{"n": "a", "v": 1, "ut": 60, "foo": "bar"}], {"a": 1.0}),
        # A record with a sum and no value.
        ([{"n": "rain", "s": 4}], {"rain_sum": 4.0}),
        # String and data values are skipped, even without a name.
        ([{"vs": "x"}, {"vd": "aGk"}, {"n": "a", "v": 1}], {"a": 1.0}),
        # Base-only records carry no value.
        ([{"bn": "urn:dev:x:"}, {"bt": 0}], {}),
    ],
)  # fmt: skip
def test_resolution(pack: list[object], expected: dict[str, float]) -> None:
    values = read(pack)
    assert not isinstance(values, Rejected), values
    assert {metric: value for (metric, _), value in values.items()} == expected


@pytest.mark.parametrize(
    ("pack", "expected"),
    [
        ([{"n": "a", "v": 1}], NOW),
        ([{"n": "a", "t": -90, "v": 1}], NOW - 90 * S),
        ([{"bt": -30, "n": "a", "t": 20, "v": 1}], NOW - 10 * S),
        ([{"n": "a", "t": 120, "v": 1}], NOW + 120 * S),  # relative future, within the tolerance
        ([{"n": "a", "t": 1772366400, "v": 1}], NOW),  # absolute, 2**28 or more
        ([{"bt": 1772366000, "n": "a", "t": 400, "v": 1}], NOW),
    ],
)  # fmt: skip
def test_time(pack: list[object], expected: datetime) -> None:
    values = read(pack)
    assert not isinstance(values, Rejected), values
    assert [ts for _, ts in values] == [expected]


@pytest.mark.parametrize(
    ("pack", "reason"),
    [
        ([], "a SenML pack must be a non-empty JSON array of records"),
        ({"n": "a"}, "a SenML pack must be a non-empty JSON array of records"),
        ([{"n": "a", "v": 1}, 5], "SenML record 2 of 2: expected an object, got 5"),
        ([{"v": 1}], "SenML record 1 of 1: cannot name the metric: it has no name, and its unit "
                     "null is not one of Cel, K, %RH"),
        ([{"bu": "furlong", "v": 1}], 'cannot name the metric: it has no name, and its unit '
                                      '"furlong" is not one of'),
        ([{"n": "urn:dev:ow:1", "v": 1}], 'cannot name the metric: name "urn:dev:ow:1" names a '
                                          "device, and its unit null"),
        ([{"n": "::", "v": 1}], 'SenML record 1 of 1: name "::" has no letters or digits'),
        ([{"n": "a", "v": "1"}], 'SenML record 1 of 1: "v" must be a number, got "1"'),
        ([{"n": "a", "v": True}], '"v" must be a number, got true'),
        ([{"n": 5, "v": 1}], '"n" must be a string, got 5'),
        ([{"n": "a", "vb": 1}], '"vb" must be true or false, got 1'),
        ([{"n": "a", "v": 1, "vs": "x"}], "has 2 value fields (v, vs); one is allowed"),
        ([{"bver": 11, "n": "a", "v": 1}], "SenML version 11 is newer than the supported 10"),
        ([{"bver": 1.5, "n": "a", "v": 1}], '"bver" must be a positive integer, got 1.5'),
        ([{"n": "a", "v": 1, "bn_": "x"}], 'unsupported must-understand field "bn_" (RFC 8428'),
        ([{"bv": 1e308, "n": "a", "v": 1e308}], "value is not a finite number: inf"),
        ([{"bs": -1e308, "n": "a", "s": -1e308}], "sum is not a finite number: -inf"),
        ([{"bt": 1e300, "n": "a", "v": 1}], "time 1e+300 is out of range"),
        ([{"bt": -1e300, "n": "a", "v": 1}], "time -1e+300 is out of range"),
        ([{"bt": 1e308, "t": 1e308, "n": "a", "v": 1}], "time inf is not a finite number"),
        ([{"n": "a", "t": 600, "v": 1}], "is 600 s in the future (tolerance 300 s)"),
        ([{"n": "a", "t": 1.3e9, "v": 1}], "older than the retention window of 365 days"),
        ([{"n": "a", "v": 1}, {"n": "b", "v": 1, "t": -4e7}],
         "SenML record 2 of 2: timestamp 2024-11-23T12:53:20.000Z is 463 days old"),
    ],
)  # fmt: skip
def test_rejects_the_whole_pack(pack: object, reason: str) -> None:
    values = senml.read_pack(pack, NOW, CONTEXT)
    assert isinstance(values, Rejected), values
    assert reason in values.reason


@pytest.mark.parametrize(
    ("data", "is_pack"),
    [
        ([{"n": "a", "v": 1}], True),
        ([{"bn": "x"}, {"v": 1}], True),
        ([{"readings": {"a": 1}}], False),
        ([{"n": "a", "v": 1}, {"readings": {"a": 1}}], False),
        ([{"ts": 1}], False),
        ([{"n": "a"}, 5], False),
        ([], False),
        ({"n": "a", "v": 1}, False),
        ("x", False),
    ],
)  # fmt: skip
def test_is_pack(data: object, is_pack: bool) -> None:
    assert senml.is_pack(data) is is_pack
