"""Helpers for the end-to-end daemon tests: the system's socket table, polling."""
from __future__ import annotations

import os
import socket
import struct
import time

LISTEN = "0A"


def _inodes_of(pids: list[int]) -> dict[str, int]:
    """{socket inode: pid} for every socket these processes hold."""
    found = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                found.setdefault(target[8:-1], pid)
    return found


def _address(hex_addr: str) -> tuple[str, int]:
    ip_hex, port_hex = hex_addr.split(":")
    raw = bytes.fromhex(ip_hex)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(ip_hex, 16)))
    else:  # /proc/net/tcp6: four little-endian 32-bit words
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(struct.pack("<I", w) for w in struct.unpack(">4I", raw)))
    return ip, int(port_hex, 16)


def listening_sockets(pids: list[int]) -> list[tuple[int, str, int]]:
    """[(pid, address, port)] of every listening TCP socket these processes hold,
    read from the kernel's socket table (/proc/net/tcp and tcp6)."""
    inodes = _inodes_of(pids)
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == LISTEN and cols[9] in inodes:
                ip, port = _address(cols[1])
                out.append((inodes[cols[9]], ip, port))
    return sorted(set(out))


def wait_for(predicate, timeout: float, what: str, pause: float = 0.05):
    """Poll until predicate() returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(pause)
