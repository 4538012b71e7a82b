"""Starting the keeper process and reading the pid file it keeps (daemon/keeper.py).

Bottom-layer so that both the CLI's `daemon start` (daemon/lifecycle.py) and the
root supervisor (actors/root_watch.py, which restarts a keeper found gone) start it
the same way, without the root importing the daemon package above it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from runtime import procs


def pid_file(home: str) -> str:
    """`<home>/run/daemon.json`, the daemon's pid file (daemon/client.py, Where.pid_file)."""
    return os.path.join(home, "run", "daemon.json")


def read_pid_file(home: str) -> dict | None:
    try:
        with open(pid_file(home)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def spawn(home: str, port: int, output: str, role: str = "keeper") -> subprocess.Popen:
    """Start the keeper of `home`'s daemon (or, role "standby", the keeper's standby):
    a detached process marked with the home."""
    root = project_root()
    with procs.marked(home), open(output, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "daemon.keeper", os.path.abspath(home), str(port), role],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                                cwd=root, env=dict(os.environ, PYTHONPATH=root))


def project_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
