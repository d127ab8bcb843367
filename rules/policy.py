"""How a rule's alerts reach people: escalation delay, reminders, quiet hours.

Part of a rule's definition (`notify:` in the rules file); the fan-out and the escalation tick
read it. Defaults suit care alerts: a volunteer who has not acknowledged in 10 minutes is
probably busy, and the backup should know.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.rule import ParamCheck

#: The longest delay that makes sense (and that date arithmetic survives): a year, as the API's.
MAX_DELAY_S = 365 * 86_400.0


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
        for name in ("escalate_after_s", "remind_every_s"):
            delay = getattr(self, name)
            if delay is not None:
                check.positive(delay, name)
                check.require(delay <= MAX_DELAY_S, name, f"must be at most {MAX_DELAY_S:g} s")
        check.done()
