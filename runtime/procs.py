"""Finding and ending the processes of one daemon.

Every process of a daemon inherits the environment variable MARK_ENV set to
the daemon's home (the CLI sets it just before thespian forks the Admin). That
lets us find every process of a home — the Admin, thespian's logger, every
actor, the simulated network — even after the Admin was SIGKILLed and its
children were re-parented to init. Linux only (/proc).
"""
from __future__ import annotations

import ctypes
import os
import signal
import time

MARK_ENV = "WHITECAVES_DAEMON_HOME"


def processes_of(home: str) -> list[int]:
    """Pids of every live process whose MARK_ENV is `home` (never our own)."""
    want = f"{MARK_ENV}={os.path.abspath(home)}".encode()
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if want in env and not _is_zombie(int(entry)):
            found.append(int(entry))
    return sorted(found)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # state is the field after the parenthesised command name
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def kill_all(pids: list[int], grace_s: float = 0.0) -> list[int]:
    """SIGTERM (if grace_s > 0) then SIGKILL what is left. Returns the pids that were alive."""
    live = [p for p in pids if alive(p)]
    if grace_s > 0:
        for p in live:
            _signal(p, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(alive(p) for p in live):
            time.sleep(0.02)
    for p in live:
        if alive(p):
            _signal(p, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and any(alive(p) for p in live):
        time.sleep(0.01)
    return live


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def die_with_parent() -> None:
    """PR_SET_PDEATHSIG: SIGKILL this process when the process that forked it dies.

    Thespian leaves children running when their parent is SIGKILLed; with
    this an actor's subtree goes with it, as in Erlang.
    """
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may already have died between fork and prctl.
    if os.getppid() == 1:
        os._exit(1)
