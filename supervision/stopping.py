"""Ending a child's process the OTP way: ask, wait, then kill.

A supervisor stops a child by pid, without a message round trip: SIGTERM,
which thespian turns into an ActorExitRequest inside the child (so the
child's on_stop runs), then SIGKILL if the pid is still there after the
child's shutdown timeout. Signals reach a child even while the supervisor
is blocked in this wait, and even when the child is stuck (SIGSTOP, a hung
C call): SIGKILL always ends it. 'infinity' (OTP's, the default for a child
that is a supervisor) waits as long as the process takes: a supervisor bounds
its own stop by its children's shutdown timeouts.
"""
from __future__ import annotations

import math
import os
import signal
import time

from supervision.processes import alive

KILL_WAIT_S = 2.0  # how long a SIGKILLed process may take to disappear (it should take microseconds)


def wait_gone(pid: int, timeout_s: float) -> bool:
    """True once `pid` has exited (a zombie counts as exited), False at the timeout."""
    deadline = time.monotonic() + timeout_s
    pause = 0.001
    while alive(pid):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.02)
    return True


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_process(pid: int, shutdown: float | str) -> str:
    """End `pid`: 'brutal_kill' → SIGKILL now; seconds → SIGTERM, then SIGKILL after that long;
    'infinity' → SIGTERM, then wait for as long as it takes.

    Returns 'gone' (it was not running), 'exited' (it stopped when asked) or 'killed'."""
    if not alive(pid):
        return "gone"
    if shutdown != "brutal_kill":
        _signal(pid, signal.SIGTERM)
        if wait_gone(pid, math.inf if shutdown == "infinity" else float(shutdown)):
            return "exited"
    _signal(pid, signal.SIGKILL)
    wait_gone(pid, KILL_WAIT_S)
    return "killed"



def stop_processes(targets: list[tuple[int, float | str]]) -> dict[int, str]:
    """End several processes at once: each is asked (SIGTERM, or SIGKILL for 'brutal_kill') before
    any is waited for, then one shared wait in which each still there after its own shutdown
    timeout (counted from the common start) is SIGKILLed. For children whose order does not
    matter: 500 sessions stopped one after the other took longer than their whole daemon's
    stop may (docs/scale.md). Answers {pid: 'gone' | 'exited' | 'killed'} like stop_process."""
    results: dict[int, str] = {}
    deadlines: dict[int, float] = {}
    killed: list[int] = []
    start = time.monotonic()
    for pid, shutdown in targets:
        if not alive(pid):
            results[pid] = "gone"
        elif shutdown == "brutal_kill":
            _signal(pid, signal.SIGKILL)
            results[pid] = "killed"
            killed.append(pid)
        else:
            _signal(pid, signal.SIGTERM)
            deadlines[pid] = math.inf if shutdown == "infinity" else start + float(shutdown)
    pause = 0.001
    while deadlines:
        now = time.monotonic()
        for pid, deadline in list(deadlines.items()):
            if not alive(pid):
                results[pid] = "exited"
                del deadlines[pid]
            elif now >= deadline:
                _signal(pid, signal.SIGKILL)
                results[pid] = "killed"
                killed.append(pid)
                del deadlines[pid]
        if deadlines:
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
    kill_deadline = time.monotonic() + KILL_WAIT_S
    for pid in killed:
        wait_gone(pid, max(0.0, kill_deadline - time.monotonic()))
    return results
