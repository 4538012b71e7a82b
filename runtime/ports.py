"""Free loopback ports, for the demo, the tests and the benchmarks.

A daemon on port p uses p for thespian's Admin and, with `--transport sim`,
p+1 for the simulated network, so callers usually need two ports in a row.
"""
from __future__ import annotations

import socket

ATTEMPTS = 200


class NoFreePort(OSError):
    """No run of free ports was found (the message says how many and on which address)."""


def free_port(span: int = 2, host: str = "127.0.0.1") -> int:
    """A port p such that p, p+1, ..., p+span-1 are all free on `host` right now.

    p is a port the kernel hands out for an ephemeral bind; the others are
    checked by binding them in turn. Nothing stays bound: another process may
    take them before the caller does, as with any free-port helper. Raises
    NoFreePort after 200 attempts.
    """
    for _ in range(ATTEMPTS):
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port + span > 65536:
            continue
        if all(_bindable(host, p) for p in range(port + 1, port + span)):
            return port
    what = {1: "port", 2: "port pair"}.get(span, f"run of {span} ports")
    raise NoFreePort(f"no free {what} found on {host}")


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
