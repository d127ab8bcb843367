"""NotifySettings: webhook signing, send timeouts, and how the dispatcher claims the outbox."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from store.alerts import outbox
from store.alerts.destinations import DestinationPolicy


class NotifySettings(BaseModel):
    #: Signs every webhook (HMAC-SHA256, see docs/webhooks.md) whose receiver has no secret of
    #: their own. Empty: such webhooks fail (permanently) rather than go out unsigned.
    webhook_secret: SecretStr = SecretStr("")
    #: Per request: connect, write and read each get this long.
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    #: Per notification through Apprise (all of a person's URLs together).
    apprise_timeout_s: float = Field(default=20.0, gt=0)
    #: Sends in flight per channel: a slow or failing channel holds at most this many threads,
    #: and the other channels keep their own.
    workers_per_channel: int = Field(default=4, ge=1, le=64)
    #: At most this many rows claimed per channel per round.
    batch_size: int = Field(default=100, ge=1)
    #: A claimed row is not handed out again for this long; a sender killed mid-send delays its
    #: notifications by at most this much. Longer than any send may take.
    lease_s: float = Field(default=120.0, gt=0)
    #: Longest wait between two looks at the outbox when no change is announced (LISTEN/NOTIFY
    #: wakes the dispatcher sooner; retries and quiet-hour deferrals are due without one).
    poll_interval_s: float = Field(default=2.0, gt=0)
    #: Attempts per notification before it is given up (failed), with capped doubling backoff.
    max_attempts: int = Field(default=outbox.MAX_ATTEMPTS, ge=1)
    retry_base_delay_s: float = Field(default=outbox.BASE_DELAY_S, gt=0)
    retry_max_delay_s: float = Field(default=outbox.MAX_DELAY_S, gt=0)
    #: Webhooks and Apprise URLs may not reach loopback, link-local, private or other
    #: non-public addresses (SSRF), neither by address nor by a name that resolves to one,
    #: except the hosts and CIDR ranges named here, separated by commas:
    #: `hooks.internal, 10.20.0.0/16`. Checked when the API saves a channel and at every send.
    allowed_destinations: str = ""

    @field_validator("allowed_destinations")
    @classmethod
    def _destinations(cls, value: str) -> str:
        DestinationPolicy.parse(value)  # fails fast, naming the entry
        return value

    @property
    def destinations(self) -> DestinationPolicy:
        return DestinationPolicy.parse(self.allowed_destinations)

    @model_validator(mode="after")
    def _lease_outlasts_sends(self) -> NotifySettings:
        longest = max(self.webhook_timeout_s, self.apprise_timeout_s)
        # Webhook timeouts apply per phase (connect, write, read): a send may take three of them.
        if self.lease_s <= 3 * longest:
            raise ValueError(
                f"notify.lease_s ({self.lease_s}) must be longer than three times the longest"
                f" send timeout ({longest} s): a send still running when its lease ends is"
                " handed out again and delivered twice"
            )
        if self.retry_max_delay_s < self.retry_base_delay_s:
            raise ValueError("notify.retry_max_delay_s must not be below retry_base_delay_s")
        return self
