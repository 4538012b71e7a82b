"""Two process facts the supervisor needs: is a pid alive, and "die with my parent".

Private copies of runtime/procs.py's `alive` and `die_with_parent` (supervision
imports nothing of the project, and runtime must not import supervision). Linux only (/proc, prctl).
"""
from __future__ import annotations

import ctypes
import os
import signal


def alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # the state is the field after the parenthesised command name
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def die_with_parent() -> None:
    """PR_SET_PDEATHSIG: SIGKILL this process when the process that forked it dies.

    Thespian leaves children running when their parent is SIGKILLed; with
    this an actor's subtree goes with it, as in Erlang."""
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    # The parent may already have died between fork and prctl.
    if os.getppid() == 1:
        os._exit(1)
