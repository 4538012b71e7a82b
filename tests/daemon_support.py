"""Helpers for the end-to-end daemon tests: the system's socket table, polling, starting a
daemon, reading its masters."""
from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
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


def poll(what: str, fn, timeout: float = 15.0, every: float = 0.1):
    """Call fn() every `every` s until it returns something truthy, and return that;
    fail naming `what` (and fn's last value) once `timeout` s have passed."""
    deadline = time.monotonic() + timeout
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")
        time.sleep(every)


def wait_for(predicate, timeout: float, what: str, pause: float = 0.05):
    """poll() with test_daemon's argument order."""
    return poll(what, predicate, timeout, pause)


def master_row(d, phone: str) -> dict:
    """The `masters --json` row of `phone` (StopIteration if it is not a master)."""
    return next(r for r in d.json("masters") if r["phone"] == phone)


def start_daemon(d) -> None:
    """`daemon start --transport sim` for the conftest Daemon `d`, its output in a file: the
    daemon's processes inherit the CLI's stdout, so with a pipe (Daemon.start's
    capture_output) the call would wait for them to end."""
    from conftest import ROOT

    out = os.path.join(d.home, "daemon-start.out")
    with open(out, "a") as f:
        r = subprocess.run([sys.executable, "-m", "cli", "daemon", "start", "--transport", "sim"],
                           stdin=subprocess.DEVNULL, stdout=f, stderr=f, timeout=60, cwd=ROOT,
                           env=dict(os.environ, WHITECAVES_HOME=d.home, WHITECAVES_PORT=str(d.port)))
    assert r.returncode == 0, open(out).read()


def keeper_pids(d) -> list[int]:
    """[keeper, standby] of a running daemon, once the keeper's standby is in the pid file
    (daemon/keeper_standby.py): a test that must silence every watcher of the root needs both."""
    import json

    def both():
        with open(os.path.join(d.home, "run", "daemon.json")) as f:
            info = json.load(f)
        pids = [info.get("keeper_pid"), info.get("standby_pid")]
        return pids if all(pids) and pids[0] != pids[1] else None
    return poll("the keeper and its standby in the pid file", both, timeout=10.0, every=0.02)
