"""Chat and mail through Apprise: the payload's title and body to each of a person's Apprise URLs.

A receiver's target in `people.channels["apprise"]` is one Apprise URL or a list of them
(mailto://, dingtalk://, wecom://, tgram://, json://, ...; docs/webhooks.md has examples). One
outbox row covers the list: a URL Apprise cannot use fails the row permanently (a typo does not
heal by waiting); a delivery that fails for any URL retries the row, so the URLs that did get it
may get it again: delivery is at least once, as everywhere in the outbox.

Destinations (store.alerts.destinations): before Apprise runs, the hosts a URL connects to (its own
host where the plugin takes one, mail's SMTP relay) are resolved and a loopback, private or
other non-public address fails the row permanently, unless the operator allows it. Apprise
then resolves the name again itself: a name whose answer changes between the two lookups (DNS
rebinding), or a receiver that redirects, is not caught here as it is for webhooks, where the
check is on the connected address. Operators who need that closed send Apprise's HTTP traffic
through an egress proxy that refuses private ranges.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence

import apprise
from apprise.plugins import N_MGR

from rules.notify import SendResult
from store.alerts.destinations import (
    PUBLIC_ONLY,
    DestinationPolicy,
    DestinationRefused,
    vet_host,
)
from store.alerts.outbox import Notification

APP_ID = "Courtyard"
#: Apprise's message kinds, by the payload's codes: the colour or icon chat services show.
_KINDS = {
    "critical": apprise.NotifyType.FAILURE,
    "warning": apprise.NotifyType.WARNING,
    "info": apprise.NotifyType.INFO,
}
_CLEARED = frozenset({"resolved", "auto_resolved"})
_plugins_loaded = threading.Lock()


class AppriseSender:
    def __init__(
        self, *, timeout_s: float = 20.0, destinations: DestinationPolicy = PUBLIC_ONLY
    ) -> None:
        """`timeout_s` bounds one notification to all of a person's URLs together;
        `destinations` says which non-public addresses may be reached (none by default)."""
        _load_plugins()
        self._timeout_s = timeout_s
        self._asset = apprise.AppriseAsset(app_id=APP_ID, app_desc=APP_ID)
        self._destinations = destinations

    def send(self, notification: Notification, target: object) -> SendResult:
        urls = _urls(target)
        if isinstance(urls, SendResult):
            return urls
        services = []
        for n, url in enumerate(urls, start=1):
            service = apprise.Apprise.instantiate(url, asset=self._asset)
            if service is None:
                # Only the scheme: the rest of an Apprise URL is often a token or a password.
                scheme = url.split("://", 1)[0] if "://" in url else "?"
                return SendResult.permanent(f"Apprise cannot use URL #{n} ({scheme}://...)")
            refused = self._refusal(service)
            if refused is not None:
                return SendResult.permanent(f"Apprise URL #{n}: {refused}")
            services.append(service)
        sender = apprise.Apprise(asset=self._asset)
        sender.add(services)
        payload = notification.payload
        result = sender.notify(
            body=str(payload.get("body") or payload.get("title") or ""),
            title=str(payload.get("title") or ""),
            notify_type=_kind(payload),
            body_format=apprise.NotifyFormat.TEXT,
            timeout=self._timeout_s,
        )
        if result:
            return SendResult.sent()
        reasons = [entry.message for entry in result.logs()]
        return SendResult.retry("; ".join(reasons) or f"Apprise: {result!r}")

    def close(self) -> None:
        """Nothing to release: each send builds its own Apprise object."""

    def _refusal(self, service: object) -> str | None:
        """Why not to send through `service`: a host it connects to is a refused address."""
        for host in _service_hosts(service):
            try:
                vet_host(host, None, self._destinations)
            except DestinationRefused as exc:
                return str(exc)
            except OSError:
                continue  # a token where a host would be, or a name that Apprise will fail on
        return None


def _service_hosts(service: object) -> list[str]:
    """The servers an Apprise plugin connects to, where its URL chooses them: the host of
    plugins whose URL has one (json://, ntfy://, gotify://...) and mail's SMTP relay. Vendor
    services (dingtalk://, tgram://...) carry a token there and connect to their vendor."""
    hosts = []
    smtp_host = getattr(service, "smtp_host", None)
    if isinstance(smtp_host, str) and smtp_host:
        hosts.append(smtp_host)
    templates = getattr(service, "templates", ())
    host = getattr(service, "host", None)
    if isinstance(host, str) and host and any("{host}" in t for t in templates):
        hosts.append(host)
    return hosts


def _kind(payload: dict[str, object]) -> apprise.NotifyType:
    if payload.get("change") in _CLEARED:
        return apprise.NotifyType.SUCCESS
    return _KINDS.get(str(payload.get("severity")), apprise.NotifyType.INFO)


def _urls(target: object) -> list[str] | SendResult:
    if isinstance(target, str):
        target = [target]
    if isinstance(target, Sequence) and target and all(isinstance(u, str) and u for u in target):
        return [str(u) for u in target]
    return SendResult.permanent("apprise target must be a URL or a list of URLs")


def _load_plugins() -> None:
    # Apprise loads its plugins on first use; its mail plugin imports the stdlib's imghdr,
    # which warns that it is deprecated. Load them once here, with that warning silenced,
    # rather than in a worker thread where it would surface as an error under strict filters.
    with _plugins_loaded, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        N_MGR.load_modules()  # type: ignore[no-untyped-call]  # untyped in apprise
