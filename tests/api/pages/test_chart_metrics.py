"""The metric a device's chart opens on."""

from __future__ import annotations

from api.pages.chart_metrics import primary_metric


def test_a_tank_opens_on_its_level_not_the_first_name() -> None:
    metrics = ["battery_pct", "inlet_open", "level_pct"]
    assert primary_metric("water_tank", metrics, set(metrics)) == "level_pct"


def test_a_pump_without_pressure_data_takes_its_next_best() -> None:
    metrics = ["current_a", "pressure_bar", "running"]
    assert primary_metric("booster_pump", metrics, {"current_a", "running"}) == "current_a"


def test_an_unknown_kind_opens_on_a_measured_metric_with_data() -> None:
    metrics = ["alarm", "door_open", "hum", "temp"]
    assert primary_metric(None, metrics, {"door_open", "temp"}) == "temp"
    assert primary_metric("gadget", metrics, {"door_open"}) == "door_open"
    assert primary_metric("gadget", metrics, set()) == "alarm"
    assert primary_metric("gadget", [], set()) is None
