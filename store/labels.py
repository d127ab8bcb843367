"""Words for codes: what people read beside the stable English codes the API and payloads keep.

Statuses, severities, categories, care outcomes, alert changes, and the metric and event names
devices send. Each is a msgid with a context (`pgettext`), since "Open" the status and "Open"
the button are not one word in every language.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping

from store.i18n import N_, NC_

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
    "door_open": N_("Door"),
    "running": N_("Running"),
    "pump_start": N_("Pump start"),
    "access_denied": N_("Access denied"),
    "access_granted": N_("Access granted"),
    "door_cycle": N_("Door cycle"),
    "motion": N_("Motion"),
}


def label(name: str, tr: gettext.NullTranslations) -> str:
    """A metric's or event type's name for people, translated; unknown names as they are."""
    known = LABELS.get(name)
    return name if known is None else tr.gettext(known)
