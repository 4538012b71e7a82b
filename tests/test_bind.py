"""`daemon start --bind`: beyond loopback is allowed (every frame is authenticated) and said;
an address this machine cannot listen on is one clear line (runtime/bind.py)."""
from __future__ import annotations

import time

import pytest

from conftest import Daemon
from daemon_support import listening_sockets
from runtime import logs, procs


def local_addresses() -> set[str]:
    """This machine's IPv4 addresses, from the kernel's routing table (no traffic sent)."""
    found, previous = set(), ""
    with open("/proc/net/fib_trie") as f:
        for line in f:
            line = line.strip()
            if line.startswith("/32 host LOCAL"):
                found.add(previous)
            previous = line.split()[-1] if line.startswith("|--") else ""
    return found


def non_loopback_address() -> str:
    """An address of a non-loopback interface of this machine; 0.0.0.0 when there is none."""
    ours = sorted(a for a in local_addresses() if not a.startswith("127."))
    return ours[0] if ours else "0.0.0.0"


def foreign_address() -> str:
    """A documentation address (RFC 5737) that is not on this machine."""
    ours = local_addresses()
    return next(a for a in ("192.0.2.1", "198.51.100.1", "203.0.113.1") if a not in ours)


def start(home: str, port: int, *args: str):
    return Daemon(home, port).cli("daemon", "start", *args, check=False)


def test_an_address_not_of_this_machine_is_one_line_naming_it(home, port):
    addr = foreign_address()
    t0 = time.monotonic()
    r = start(home, port, "--transport", "neonize", "--bind", addr)
    assert r.returncode == 1, r
    assert r.stderr.startswith(f"error: cannot listen on {addr}: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert time.monotonic() - t0 < 10
    assert procs.processes_of(home) == []


def test_a_name_that_resolves_to_nothing_is_one_line_naming_it(home, port):
    r = start(home, port, "--transport", "neonize", "--bind", "no-such-host.invalid")
    assert r.returncode == 1 and r.stderr.startswith("error: cannot listen on 'no-such-host.invalid': "), r
    assert r.stderr.count("\n") == 1 and procs.processes_of(home) == []


def test_non_loopback_is_allowed_with_a_warning_saying_who_can_reach_it(home, port):
    addr = non_loopback_address()
    d = Daemon(home, port, transport="neonize")  # no masters: nothing leaves this machine
    r = start(home, port, "--transport", "neonize", "--bind", addr)
    try:
        assert r.returncode == 0, r
        warning = [ln for ln in r.stderr.splitlines() if ln.startswith("warning: the daemon listens")]
        assert len(warning) == 1 and f"listens on {addr}, not loopback" in warning[0], r.stderr
        who = ("any address of this machine" if addr == "0.0.0.0" else f"route to {addr}")
        assert who in warning[0] and "wire.key" in warning[0]
        logged = [ln for ln in logs.read_lines(home) if ln.get("event") == "bind_not_loopback"]
        assert len(logged) == 1 and logged[0]["level"] == "warning" and logged[0]["bind"] == addr
        # and the daemon's own sockets really listen there (read from the kernel, not probed)
        status = d.json("daemon", "status")
        admin = [p for pid, a, p in listening_sockets([status["pid"]]) if a == addr and p == port]
        assert admin, listening_sockets([status["pid"]])
    finally:
        d.stop()


def test_loopback_says_nothing(home, port):
    r = start(home, port, "--transport", "neonize", "--bind", "127.0.0.1")
    try:
        assert r.returncode == 0 and "listens on" not in r.stderr, r
    finally:
        Daemon(home, port).stop()


def test_the_simulated_network_refuses_a_wider_bind_at_once(home, port):
    addr = non_loopback_address()
    t0 = time.monotonic()
    r = start(home, port, "--transport", "sim", "--bind", addr)
    assert r.returncode == 1 and "the simulated network listens on loopback only" in r.stderr, r
    assert r.stderr.count("\n") == 1 and time.monotonic() - t0 < 10
    assert procs.processes_of(home) == []


@pytest.mark.parametrize("addr", ["0.0.0.0"])
def test_all_interfaces_is_named_as_such(addr):
    from runtime import bind
    assert "every host that can reach any address of this machine" in bind.check(addr)
