"""People's notification channels are checked against store.alerts.destinations before they are
saved.

A webhook or Apprise URL that is, or resolves to, a loopback, private or other non-public
address is refused with 422 unless the operator allows it (COURTYARD_NOTIFY__ALLOWED_DESTINATIONS,
which `courtyard` copies into the API's settings). The rules engine checks again at every send,
on the address it connects to; this check is there so that whoever saves a channel learns at
once rather than from a failed notification.
"""

from __future__ import annotations

from collections.abc import Mapping

from api.errors import invalid
from api.settings import ApiSettings
from store.alerts.destinations import DestinationPolicy, check_channels


def refuse_unreachable(settings: ApiSettings, channels: Mapping[str, object]) -> None:
    """Raise 422 naming the channel when one points where notifications may not go.

    Resolves host names: call it off the event loop."""
    policy = DestinationPolicy.parse(settings.notify_allowed_destinations)
    refused = check_channels(channels, policy)
    if refused is not None:
        raise invalid("body.channels", refused)
