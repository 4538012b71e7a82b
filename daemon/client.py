"""The CLI's side of the daemon: start, stop, status and requests.

A daemon is one thespian actor system for one home on one port. Its pid
file (`<home>/run/daemon.json`) names the Admin process and the port; every
process of it carries the home in its environment (runtime/procs.py), which
is how a stale daemon left by a SIGKILL is found and ended.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from dataclasses import dataclass

from runtime import procs, wire

DEFAULT_PORT = 19500
ROOT_NAME = "root"


class DaemonError(Exception):
    """An error the CLI reports as is; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class NotRunning(DaemonError):
    def __init__(self, home: str, port: int):
        from daemon.store_watch import last_failure
        why = last_failure(home)   # e.g. its store deleted underneath (daemon/store_watch.py)
        super().__init__(f"no daemon is running for {home} on port {port}" + (f"; {why}" if why else ""), code=3)


class Unresponsive(DaemonError):
    def __init__(self, where: "Where", pid: int):
        super().__init__(f"the daemon of {where.home} (pid {pid}) does not answer on port {where.port}; "
                         f"`whitecaves daemon stop` ends it")


@dataclass
class Where:
    home: str
    port: int
    bind: str = ""                 # "" = [daemon] bind of config.toml (default 127.0.0.1)

    @property
    def run_dir(self) -> str:
        return os.path.join(self.home, "run")

    @property
    def pid_file(self) -> str:
        return os.path.join(self.run_dir, "daemon.json")


def read_pid_file(where: Where) -> dict | None:
    try:
        with open(where.pid_file) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_pid_file(where: Where, info: dict) -> None:
    os.makedirs(where.run_dir, exist_ok=True)
    tmp = where.pid_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, where.pid_file)


def update_pid_file(where: Where, change) -> dict | None:
    """Change the pid file under a lock: the keeper, its standby and a keeper the root
    starts may write at once. `change(info)` returns the new record, or None to keep it
    as it is; returns what was written (None: nothing, or no pid file)."""
    os.makedirs(where.run_dir, exist_ok=True)
    with open(where.pid_file + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = read_pid_file(where)
        new = change(dict(info)) if info is not None else None
        if new is not None:
            write_pid_file(where, new)
        return new


def remove_pid_file(where: Where) -> None:
    try:
        os.unlink(where.pid_file)
    except FileNotFoundError:
        pass


def connect(where: Where, timeout: float = 5.0):
    """The running system for `where`, or NotRunning. Never starts one.

    The pid file is the authority: no live Admin recorded for this home and
    port means no daemon, even when something listens on the port (another
    home's daemon, or the logger of a SIGKILLed one, which keeps the port and
    would make thespian wait 15 s and then fail). An Admin that is alive but
    does not answer within `timeout` (stopped, hung) is Unresponsive."""
    from daemon import system

    info = read_pid_file(where)
    if not info or info.get("port") != where.port or not procs.is_marked(info.get("pid"), where.home):
        raise NotRunning(where.home, where.port)
    bind = info.get("bind") or where.bind or "127.0.0.1"
    try:  # every frame is signed with the home's key (runtime/wire.py): without it the daemon drops ours
        wire.install(wire.load_key(where.home))
    except wire.WireKeyError as e:
        raise DaemonError(str(e)) from None
    # thespian's own notes from this client go to the home too, not the host-wide temp file
    os.environ.setdefault("THESPLOG_FILE", os.path.join(where.home, "logs", "thespian.log"))
    outcome: list = []

    def attempt():
        try:
            outcome.append(system.connect(where.port, bind))
        except Exception as e:  # thespian's InvalidActorAddress and friends: no usable Admin there
            outcome.append(e)

    worker = threading.Thread(target=attempt, daemon=True)  # thespian's own wait is about 15 s
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise Unresponsive(where, info["pid"])
    if outcome[0] is None or isinstance(outcome[0], Exception):
        if procs.is_marked(info["pid"], where.home):
            raise Unresponsive(where, info["pid"])
        raise NotRunning(where.home, where.port)
    return outcome[0]


def ask(asys, target, msg, timeout: float = 10.0, ref: str | None = None):
    """ask() that skips late answers to earlier requests (matched by `ref`)."""
    ref = ref if ref is not None else getattr(msg, "ref", None)
    deadline = time.monotonic() + timeout
    reply = asys.ask(target, msg, timeout)
    while True:
        if reply is None:
            return None
        if ref is None or getattr(reply, "ref", None) == ref:
            return reply
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        reply = asys.listen(remaining)


def root_address(asys, where: Where | None = None):
    """The root supervisor's address (it is the only globally named actor).

    With `where`, only when the pid file's root process is alive: thespian forgets
    the name of a dead root, and looking it up would quietly create an empty one
    that answers nothing (daemon/keeper.py restarts the real one)."""
    from actors.root import Root
    if where is not None:
        check_root_alive(where)
    return asys.createActor(Root, globalName=ROOT_NAME)


def check_root_alive(where: Where) -> None:
    """DaemonError unless the root supervisor recorded in the pid file runs: exit 1 while
    the keeper restarts it, exit 3 when nothing will (the keeper is gone too)."""
    info = read_pid_file(where) or {}
    root = info.get("root_pid")
    if root and procs.alive(root) and procs.is_marked(root, where.home):
        return
    for role in ("keeper", "standby"):   # a standby takes over from a dead or hung keeper
        keeper = info.get(f"{role}_pid")
        if keeper and procs.is_marked(keeper, where.home):
            raise DaemonError(f"the daemon's root supervisor (pid {root}) is not running; "
                              f"its {role} (pid {keeper}) is restarting it: try again in a moment")
    raise DaemonError(f"the daemon of {where.home} has no root supervisor (pid {root} is gone) and "
                      f"nothing restarts it (its keeper and standby are gone too): "
                      f"`whitecaves daemon start` replaces what is left", code=3)


def request(where: Where, command: str, timeout: float = 15.0, **args):
    """Send an admin command and return its data; DaemonError on failure."""
    from actors.messages import AdminRequest

    asys = connect(where)
    try:
        reply = ask(asys, root_address(asys, where), AdminRequest(command=command, args=args), timeout)
    finally:
        _close(asys)
    if reply is None:
        raise DaemonError(f"the daemon did not answer {command!r} within {timeout:g} s")
    if not reply.ok:
        raise DaemonError(reply.error, code=reply.code or 1)
    return reply.data


def _close(asys) -> None:
    """Drop the client's side of the connection without shutting the daemon down."""
    try:
        asys._systemBase.transport.close()  # noqa: SLF001 - thespian has no public 'disconnect'
    except Exception:
        pass


def stale_processes(where: Where) -> list[int]:
    return procs.processes_of(where.home)


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [p for p in pids if procs.alive(p)]
        if not pids:
            return []
        time.sleep(0.02)
    return [p for p in pids if procs.alive(p)]
