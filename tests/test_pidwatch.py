"""runtime/pidwatch.py: ended processes are found through pidfds, each reported once."""
from __future__ import annotations

import subprocess
import sys
import time

from runtime.pidwatch import PidWatch


def _wait_ended(watch: PidWatch, timeout: float = 5.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = watch.ended()
        if ended:
            return ended
        time.sleep(0.01)
    return set()


def test_a_killed_process_is_reported_once_and_a_live_one_never():
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    doomed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    watch = PidWatch()
    try:
        watch.watch(live.pid)
        watch.watch(doomed.pid)
        watch.watch(doomed.pid)   # twice: still one pidfd
        assert watch.ended() == set()
        doomed.kill()
        assert _wait_ended(watch) == {doomed.pid}   # even before it is reaped (a zombie)
        doomed.wait()
        assert watch.ended() == set() and not watch.watched(doomed.pid) and watch.watched(live.pid)
    finally:
        live.kill(), live.wait()
        watch.close()


def test_a_pid_already_gone_counts_as_ended():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    watch = PidWatch()
    watch.watch(gone.pid)
    assert watch.ended() == {gone.pid}
    watch.close()
