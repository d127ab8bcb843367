"""An httpx transport that connects only to addresses store.alerts.destinations allows.

The check happens where the connection is made: the URL's host is resolved once, every address
is vetted, and the socket connects to a vetted address itself, so no second lookup can answer
differently (DNS rebinding) and a redirect or a retry goes through the same check. The request
keeps its URL: the Host header, TLS's server name and the certificate check all use the host
name, not the address.

httpx takes no network backend of its own, so this transport builds its httpcore pool with one,
as `httpx.HTTPTransport` builds its own (its `_pool`). Proxies from the environment are not
used: a proxy would connect on our behalf, out of this check's reach.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx
from httpcore import NetworkStream, SyncBackend

from store.alerts.destinations import DestinationPolicy, vet_host

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class VettedBackend(SyncBackend):
    """httpcore's socket backend, connecting to a host's vetted addresses only."""

    def __init__(self, policy: DestinationPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> NetworkStream:
        try:
            addresses = vet_host(host, port, self._policy)  # raises DestinationRefused
        except OSError as exc:  # the name does not resolve: may heal, so a connect error
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # as socket.create_connection does: try the next address
        assert error is not None  # getaddrinfo answers at least one address or raises
        raise error


class PinnedTransport(httpx.HTTPTransport):
    def __init__(self, policy: DestinationPolicy, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=VettedBackend(policy),
        )
