"""Where notifications may be sent: public addresses only, unless the operator allows more.

A webhook or Apprise URL is set by whoever manages people, and the rules engine then connects
to it from inside the network: aimed at 127.0.0.1, a private range or a cloud's metadata
address (169.254.169.254), it would reach services that trust the network (SSRF). So a
destination is refused when any address its host resolves to is loopback, link-local, private,
shared (CGNAT), multicast, reserved, unspecified or documentation-only, in IPv4 or IPv6,
including IPv4 addresses carried inside IPv6 (::ffff:127.0.0.1, 6to4, NAT64); a name that
resolves to such an address counts as that address. The operator allows named hosts or CIDR
ranges with COURTYARD_NOTIFY__ALLOWED_DESTINATIONS (`hooks.internal, 10.20.0.0/16`).

Shared by the API (when channels are saved) and the rules engine (when it sends, checking the
address it actually connects to). Here in the ground package because both use it; it speaks
no SQL, as i18n.languages and i18n.localformat do not.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SETTING = "COURTYARD_NOTIFY__ALLOWED_DESTINATIONS"
#: NAT64's well-known prefix: its last 32 bits are an IPv4 address a gateway would reach.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: One label of a host name (an underscore is not in the standard, but in use).
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
#: Apprise query parameters that name the server to connect to (mail's SMTP relay).
_HOST_PARAMETERS = ("smtp",)


class DestinationRefused(Exception):
    """A notification's destination is not one it may reach (the message says why)."""


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """Which non-public destinations the operator allows (none by default)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: str | Iterable[str]) -> DestinationPolicy:
        """From `hooks.internal, 10.20.0.0/16, 127.0.0.1` (commas or spaces); ValueError names
        an entry that is neither a host name nor an address or CIDR range."""
        if isinstance(entries, str):
            entries = entries.replace(",", " ").split()
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = _normal_host(entry)
            if not all(_LABEL.fullmatch(label) for label in name.split(".")):
                raise ValueError(f"{entry!r} is neither a host name nor an address or CIDR range")
            hosts.add(name)
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """The operator named this host: whatever it resolves to may be reached."""
        return _normal_host(host) in self.hosts

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` may not be reached, or None when it may."""
        # An IPv4-mapped address (::ffff:a.b.c.d) is its IPv4 address; 6to4 and NAT64 ones
        # must pass both as themselves and as the IPv4 address they lead to.
        inner = _embedded_ipv4(address)
        mapped = isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None
        candidates: list[IPAddress] = [*inner] if mapped else [*inner, address]
        if any(a.version == n.version and a in n for a in candidates for n in self.networks):
            return None
        for candidate in candidates:
            reason = _not_public(candidate)
            if reason is not None:
                return reason
        return None


#: No exceptions: public addresses only (the default).
PUBLIC_ONLY = DestinationPolicy()


def vet_host(host: str, port: int | None, policy: DestinationPolicy) -> list[IPAddress]:
    """The addresses of `host` that a notification may connect to, in resolver order.

    Raises DestinationRefused when any of them may not be reached (a name with one private
    address among public ones is refused: which one a client picks is not ours to choose), and
    OSError (socket.gaierror) when the name does not resolve. A host the operator allowed by
    name is resolved but not checked.
    """
    addresses = resolve(host, port)
    if policy.allows_host(host):
        return addresses
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            shown = host if host == str(address) else f"{host} ({address})"
            raise DestinationRefused(
                f"destination {shown} is a {reason} address, which notifications may not reach"
                f" unless {SETTING} allows it"
            )
    return addresses


def resolve(host: str, port: int | None) -> list[IPAddress]:
    """Every address `host` resolves to (an address literal is itself), without duplicates."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    seen: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 sockaddr may carry a zone ("fe80::1%eth0"); the zone is no part of the check.
        seen[ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])] = None
    return list(seen)


def url_hosts(url: str) -> list[str]:
    """The hosts a notification URL connects to, as far as the URL says: its own host, and an
    Apprise mail URL's `smtp=` relay."""
    try:
        parts = urlsplit(url)
        hosts = [parts.hostname] if parts.hostname else []
    except ValueError:  # a malformed netloc ("http://[::1") names no host we could check
        return []
    hosts += [v for k, v in parse_qsl(parts.query) if k.lower() in _HOST_PARAMETERS and v]
    return hosts


def check_url(url: str, policy: DestinationPolicy, *, tokens_as_hosts: bool = False) -> None:
    """Raise DestinationRefused when a host of `url` resolves to an address it may not reach.

    A host that does not resolve passes: it cannot be reached now, and every send checks again.
    Many Apprise URLs carry a token where a host would be (dingtalk://<token>/,
    tgram://<bot id>:<key>/): with `tokens_as_hosts` False, an all-digit "host" is taken for a
    token, not for the integer form of an IPv4 address that the resolver would make of it (a
    bot id may well read as 10.x.x.x). The send checks the hosts Apprise really connects to.
    """
    for host in url_hosts(url):
        if host.isdigit() and not tokens_as_hosts:
            continue
        try:
            vet_host(host, None, policy)
        except OSError:
            continue


def check_channels(channels: Mapping[str, object], policy: DestinationPolicy) -> str | None:
    """Why a person's `channels` (as the API saves them) name a refused destination, or None.

    `webhook` is a URL or {"url": ...}; `apprise` a URL or a list of them; other channels carry
    no URL of ours to check.
    """
    for channel, target in channels.items():
        for url in _urls_of(target):
            try:
                check_url(url, policy, tokens_as_hosts=channel != "apprise")
            except DestinationRefused as exc:
                return f"{channel}: {exc}"
    return None


def _urls_of(target: object) -> list[str]:
    if isinstance(target, str):
        return [target]
    if isinstance(target, Mapping):
        url = target.get("url")
        return [url] if isinstance(url, str) else []
    if isinstance(target, Sequence):
        return [u for u in target if isinstance(u, str)]
    return []


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses that an IPv6 address would reach: mapped, 6to4, NAT64."""
    if address.version == 4:
        return []
    assert isinstance(address, ipaddress.IPv6Address)
    inner = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address in _NAT64:
        inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return inner


def _not_public(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non-public"
    return None
