"""`daemon start` returns only once the whole tree runs: the next command never races the gateway."""
from __future__ import annotations

from daemon import lifecycle
from runtime import procs
from daemon.client import Where


def test_when_start_returns_every_child_of_the_root_is_running(home, port):
    where = Where(home=home, port=port)
    try:
        lifecycle.start(where, transport="sim")
        actors = lifecycle.status(where)["actors"]
        assert {a["name"] for a in actors} >= {"root", "sim", "ha-monitor", "balancer", "admin", "masters"}
        assert all(a["state"] == "running" for a in actors), actors
    finally:
        lifecycle.stop(where)
        procs.kill_all(procs.processes_of(home))
