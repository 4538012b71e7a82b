"""A store deleted or replaced under a running daemon ends the daemon, with the reason kept.

Every write already compares the store's data file with the one its process
opened (storage/env.py, StoreReplaced), but a refused write only crashes the
actor that made it, and its restarts loop. The keeper (daemon/keeper.py) looks
at the same (device, inode) every turn, against the one `daemon start`
recorded in the pid file: when it changed, it ends the whole daemon (nothing
is written into the void), and leaves the reason in `run/daemon.failed`, which
`daemon status` and every command then name. docs/daemon.md, "Faults".
"""
from __future__ import annotations

import json
import os
import time

from storage import faults


def store_file(home: str) -> list[int] | None:
    """[device, inode] of the store's data file now (None if there is none)."""
    found = faults.file_id(os.path.join(home, "store"))
    return list(found) if found else None


def replaced(home: str, expected: list[int] | None) -> str | None:
    """Why the store is not the one the daemon started with, or None when it is."""
    if not expected:
        return None
    now = store_file(home)
    if now == list(expected):
        return None
    what = "deleted" if now is None else "replaced"
    return (f"the store {os.path.join(home, 'store')} was {what} while the daemon ran; the daemon "
            f"stopped rather than write into it. Put the store back (or accept the new one) and "
            f"`whitecaves daemon start`")


def failure_file(home: str) -> str:
    return os.path.join(home, "run", "daemon.failed")


def record_failure(home: str, reason: str) -> None:
    faults.emergency(home, f"daemon_stopped {reason}")   # stderr (logs/daemon.out) and the reserved file
    try:
        with open(failure_file(home), "w") as f:
            json.dump({"ts": time.time(), "reason": reason}, f)
    except OSError:
        pass


def last_failure(home: str) -> str | None:
    try:
        with open(failure_file(home)) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return f"it stopped at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(data['ts']))}: {data['reason']}"


def forget_failure(home: str) -> None:
    try:
        os.unlink(failure_file(home))
    except FileNotFoundError:
        pass
