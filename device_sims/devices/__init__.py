"""The catalogue of facility device models, by kind."""

from __future__ import annotations

from collections.abc import Mapping

from device_sims.devices.access import CardReader, FaceGate, UnitDoor
from device_sims.devices.base import DeviceModel, DeviceSpec, Site
from device_sims.devices.climate import EquipmentRoom
from device_sims.devices.detectors import LeakDetector, SmokeDetector
from device_sims.devices.elevator import Elevator
from device_sims.devices.lights import StreetLight
from device_sims.devices.meters import ElectricityMeter, WaterMeter
from device_sims.devices.water import BoosterPump, WaterTank

KINDS: Mapping[str, type[DeviceModel]] = {
    cls.kind: cls
    for cls in (
        WaterTank,
        BoosterPump,
        Elevator,
        EquipmentRoom,
        StreetLight,
        SmokeDetector,
        LeakDetector,
        ElectricityMeter,
        WaterMeter,
        CardReader,
        FaceGate,
        UnitDoor,
    )
}

#: Default reporting intervals (seconds), what such devices typically use.
DEFAULT_INTERVAL_S: Mapping[str, float] = {
    "water_tank": 60.0,
    "booster_pump": 30.0,
    "elevator": 60.0,
    "equipment_room": 300.0,
    "street_light": 300.0,
    "smoke_detector": 3000.0,
    "leak_detector": 3000.0,
    "electricity_meter": 900.0,
    "water_meter": 900.0,
    "card_reader": 300.0,
    "face_gate": 300.0,
    "unit_door": 3600.0,
}

__all__ = ["DEFAULT_INTERVAL_S", "KINDS", "DeviceModel", "DeviceSpec", "Site"]
