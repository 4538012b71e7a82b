"""Faults of the keeper itself (issue 13): killed with the root at the same instant, or hung.

The same daemon as tests/test_faults_e2e.py (3 masters, 9 customers pinging
through the fault, real signals). The keeper's standby (daemon/keeper_standby.py)
takes over from a keeper that is gone or silent; the keeper replaces a hung
standby. Times in docs/daemon.md, "Faults".
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

import daemon_support
from runtime import procs
from test_faults_e2e import (HEARTBEAT_S, Traffic, d, nothing_healthy_moved, owners, pid_of, poll,  # noqa: F401
                             status)
from test_faults_watchers_e2e import a_root_kill_is_mended, pid_file, whole_tree_back

pytestmark = pytest.mark.slow


def daemon_out(d) -> str:
    with open(os.path.join(d.home, "logs", "daemon.out")) as f:
        return f.read()


def a_standby(d) -> int:
    """The standby's pid once one runs, is marked with the home and is in the pid file."""
    pid = pid_file(d).get("standby_pid")
    return pid if pid and pid != pid_file(d).get("keeper_pid") and procs.is_marked(pid, d.home) else 0


def stop_cleanly(d) -> None:
    """An orderly stop ends the keeper and its standby too: nothing of the home is left."""
    d.stop()
    poll("every process of the daemon gone", lambda: not d.processes(), timeout=10.0)
    time.sleep(1.0)   # a keeper or standby that would restart something would have done so by now
    assert not d.processes()


# heartbeat 3 s: the standby's turn is 0.25 s (runtime/keeper_beat.py turn_s), woken at once
# by the keeper's end; heartbeat 0.2 s: a 0.05 s turn
@pytest.mark.parametrize("d", ["", "heartbeat_s = 3\n"], indirect=True, ids=["heartbeat-0.2s", "heartbeat-3s"])
def test_root_and_keeper_sigkilled_at_the_same_instant_are_back_within_2_s(d):
    standby = poll("a standby beside the keeper", lambda: a_standby(d), timeout=10.0)
    keeper, old_root = pid_file(d)["keeper_pid"], pid_of(d, "root")
    with Traffic(d) as traffic:
        time.sleep(0.5)
        t0 = time.monotonic()
        subprocess.run(["kill", "-9", str(old_root), str(keeper)], check=True)   # one call, as an operator
        poll("a new root with its whole tree", whole_tree_back(d, old_root), timeout=10.0)
        healed_s = time.monotonic() - t0
        d.json("masters")   # the admin gateway answers
        time.sleep(2.5)     # past the failover grace
    traffic.all_answered()
    nothing_healthy_moved(d)
    assert pid_file(d)["keeper_pid"] == standby, "the standby took the keeper's place"
    new_standby = poll("a new standby", lambda: a_standby(d), timeout=10.0)
    assert new_standby not in (standby, keeper)
    assert '"keeper_gone"' in daemon_out(d)
    print(f"root + keeper SIGKILLed at once: whole tree back in {healed_s:.2f} s")
    assert healed_s < 2.0 + 1.0   # 2 s, plus slack for a loaded shared machine
    stop_cleanly(d)


def test_hung_keeper_is_killed_and_replaced_then_a_root_kill_is_mended(d):
    poll("a standby beside the keeper", lambda: a_standby(d), timeout=10.0)
    keeper = pid_file(d)["keeper_pid"]
    t0 = time.monotonic()
    os.kill(keeper, signal.SIGSTOP)
    try:
        poll("the hung keeper killed", lambda: not procs.alive(keeper), timeout=10.0, every=0.02)
        killed_s = time.monotonic() - t0
    finally:
        if procs.alive(keeper):
            os.kill(keeper, signal.SIGCONT)
    new = pid_file(d)["keeper_pid"]
    assert new != keeper and procs.is_marked(new, d.home)
    assert '"keeper_hung"' in daemon_out(d)
    poll("a new standby", lambda: a_standby(d), timeout=10.0)
    root_s = a_root_kill_is_mended(d)
    print(f"hung keeper: killed {killed_s:.2f} s after SIGSTOP ({killed_s / HEARTBEAT_S:.1f} heartbeats); "
          f"a later root SIGKILL healed in {root_s:.2f} s")
    assert killed_s <= 3.5 * HEARTBEAT_S + 0.5
    stop_cleanly(d)


def test_hung_standby_is_killed_and_replaced_by_the_keeper(d):
    standby = poll("a standby beside the keeper", lambda: a_standby(d), timeout=10.0)
    keeper = pid_file(d)["keeper_pid"]
    t0 = time.monotonic()
    os.kill(standby, signal.SIGSTOP)
    try:
        poll("the hung standby killed", lambda: not procs.alive(standby), timeout=10.0, every=0.02)
        killed_s = time.monotonic() - t0
    finally:
        if procs.alive(standby):
            os.kill(standby, signal.SIGCONT)
    new = poll("a new standby", lambda: a_standby(d), timeout=10.0)
    assert new != standby and pid_file(d)["keeper_pid"] == keeper
    print(f"hung standby: killed {killed_s:.2f} s after SIGSTOP ({killed_s / HEARTBEAT_S:.1f} heartbeats)")
    assert killed_s <= 3.5 * HEARTBEAT_S + 0.5
    stop_cleanly(d)


def test_keeper_and_standby_hung_together_are_replaced_by_the_root_then_a_root_kill_is_mended(d):
    """Neither can replace the other: the root, which restarts a keeper found gone, also
    kills a keeper silent for twice the hung time (its standby had its chance first)."""
    keeper, standby = daemon_support.keeper_pids(d)
    t0 = time.monotonic()
    for pid in (keeper, standby):
        os.kill(pid, signal.SIGSTOP)
    try:
        poll("both hung ones killed", lambda: not procs.alive(keeper) and not procs.alive(standby),
             timeout=10.0, every=0.02)
        killed_s = time.monotonic() - t0
    finally:
        for pid in (keeper, standby):
            if procs.alive(pid):
                os.kill(pid, signal.SIGCONT)
    poll("a new keeper and standby", lambda: not {*daemon_support.keeper_pids(d)} & {keeper, standby}
         and procs.is_marked(pid_file(d)["keeper_pid"], d.home) and a_standby(d), timeout=10.0)
    assert "keeper_hung" in open(os.path.join(d.home, "logs", "whitecaves.log")).read()
    root_s = a_root_kill_is_mended(d)
    print(f"keeper and standby hung: both killed {killed_s:.2f} s after SIGSTOP "
          f"({killed_s / HEARTBEAT_S:.1f} heartbeats); a later root SIGKILL healed in {root_s:.2f} s")
    assert killed_s <= 7.5 * HEARTBEAT_S + 1.0   # twice the hung time, plus a loaded machine's slack
    stop_cleanly(d)


def test_root_keeper_and_standby_killed_at_once_status_exits_3_and_start_replaces_them(d):
    """Not mended in place (nothing of ours is left to do it): reported, and a start works."""
    keeper, standby = daemon_support.keeper_pids(d)
    admin, old_root = status(d)["pid"], pid_of(d, "root")
    subprocess.run(["kill", "-9", str(old_root), str(keeper), str(standby)], check=True)
    poll("the three gone", lambda: not any(procs.alive(p) for p in (old_root, keeper, standby)), timeout=5.0)
    time.sleep(0.5)
    assert procs.alive(admin), "the Admin is left (nothing of ours can end it)"
    r = d.cli("daemon", "status", check=False)
    assert r.returncode == 3 and "nothing restarts it" in r.stderr, r.stdout + r.stderr
    daemon_support.start_daemon(d)   # what a service manager does on exit 3: no "already running"
    assert not procs.alive(admin)
    new = status(d)
    assert new["pid"] != admin and all(a["state"] == "running" for a in new["actors"])
    assert owners(d) == d.owner
    stop_cleanly(d)
