"""preferred_port: the wanted port when free, another free one when taken."""

from __future__ import annotations

import socket

from courtyard.ports import LOOPBACK, free_port, preferred_port


def test_a_free_port_is_kept() -> None:
    port = free_port()
    assert preferred_port(port) == port


def test_a_taken_port_gives_way() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        other = preferred_port(port)
        assert other != port
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((LOOPBACK, other))  # and the port it gives is really free
