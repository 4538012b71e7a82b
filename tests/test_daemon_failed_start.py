"""`daemon start` when a child of the tree fails to start: a clear error naming it, nothing left running.

The supervisor's start fails with failed_to_start_child (supervision/supervisor.py,
as OTP's supervisor.erl), and runtime/lifecycle.py turns the root's StartFailed
into the error. Here the simulated network cannot bind its port.
"""
from __future__ import annotations

import socket

from conftest import Daemon
from runtime import procs


def test_daemon_start_names_the_child_that_failed_to_start(home, port):
    d = Daemon(home, port)
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", d.sim_port))
        taken.listen()
        r = d.cli("daemon", "start", "--transport", "sim", check=False)
    assert r.returncode != 0, r.stdout
    assert "the daemon did not start: failed_to_start_child sim: OSError" in r.stderr, r.stderr
    assert "address already in use" in r.stderr
    assert procs.processes_of(home) == []                      # the started children were stopped too
    assert d.cli("daemon", "status", check=False).returncode == 3
