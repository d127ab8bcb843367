"""How a rule's alerts reach people: escalation delay, reminders, quiet hours.

Part of a rule's definition (`notify:` in the rules file); the fan-out and the escalation tick
read it. Defaults suit care alerts: a volunteer who has not acknowledged in 10 minutes is
probably busy, and the backup should know.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.rule import ParamCheck


@dataclass(frozen=True, slots=True)
class NotifyPolicy:
    #: Unacknowledged care alerts move to the next tier (backup volunteer, then staff) after
    #: this long; None: never escalate.
    escalate_after_s: float | None = 600.0
    #: While an alert stays open (acknowledged or not), its current receivers are reminded this
    #: often; None: no reminders.
    remind_every_s: float | None = 3600.0
    #: Non-critical notifications wait for the end of the household's (or site's) quiet hours.
    respect_quiet_hours: bool = True

    def __post_init__(self) -> None:
        check = ParamCheck("notify")
        if self.escalate_after_s is not None:
            check.positive(self.escalate_after_s, "escalate_after_s")
        if self.remind_every_s is not None:
            check.positive(self.remind_every_s, "remind_every_s")
        check.done()
