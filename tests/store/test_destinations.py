"""store.alerts.destinations: which addresses notifications may reach, as tables of cases."""

from __future__ import annotations

import ipaddress

import pytest

from store.alerts.destinations import (
    PUBLIC_ONLY,
    DestinationPolicy,
    DestinationRefused,
    check_channels,
    url_hosts,
    vet_host,
)

REFUSED = {
    "loopback": ("127.0.0.1", "loopback"),
    "loopback-other": ("127.8.9.10", "loopback"),
    "private-10": ("10.1.2.3", "private"),
    "private-172": ("172.16.0.1", "private"),
    "private-192": ("192.168.1.1", "private"),
    "link-local-metadata": ("169.254.169.254", "link-local"),
    "cgnat": ("100.64.0.1", "non-public"),
    "unspecified": ("0.0.0.0", "unspecified"),
    "multicast": ("224.0.0.1", "multicast"),
    "multicast-global-scope": ("233.252.0.1", "multicast"),
    "reserved": ("240.0.0.1", "reserved"),
    "broadcast": ("255.255.255.255", "reserved"),
    "documentation": ("192.0.2.1", "private"),
    "v6-loopback": ("::1", "loopback"),
    "v6-unspecified": ("::", "unspecified"),
    "v6-link-local": ("fe80::1", "link-local"),
    "v6-unique-local": ("fd12::1", "private"),
    "v6-multicast": ("ff0e::1", "multicast"),
    "v4-mapped-loopback": ("::ffff:127.0.0.1", "loopback"),
    "v4-mapped-private": ("::ffff:10.0.0.1", "private"),
    "6to4-of-loopback": ("2002:7f00:1::", "loopback"),
    "nat64-of-metadata": ("64:ff9b::a9fe:a9fe", "link-local"),
}


@pytest.mark.parametrize(("address", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    assert PUBLIC_ONLY.refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert PUBLIC_ONLY.refusal(ipaddress.ip_address(address)) is None


ALLOWED = {
    "range": ("10.20.0.0/16", "10.20.3.4"),
    "address": ("127.0.0.1", "127.0.0.1"),
    "v6-range": ("fd00::/8", "fd12::1"),
    "mapped-in-v4-range": ("127.0.0.0/8", "::ffff:127.0.0.1"),
}


@pytest.mark.parametrize(("entry", "address"), ALLOWED.values(), ids=ALLOWED.keys())
def test_an_allowed_range_lets_its_addresses_through(entry: str, address: str) -> None:
    policy = DestinationPolicy.parse(entry)
    assert policy.refusal(ipaddress.ip_address(address)) is None
    assert policy.refusal(ipaddress.ip_address("192.168.9.9")) == "private"


def test_a_name_that_resolves_to_loopback_counts_as_loopback() -> None:
    with pytest.raises(DestinationRefused, match=r"localhost \(.*\) is a loopback address"):
        vet_host("localhost", 80, PUBLIC_ONLY)
    assert vet_host("localhost", 80, DestinationPolicy.parse("LocalHost."))
    assert vet_host("localhost", 80, DestinationPolicy.parse("127.0.0.0/8, ::1"))


@pytest.mark.parametrize("entry", ["http://x", "a..b", "user@host", "-"])
def test_the_policy_names_an_entry_it_cannot_read(entry: str) -> None:
    with pytest.raises(ValueError, match="neither a host name"):
        DestinationPolicy.parse(f"10.0.0.0/8, {entry}")


def test_an_apprise_mail_url_names_its_relay() -> None:
    assert url_hosts("mailtos://u:p@example.com?smtp=relay.internal&to=a@b.c") == [
        "example.com",
        "relay.internal",
    ]


CHANNELS = {
    "webhook-url": ({"webhook": "http://127.0.0.1/hook"}, "webhook: "),
    "webhook-object": ({"webhook": {"url": "http://localhost:9/x", "secret": "s"}}, "webhook: "),
    "apprise-list": ({"apprise": ["json://8.8.8.8/x", "json://10.0.0.1/x"]}, "apprise: "),
    "public": ({"webhook": "https://203.0.113.9.nip.invalid/x"}, None),
    "token-not-host": ({"apprise": "dingtalk://abcdef0123/"}, None),
    # 167772161 would be 10.0.0.1 as an integer address; in an Apprise URL it is a bot id.
    "numeric-token": ({"apprise": "tgram://167772161:AAHdqTcvCH1vGWJxfSe/12345"}, None),
    "webhook-integer-address": ({"webhook": "http://2130706433/x"}, "webhook: "),
}


@pytest.mark.parametrize(("channels", "refused"), CHANNELS.values(), ids=CHANNELS.keys())
def test_channels_are_checked_url_by_url(channels: dict[str, object], refused: str | None) -> None:
    reason = check_channels(channels, PUBLIC_ONLY)
    assert (reason if reason is None else reason[: len(refused or "")]) == refused
