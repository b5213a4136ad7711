"""A TCP port that is free right now, for servers that must know their port before they bind it."""

from __future__ import annotations

import socket


def free_port(address: str = "127.0.0.1") -> int:
    """A port nothing listens on at this moment (another process may take it before you bind it)."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]
