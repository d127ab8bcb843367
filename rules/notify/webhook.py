"""Signed webhooks: POST the payload as JSON with an HMAC-SHA256 signature over timestamp and body.

Headers (docs/webhooks.md shows a receiver that checks them):
    X-Courtyard-Timestamp   Unix time in seconds when the request was signed
    X-Courtyard-Signature   sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    Idempotency-Key         the outbox row's key: the same for every retry of one notification

A receiver's target in `people.channels` is its URL, or {"url": ..., "secret": ...} to sign
with a secret of its own instead of the site-wide `notify.webhook_secret`.

Outcome: 2xx delivered; 408 and 429 retried (the receiver asked for it); any other 4xx is
permanent (the request is wrong and will stay wrong); 3xx, 5xx, timeouts and connection errors
are retried with the outbox's backoff. A receiver whose host is (or resolves to) a loopback,
private or other non-public address fails permanently unless the operator allows it
(store.alerts.destinations; checked on the address connected to, see rules.notify.pinned).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

import httpx
import orjson

from rules.notify import SendResult
from rules.notify.pinned import PinnedTransport
from store.alerts.destinations import PUBLIC_ONLY, DestinationPolicy, DestinationRefused
from store.alerts.outbox import Notification

TIMESTAMP_HEADER = "X-Courtyard-Timestamp"
SIGNATURE_HEADER = "X-Courtyard-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "courtyard-webhook/1"
#: Client errors that say "later", not "never".
RETRYABLE_4XX = frozenset({408, 429})
#: How much of a refusal's body goes into the row's last_error.
_ERROR_BODY_CHARS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Courtyard-Signature value of `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def encode(payload: Mapping[str, object]) -> bytes:
    """The request body: compact UTF-8 JSON with sorted keys (the bytes that are signed)."""
    return orjson.dumps(dict(payload), option=orjson.OPT_SORT_KEYS)


class WebhookSender:
    def __init__(
        self,
        secret: str,
        *,
        timeout_s: float = 10.0,
        max_connections: int = 8,
        clock: Callable[[], float] = time.time,
        destinations: DestinationPolicy = PUBLIC_ONLY,
    ) -> None:
        """`secret` signs for receivers without their own; `clock` gives the signing time;
        `destinations` says which non-public addresses may be reached (none by default).

        The signing time is wall-clock time even when the dispatcher runs on another clock:
        it exists for the receiver's replay window, which compares it with the receiver's clock.
        """
        self._secret = secret
        self._clock = clock
        limits = httpx.Limits(max_connections=max_connections)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            limits=limits,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            transport=PinnedTransport(destinations, limits=limits),
        )

    def send(self, notification: Notification, target: object) -> SendResult:
        address = _address(target)
        if isinstance(address, SendResult):
            return address
        url, own_secret = address
        secret = own_secret or self._secret
        if not secret:
            return SendResult.permanent(
                "no signing secret: set COURTYARD_NOTIFY__WEBHOOK_SECRET or the receiver's own"
            )
        body = encode(notification.payload)
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            IDEMPOTENCY_HEADER: notification.idempotency_key,
        }
        try:
            response = self._client.post(url, content=body, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return SendResult.permanent(f"bad webhook URL: {exc}")
        except DestinationRefused as exc:
            return SendResult.permanent(str(exc))
        except httpx.TimeoutException as exc:
            return SendResult.retry(f"timed out: {type(exc).__name__}")
        except httpx.TransportError as exc:
            return SendResult.retry(f"{type(exc).__name__}: {exc}")
        return classify(response.status_code, response.text[:_ERROR_BODY_CHARS])

    def close(self) -> None:
        self._client.close()


def classify(status: int, text: str = "") -> SendResult:
    if 200 <= status < 300:
        return SendResult.sent()
    error = f"HTTP {status}: {text}".rstrip(": ")
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return SendResult.permanent(error)
    return SendResult.retry(error)


def _address(target: object) -> tuple[str, str | None] | SendResult:
    """(url, own secret) from a `people.channels["webhook"]` entry."""
    if isinstance(target, str) and target:
        return target, None
    if isinstance(target, Mapping):
        url, secret = target.get("url"), target.get("secret")
        if isinstance(url, str) and url and (secret is None or isinstance(secret, str)):
            return url, secret or None
    return SendResult.permanent(
        'webhook target must be a URL or {"url": ..., "secret": ...}, not ' + type(target).__name__
    )
