"""How a rule's alerts reach people: escalation delay, reminders, quiet hours.

Part of a rule's definition (`notify:` in the rules file); the fan-out and the escalation tick
read it. Defaults suit care alerts: a volunteer who has not acknowledged in 10 minutes is
probably busy, and the backup should know.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic.dataclasses import dataclass

#: The longest delay that makes sense (and that date arithmetic survives): a year, as the API's.
MAX_DELAY_S = 365 * 86_400.0


def _at_most_a_year(delay: float) -> float:
    if delay > MAX_DELAY_S:
        raise ValueError(f"must be at most {MAX_DELAY_S:g} s")
    return delay


#: A delay in seconds: positive, finite, at most a year.
Delay = Annotated[float, Field(gt=0, allow_inf_nan=False), AfterValidator(_at_most_a_year)]


@dataclass(frozen=True, slots=True)
class NotifyPolicy:
    #: Unacknowledged care alerts move to the next tier (backup volunteer, then staff) after
    #: this long; None: never escalate.
    escalate_after_s: Delay | None = 600.0
    #: While an alert stays open (acknowledged or not), its current receivers are reminded this
    #: often; None: no reminders.
    remind_every_s: Delay | None = 3600.0
    #: Non-critical notifications wait for the end of the household's (or site's) quiet hours.
    respect_quiet_hours: bool = True
