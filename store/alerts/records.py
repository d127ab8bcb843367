"""Alert records: the Alert and AlertChange rows, their enums, and the errors alert changes raise.

Errors::

    AlertError
    ├── AlertNotFound       no alert with that id (also a LookupError)
    ├── PersonNotFound      assigning to someone who is not in `people` (also a LookupError)
    └── InvalidTransition   the alert's status does not allow the change (resolved is final)
        └── NotCareAlert    a care outcome on a maintenance or security alert
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from i18n.given_names import GivenName


class Category(StrEnum):
    MAINTENANCE = "maintenance"
    CARE = "care"
    SECURITY = "security"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ChangeKind(StrEnum):
    RAISED = "raised"
    REPEATED = "repeated"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    COMMENTED = "commented"
    OUTCOME = "outcome"
    RESOLVED = "resolved"
    AUTO_RESOLVED = "auto_resolved"
    ESCALATED = "escalated"
    REMINDED = "reminded"


class CareOutcome(StrEnum):
    RESIDENT_FINE = "resident_fine"
    NEEDED_HELP = "needed_help"
    NO_ANSWER = "no_answer"
    FALSE_ALARM = "false_alarm"


#: Care escalation: 1 primary volunteers, 2 backup volunteers, 3 the site's staff.
MAX_ESCALATION_TIER = 3


class AlertError(Exception):
    """Base of the errors store.alerts.transitions and store.alerts.escalations raise on purpose."""


class AlertNotFound(AlertError, LookupError):
    def __init__(self, alert_id: int) -> None:
        super().__init__(f"no alert with id {alert_id}")
        self.alert_id = alert_id


class PersonNotFound(AlertError, LookupError):
    def __init__(self, person_id: str) -> None:
        super().__init__(f"no person with id {person_id!r}")
        self.person_id = person_id


class InvalidTransition(AlertError):
    """The change does not apply to the alert in its current status."""


class NotCareAlert(InvalidTransition):
    """A care outcome was recorded on an alert that is not a care alert."""


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    dedup_key: str
    rule_id: str
    site_id: str
    subject: str
    household_id: str | None
    category: str
    severity: str
    status: str
    summary_key: str
    summary_args: dict[str, object]
    value: float | None
    metric: str | None
    first_seen: datetime
    last_seen: datetime
    occurrences: int
    assignee: str | None
    outcome: str | None
    escalation_tier: int
    next_escalation_at: datetime | None
    next_reminder_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    #: The names people gave the alert's devices (its subject, its `device` argument), by
    #: device id, as the alert was read for readers (store.alerts.named); not a column.
    device_names: Mapping[str, GivenName] = field(
        default_factory=dict, compare=False, metadata={"column": False}
    )
    #: The label of the alert's household, read with it likewise; not a column.
    household_label: str | None = field(default=None, compare=False, metadata={"column": False})

    def device_name(self, device_key: str, language: str) -> str:
        """`device_key`'s name for a reader of `language`, else the id itself."""
        given = self.device_names.get(device_key)
        return device_key if given is None else given.in_language(language, device_key)

    @property
    def household_labels(self) -> dict[str, str]:
        """household id -> label, for summaries (empty when the label was not read)."""
        if self.household_id is None or not self.household_label:
            return {}
        return {self.household_id: self.household_label}

    def subject_name(self, language: str) -> str:
        """What the alert is about as people call it: the name of its device, the label of its
        household, else the subject id."""
        if self.subject in self.device_names:
            return self.device_name(self.subject, language)
        if self.subject == self.household_id and self.household_label:
            return self.household_label
        return self.subject


@dataclass(frozen=True, slots=True)
class AlertChange:
    id: int
    alert_id: int
    at: datetime
    actor: str
    change: str
    details: dict[str, object]
