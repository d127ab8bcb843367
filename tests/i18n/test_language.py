"""Choosing a reader's language, and what they read in it: summaries, units, numbers, CLI."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from courtyard.cli_text import _ as courtyard_text
from device_sims import text as sims_text
from device_sims.devices import KINDS as SIMULATED
from device_sims.engine import simulate
from device_sims.scenario import load_scenario
from i18n.labels import (
    CODES,
    CONTACT_FIELDS,
    KINDS,
    LABELS,
    code_label,
    contact_label,
    kind_label,
    label,
)
from i18n.languages import accepted, choose, normalize, terminal_language, translations
from i18n.localformat import measurement, measurement_pattern
from i18n.summaries import render
from ingest import kinds as ingest_kinds
from ingest.decoders import DecodeContext, Decoded, decode
from ingest.inbound import Inbound
from store.devices.catalogue import KINDS as CATALOGUE


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("zh-CN", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("ZH", "zh-CN"),
        ("zh-TW", "zh-CN"),  # Traditional readers get Simplified rather than English
        ("en-GB", "en"),
        ("en", "en"),
        ("fr-FR", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize(tag: str | None, code: str | None) -> None:
    assert normalize(tag) == code


def test_accept_language_is_read_by_weight() -> None:
    assert accepted("fr;q=0.9, en;q=0.8, zh-CN") == ["zh-CN", "fr", "en"]
    assert accepted("en;q=0, zh;q=0.5") == ["zh"]
    assert accepted("en;q=oops, zh") == ["zh"]
    assert accepted(None) == []


@pytest.mark.parametrize(
    ("setting", "header", "site", "default", "chosen"),
    [
        ("en", "zh-CN", "zh-CN", "zh-CN", "en"),  # the user's own setting first
        (None, "fr, en-US;q=0.8", "zh-CN", "zh-CN", "en"),  # then the browser's
        (None, "fr, de", "en", "zh-CN", "en"),  # then the site's default
        (None, None, None, "en", "en"),  # then the platform's
        (None, None, None, "zh-CN", "zh-CN"),
    ],
)
def test_choose(
    setting: str | None, header: str | None, site: str | None, default: str, chosen: str
) -> None:
    assert choose(setting, header, site, default) == chosen


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),
        ({"LANGUAGE": "fr:zh_CN", "LANG": "en_US.UTF-8"}, "zh-CN"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
    ],
)
def test_the_cli_speaks_the_terminals_language(environ: dict[str, str], language: str) -> None:
    assert terminal_language(environ) == language


def test_cli_messages_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    assert courtyard_text("Press Ctrl-C to stop.") == "按 Ctrl-C 停止。"
    assert sims_text._("devices") == "设备"
    monkeypatch.setenv("LANGUAGE", "en")
    assert courtyard_text("Press Ctrl-C to stop.") == "Press Ctrl-C to stop."
    assert sims_text._("devices") == "devices"


@pytest.mark.parametrize(
    ("value", "metric", "language", "shown"),
    [
        (81.5, "level_pct", "zh-CN", "81.5%"),
        (3.456, "pressure_bar", "en", "3.46 bar"),
        (21.0, "temperature_c", "zh-CN", "21°C"),
        (1234.5, "energy_kwh", "zh-CN", "1,234.5千瓦时"),
        (1234.5, "energy_kwh", "en", "1,234.5 kWh"),
        (12.0, "flow_lpm", "zh-CN", "12升/分钟"),
        (12.0, "flow_lpm", "en", "12 L/min"),
        (2.5, "current_a", "en", "2.5 A"),
        (40.0, "power_w", "zh-CN", "40瓦"),
        (30.0, "duration_s", "en", "30 sec"),
        (7.0, "door_open", "en", "7"),  # no unit suffix: a plain number
        (12.0, "starts_per_h", "zh-CN", "12/小时"),  # a rate, not a duration
        (12.0, "starts_per_h", "en", "12/h"),
        (30.0, "door_open_s", "en", "30 sec"),
        (3300.0, "voltage_mv", "zh-CN", "3,300 mV"),  # a unit CLDR has no name for
        (float("nan"), "level_pct", "en", "?"),
    ],
)
def test_measurements_carry_the_unit_of_their_metric_name(
    value: float, metric: str, language: str, shown: str
) -> None:
    assert measurement(value, metric, language) == shown


@pytest.mark.parametrize(
    ("language", "summary"),
    [
        ("zh-CN", "tank-1 的水位低于 20%（当前 12.5%）"),
        ("en", "Water level on tank-1 is below 20% (12.5%)"),
        ("fr", "Water level on tank-1 is below 20% (12.5%)"),
    ],
)
def test_a_rule_title_in_each_language(language: str, summary: str) -> None:
    key = "{metric} on {device} is below {limit} ({value})"
    args = {"metric": "level_pct", "device": "tank-1", "limit": 20, "value": 12.5}
    assert render(key, args, language) == summary


def test_a_summary_that_does_not_fit_its_arguments_is_shown_as_it_is() -> None:
    assert render("Door {device} is closed again", {}, "zh-CN") == "门 {device} 已关闭"
    assert render("Level {value:.1f} %", {"value": 12.25}, "en") == "Level 12.2 %"
    assert render("", {}, "zh-CN") == ""


def test_every_code_has_its_word_in_chinese() -> None:
    tr = translations("zh-CN")
    same = [(ctx, code) for ctx, code in CODES if code_label(ctx, code, tr) == CODES[ctx, code]]
    assert same == []
    assert code_label("status", "acknowledged", tr) == "已确认"
    assert code_label("status", "resolved", tr) == "已解决"
    assert code_label("status", "no_such_code", tr) == "no_such_code"


@pytest.mark.parametrize(
    ("metric", "language", "pattern"),
    [
        ("level_pct", "zh-CN", "{value}%"),
        ("flow_lpm", "zh-CN", "{value}升/分钟"),
        ("flow_lpm", "en", "{value} L/min"),
        ("energy_kwh", "en", "{value} kWh"),
        ("door_open", "en", "{value}"),
    ],
)
def test_the_browser_writes_a_value_as_the_server_does(
    metric: str, language: str, pattern: str
) -> None:
    assert measurement_pattern(metric, language) == pattern
    shown = measurement(12.0, metric, language)
    assert pattern.replace("{value}", "12") == shown


def _kinds_devices_can_have() -> set[str]:
    """What ingest infers from payloads, what the simulated devices are, and the catalogue."""
    rules = (*ingest_kinds.NATIVE_RULES, *ingest_kinds.ZIGBEE2MQTT_RULES)
    inferred = {kind for _, kind in rules} | {model.kind for model in SIMULATED.values()}
    return inferred | set(CATALOGUE)


def test_every_device_kind_has_its_name_in_chinese() -> None:
    tr = translations("zh-CN")
    kinds = _kinds_devices_can_have()
    assert {"booster_pump", "door_contact", "elevator", "face_gate", "bed_sensor"} <= kinds
    assert sorted(k for k in kinds if kind_label(k, tr) in (k, KINDS.get(k))) == []
    assert kind_label("booster_pump", tr) == "增压泵"
    assert kind_label("a_kind_nobody_named", tr) == "a_kind_nobody_named"


def test_every_metric_and_contact_field_we_name_has_its_chinese_name() -> None:
    tr = translations("zh-CN")
    assert [m for m, text in LABELS.items() if label(m, tr) == text] == []
    assert [f for f, text in CONTACT_FIELDS.items() if contact_label(f, tr) == text] == []
    assert contact_label("phone", tr) == "电话"
    assert contact_label("floor", tr) == "floor"


def _what_a_day_of_the_community_stores() -> tuple[set[str], set[str]]:
    """Metric names and event types of a simulated day of small-community, as ingest decodes
    them (native, SenML and Zigbee2MQTT devices alike): what the dashboard will name."""
    scenario = load_scenario("small-community")
    scenario = dataclasses.replace(scenario, duration_s=26 * 3600)
    context = DecodeContext(
        zigbee2mqtt_bases={scenario.z2m_base: scenario.site.id},
        retention_days=100_000,
        future_tolerance_s=1e12,
    )
    metrics: set[str] = set()
    events: set[str] = set()
    for out in simulate(scenario):
        decoded = decode(
            Inbound(out.topic, out.payload, datetime.fromtimestamp(out.ts, UTC)), context
        )
        if isinstance(decoded, Decoded):
            metrics.update(r.metric for r in decoded.readings)
            events.update(e.type for e in decoded.events)
    return metrics, events


def test_every_metric_and_event_a_community_sends_has_its_chinese_name() -> None:
    metrics, events = _what_a_day_of_the_community_stores()
    assert {"level_pct", "linkquality", "starts_per_h", "occupancy"} <= metrics  # z2m included
    assert {"pump_start", "elevator_trip", "access_granted"} <= events
    tr = translations("zh-CN")
    assert (
        sorted(name for name in metrics | events if label(name, tr) in (name, LABELS.get(name)))
        == []
    )
