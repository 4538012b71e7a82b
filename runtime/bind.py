"""Checking the address the daemon's sockets listen on (`--bind`, `[daemon] bind`).

Every frame is authenticated (runtime/wire.py), so listening beyond loopback is
allowed; but whoever can route to the address can reach the ports (and try
them), so the user is told. An address this machine cannot listen on is one
clear error before anything starts (thespian would fail later with a traceback).

Imports nothing of the project.
"""
from __future__ import annotations

import ipaddress
import socket


class BindError(ValueError):
    """The address cannot be listened on; the message names it."""


def resolve(addr: str) -> str:
    """The IPv4 address `addr` names (thespian's TCP transport is IPv4)."""
    try:
        return socket.getaddrinfo(addr, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except (socket.gaierror, UnicodeError, IndexError) as e:
        reason = getattr(e, "strerror", None) or "not an IPv4 address or host name"
        raise BindError(f"cannot listen on {addr!r}: {reason}") from None


def check(addr: str) -> str | None:
    """Raise BindError when this machine cannot listen on `addr`; return a warning
    saying who can reach the daemon when it is not loopback, else None."""
    ip = resolve(addr)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((ip, 0))  # port 0: whether the address is ours, not whether a port is free
        except OSError as e:
            raise BindError(f"cannot listen on {addr}: {e.strerror} "
                            f"(not an address of this machine?)") from None
    if ipaddress.ip_address(ip).is_loopback:
        return None
    who = ("every host that can reach any address of this machine" if ip == "0.0.0.0"
           else f"every host that can route to {ip}")
    return (f"the daemon listens on {addr}, not loopback: {who} can connect to its ports. "
            f"Only frames signed with the home's key (run/wire.key) are accepted; "
            f"firewall the ports unless other hosts must reach them")
