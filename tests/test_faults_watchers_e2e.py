"""The watchers' watchers (issue 13): a SIGKILLed keeper, a hung root, a hung HA monitor.

The same daemon as tests/test_faults_e2e.py (3 masters, 9 customers pinging
through the fault, real signals). The keeper restarts the root (dead or hung);
the root restarts the keeper and probes the monitor. Times in docs/daemon.md.
"""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from runtime import procs
from test_faults_e2e import (HEARTBEAT_S, Traffic, d, nothing_healthy_moved, pid_of, poll,  # noqa: F401
                             recorded, status)

pytestmark = pytest.mark.slow


def pid_file(d) -> dict:
    return json.load(open(os.path.join(d.home, "run", "daemon.json")))


def whole_tree_back(d, old_root: int):
    """A new root (not `old_root`) with every actor running and 3 sessions."""
    def back():
        r = d.cli("daemon", "status", "--json", check=False)
        if r.returncode != 0:
            return None
        actors = json.loads(r.stdout)["actors"]
        root = next(a for a in actors if a["name"] == "root")
        return (root["pid"] != old_root and procs.alive(root["pid"])
                and all(a["state"] == "running" for a in actors)
                and sum(a["name"].startswith("master:") for a in actors) == 3)
    return back


def a_root_kill_is_mended(d) -> float:
    """SIGKILL the root under traffic: a new root with its whole tree, every ping answered,
    nobody moved. The seconds it took."""
    old_root = pid_of(d, "root")
    with Traffic(d) as traffic:
        time.sleep(0.5)
        t0 = time.monotonic()
        os.kill(old_root, signal.SIGKILL)
        poll("a new root with its whole tree", whole_tree_back(d, old_root), timeout=10.0)
        healed_s = time.monotonic() - t0
        time.sleep(2.5)   # past the failover grace
    traffic.all_answered()
    nothing_healthy_moved(d)
    return healed_s


def test_sigkilled_keeper_is_restarted_and_then_mends_a_root_kill(d):
    keeper = pid_file(d)["keeper_pid"]
    t0 = time.monotonic()
    os.kill(keeper, signal.SIGKILL)
    new = poll("a new keeper in the pid file", lambda: (pid_file(d).get("keeper_pid") not in (None, keeper)
                                                         and pid_file(d)["keeper_pid"]), timeout=10.0, every=0.02)
    keeper_s = time.monotonic() - t0
    assert procs.alive(new) and procs.is_marked(new, d.home)
    root_s = a_root_kill_is_mended(d)
    print(f"keeper SIGKILL: a new keeper in {keeper_s:.2f} s; then a root SIGKILL healed in {root_s:.2f} s")
    d.stop()   # an orderly stop is not mended: the new keeper (or one the root starts) stops too
    poll("every process of the daemon gone", lambda: not d.processes(), timeout=10.0)
    time.sleep(1.0)
    assert not d.processes()


def test_hung_root_is_killed_by_the_keeper_and_its_tree_comes_back(d):
    old_root = pid_of(d, "root")
    with Traffic(d) as traffic:
        time.sleep(0.5)
        t0 = time.monotonic()
        os.kill(old_root, signal.SIGSTOP)
        try:
            poll("the hung root killed", lambda: not procs.alive(old_root), timeout=10.0, every=0.02)
            killed_s = time.monotonic() - t0
        finally:
            if procs.alive(old_root):
                os.kill(old_root, signal.SIGCONT)
        poll("a new root with its whole tree", whole_tree_back(d, old_root), timeout=15.0)
        healed_s = time.monotonic() - t0
        time.sleep(2.5)
    traffic.all_answered()
    nothing_healthy_moved(d)
    print(f"hung root: killed {killed_s:.2f} s after SIGSTOP ({killed_s / HEARTBEAT_S:.1f} heartbeats), "
          f"whole tree back {healed_s:.2f} s after")
    assert killed_s <= 3.5 * HEARTBEAT_S + 0.5


def test_hung_monitor_is_killed_restarted_and_alerted_by_the_root(d):
    monitor = pid_of(d, "ha-monitor")
    sessions = {a["name"]: a["pid"] for a in status(d)["actors"] if a["name"].startswith("master:")}
    with Traffic(d) as traffic:
        time.sleep(0.5)
        t0 = time.monotonic()
        os.kill(monitor, signal.SIGSTOP)
        try:
            poll("the hung monitor killed", lambda: not procs.alive(monitor), timeout=10.0, every=0.02)
            killed_s = time.monotonic() - t0
        finally:
            if procs.alive(monitor):
                os.kill(monitor, signal.SIGCONT)
        poll("a new monitor running", lambda: next(
            a for a in status(d)["actors"] if a["name"] == "ha-monitor")["state"] == "running", timeout=10.0)
        time.sleep(2.5)
    traffic.all_answered()
    alerts = [e for e in recorded(d, "alert") if e.data.get("alert") == "actor_hung"]
    assert any("ha-monitor" in e.data.get("text", "") for e in alerts), alerts
    after = {a["name"]: a["pid"] for a in status(d)["actors"] if a["name"].startswith("master:")}
    assert after == sessions, "a healthy session was killed"
    nothing_healthy_moved(d)
    print(f"hung HA monitor: killed {killed_s:.2f} s after SIGSTOP ({killed_s / HEARTBEAT_S:.1f} heartbeats)")
    assert killed_s <= 3.5 * HEARTBEAT_S + 0.5
