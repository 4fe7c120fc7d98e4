"""Ports handed to emulators that bind them seconds later (see ``free_port``)."""

from __future__ import annotations

import socket

from ticketflow.dev.emulators import _ephemeral_start, free_port


def test_ports_are_outside_the_ephemeral_range_distinct_and_bindable() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    assert all(1024 < p < _ephemeral_start() for p in ports)
    with socket.socket() as sock:  # free when handed out
        sock.bind(("127.0.0.1", ports[-1]))

