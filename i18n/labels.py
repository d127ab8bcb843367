"""Words for codes: what people read beside the stable English codes the API and payloads keep.

Statuses, severities, categories, care outcomes, alert changes, and the metric and event names
devices send. Each is a msgid with a context (`pgettext`), since "Open" the status and "Open"
the button are not one word in every language.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping

from i18n.languages import N_, NC_

STATUS = "status"
SEVERITY = "severity"
#: A severity inside a sentence ("New warning alert: ..."), lower case where a language has it.
SEVERITY_WORD = "severity_word"
CATEGORY = "category"
OUTCOME = "outcome"
CHANGE = "change"

#: (context, code) → English label (the msgid, looked up in that context).
CODES: Mapping[tuple[str, str], str] = {
    (STATUS, "open"): NC_("status", "Open"),
    (STATUS, "acknowledged"): NC_("status", "Acknowledged"),
    (STATUS, "resolved"): NC_("status", "Resolved"),
    (SEVERITY, "info"): NC_("severity", "Info"),
    (SEVERITY, "warning"): NC_("severity", "Warning"),
    (SEVERITY, "critical"): NC_("severity", "Critical"),
    (SEVERITY_WORD, "info"): NC_("severity_word", "info"),
    (SEVERITY_WORD, "warning"): NC_("severity_word", "warning"),
    (SEVERITY_WORD, "critical"): NC_("severity_word", "critical"),
    (CATEGORY, "maintenance"): NC_("category", "Maintenance"),
    (CATEGORY, "care"): NC_("category", "Care"),
    (CATEGORY, "security"): NC_("category", "Security"),
    (OUTCOME, "resident_fine"): NC_("outcome", "Resident is fine"),
    (OUTCOME, "needed_help"): NC_("outcome", "Needed help"),
    (OUTCOME, "no_answer"): NC_("outcome", "No answer"),
    (OUTCOME, "false_alarm"): NC_("outcome", "False alarm"),
    (CHANGE, "raised"): NC_("change", "Raised"),
    (CHANGE, "repeated"): NC_("change", "Repeated"),
    (CHANGE, "acknowledged"): NC_("change", "Acknowledged"),
    (CHANGE, "assigned"): NC_("change", "Assigned"),
    (CHANGE, "commented"): NC_("change", "Commented"),
    (CHANGE, "outcome"): NC_("change", "Outcome recorded"),
    (CHANGE, "resolved"): NC_("change", "Resolved"),
    (CHANGE, "auto_resolved"): NC_("change", "Cleared by itself"),
    (CHANGE, "escalated"): NC_("change", "Escalated"),
    (CHANGE, "reminded"): NC_("change", "Reminder sent"),
}


def code_label(context: str, code: str, tr: gettext.NullTranslations) -> str:
    """The label of `code` in `context` for a reader of `tr`'s language; unknown codes as is."""
    msgid = CODES.get((context, code))
    return code if msgid is None else tr.pgettext(context, msgid)


#: What people call the metrics and event types devices send (wire names stay as they are in
#: the payload and the API; a name not listed here is shown as it is).
LABELS: Mapping[str, str] = {
    "level_pct": N_("Water level"),
    "pressure_bar": N_("Water pressure"),
    "flow_lpm": N_("Flow"),
    "temperature_c": N_("Temperature"),
    "device_temperature_c": N_("Device temperature"),
    "humidity_pct": N_("Humidity"),
    "battery_pct": N_("Battery"),
    "energy_kwh": N_("Energy"),
    "power_w": N_("Power"),
    "current_a": N_("Current"),
    "voltage_v": N_("Voltage"),
    "pressure_hpa": N_("Air pressure"),
    "illuminance_lux": N_("Illuminance"),
    "water_m3": N_("Water meter"),
    "volume_m3": N_("Volume"),
    "frequency_hz": N_("Frequency"),
    "voltage_mv": N_("Voltage"),
    "door_open": N_("Door"),
    "door_open_s": N_("Door open time"),
    "door_cycles": N_("Door cycles"),
    "running": N_("Running"),
    "starts_per_h": N_("Starts per hour"),
    "inlet_open": N_("Inlet valve open"),
    "flow": N_("Flow"),
    "floor": N_("Floor"),
    "trips": N_("Trips"),
    "vibration_rms_g": N_("Vibration (g)"),
    "granted_count": N_("Access granted (count)"),
    "denied_count": N_("Access denied (count)"),
    "occupancy": N_("Occupancy"),
    "smoke": N_("Smoke"),
    "water_leak": N_("Water leak"),
    "on": N_("Switched on"),
    "state": N_("On or off"),
    "linkquality": N_("Signal quality"),
    # Event types
    "pump_start": N_("Pump start"),
    "pump_stop": N_("Pump stop"),
    "access_denied": N_("Access denied"),
    "access_granted": N_("Access granted"),
    "door_closed": N_("Door closed"),
    "door_cycle": N_("Door cycle"),
    "elevator_trip": N_("Elevator trip"),
    "motion": N_("Motion"),
    "sos": N_("SOS call"),
}


def label(name: str, tr: gettext.NullTranslations) -> str:
    """A metric's or event type's name for people, translated; unknown names as they are."""
    return _named(LABELS, name, tr)


def _named(names: Mapping[str, str], code: str, tr: gettext.NullTranslations) -> str:
    known = names.get(code)
    return code if known is None else tr.gettext(known)


#: What people call the kinds of device: the catalogue's codes (store/devices/catalogue.py), and
#: the codes earlier versions inferred (door_sensor, meter, card_reader, equipment_room), for
#: stores not migrated yet. An operator's own kind carries its own name; a kind not listed here
#: is shown as it is.
KINDS: Mapping[str, str] = {
    "water_tank": N_("Water tank"),
    "booster_pump": N_("Booster pump"),
    "elevator": N_("Elevator"),
    "street_light": N_("Street light"),
    "room_climate": N_("Equipment-room climate sensor"),
    "smoke_detector": N_("Smoke detector"),
    "leak_detector": N_("Leak detector"),
    "water_meter": N_("Water meter"),
    "electricity_meter": N_("Electricity meter"),
    "gate_reader": N_("Gate card reader"),
    "face_gate": N_("Face recognition gate"),
    "unit_door": N_("Unit door"),
    "door_contact": N_("Door or window contact"),
    "motion_sensor": N_("Motion sensor"),
    "bed_sensor": N_("Bed sensor"),
    "seat_sensor": N_("Seat sensor"),
    "sos_button": N_("SOS button"),
    "fall_detector": N_("Fall detector"),
    "smart_plug": N_("Smart plug"),
    "climate_sensor": N_("Temperature and humidity sensor"),
    "water_flow_sensor": N_("Water flow sensor"),
    "button": N_("Button"),
    "other": N_("Other device"),
    "door_sensor": N_("Door sensor"),
    "meter": N_("Meter"),
    "card_reader": N_("Card reader"),
    "equipment_room": N_("Equipment room"),
    # Not a kind: what a site's overview counts the devices under whose kind nobody knows yet.
    "unknown": N_("Kind not known yet"),
}

#: What people call the kind catalogue's categories.
KIND_CATEGORIES: Mapping[str, str] = {
    "facility": N_("Shared facilities"),
    "access": N_("Access control"),
    "home": N_("In the home"),
    "other": N_("Other"),
}

#: What people call a device's role in its household (store.devices.catalogue.Role).
ROLES: Mapping[str, str] = {
    "front_door": N_("Front door"),
    "other_door": N_("Other door"),
    "motion": N_("Motion in a room"),
    "bed": N_("Bed"),
    "seat": N_("Seat or sofa"),
    "sos": N_("SOS"),
    "appliance": N_("Appliance"),
    "other": N_("Other"),
}

#: What people call the rooms suggestions name (store.devices.catalogue.ROOMS); a room people
#: typed is shown as they typed it.
ROOMS: Mapping[str, str] = {
    "bedroom": N_("Bedroom"),
    "bathroom": N_("Bathroom"),
    "kitchen": N_("Kitchen"),
    "living_room": N_("Living room"),
    "balcony": N_("Balcony"),
    "fridge": N_("Fridge"),
    "cupboard": N_("Cupboard"),
    "hallway": N_("Hallway"),
    "entrance": N_("Entrance"),
}

#: What people call the usual fields of a resident's contact details (free-form: a field not
#: listed here is shown under the name it was given).
CONTACT_FIELDS: Mapping[str, str] = {
    "name": N_("Name"),
    "phone": N_("Phone"),
    "mobile": N_("Mobile phone"),
    "tel": N_("Phone"),
    "landline": N_("Landline"),
    "address": N_("Address"),
    "email": N_("Email"),
    "wechat": N_("WeChat"),
    "relative": N_("Relative"),
    "emergency_contact": N_("Emergency contact"),
    "emergency_phone": N_("Emergency phone"),
    "notes": N_("Notes"),
}


def kind_label(kind: str, tr: gettext.NullTranslations) -> str:
    """A device kind's name for people, translated; unknown kinds as they are."""
    return _named(KINDS, kind, tr)


def kind_category_label(category: str, tr: gettext.NullTranslations) -> str:
    return _named(KIND_CATEGORIES, category, tr)


def role_label(role: str, tr: gettext.NullTranslations) -> str:
    """A household role's name for people, translated; unknown roles as they are."""
    return _named(ROLES, role, tr)


def room_label(room: str, tr: gettext.NullTranslations) -> str:
    """A room's name for people: the rooms suggestions name are translated, others as typed."""
    return _named(ROOMS, room, tr)


def contact_label(field: str, tr: gettext.NullTranslations) -> str:
    """The name of a contact-details field for people, translated; others as they are."""
    return _named(CONTACT_FIELDS, field, tr)
