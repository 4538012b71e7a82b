"""supervision/stopping.py stop_processes: children whose order does not matter are all asked
to stop before any is waited for; one that does not stop is killed at its own timeout."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from supervision.processes import alive
from supervision.stopping import stop_processes

# Writes the wall time of its SIGTERM to a file, then exits (or, told to, ignores SIGTERM).
CHILD = """
import signal, sys, time
out, stubborn = sys.argv[1], sys.argv[2] == "1"
def term(*_):
    with open(out, "w") as f:
        f.write(repr(time.time()))
    if not stubborn:
        sys.exit(0)
signal.signal(signal.SIGTERM, term)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


def spawn(tmp_path, name, stubborn):
    out = str(tmp_path / name)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, out, "1" if stubborn else "0"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc, out


def test_all_are_asked_before_a_stubborn_one_is_waited_for(tmp_path):
    stubborn, stubborn_out = spawn(tmp_path, "stubborn", True)
    polite, polite_out = spawn(tmp_path, "polite", False)
    try:
        started = time.time()
        # The stubborn one comes first: one at a time, the polite one would be asked only
        # after the stubborn one's 2 s timeout.
        results = stop_processes([(stubborn.pid, 2.0), (polite.pid, 2.0)])
        for p in (stubborn, polite):
            p.wait(timeout=5)
        assert results == {stubborn.pid: "killed", polite.pid: "exited"}
        with open(polite_out) as f:
            asked_at = float(f.read())
        assert asked_at < started + 2.0
        assert os.path.exists(stubborn_out)     # it was asked too, before the kill
        assert stubborn.returncode == -signal.SIGKILL
    finally:
        for p in (stubborn, polite):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_gone_and_brutal_kill(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    victim, out = spawn(tmp_path, "victim", False)
    try:
        results = stop_processes([(gone.pid, 1.0), (victim.pid, "brutal_kill")])
        victim.wait(timeout=5)
        assert results == {gone.pid: "gone", victim.pid: "killed"}
        assert not os.path.exists(out)          # killed without being asked
        assert not alive(victim.pid)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
