"""Actors and helpers for the supervision tests (and bench/restart.py).

They live in an importable module because thespian forks actor processes and
loads actor classes by module path. Each worker appends its life events to a
shared log file (one line per event, O_APPEND), which is how tests observe
order and timing across processes: "<monotonic time> <child id> <pid> <event>".
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from thespian.actors import Actor

from daemon_support import poll
from supervision.actor import SupervisedActor
from supervision.supervisor import Supervisor


@dataclass
class Ping:
    ref: Any


@dataclass
class Pong:
    ref: Any
    child_id: str
    pid: int


@dataclass
class Crash:
    pass


@dataclass
class StopWith:
    reason: str


@dataclass
class GetPeers:
    ref: Any


@dataclass
class PeersAre:
    ref: Any
    child_id: str
    peers: dict


def record(path: str | None, child_id: str, event: str) -> None:
    if not path:
        return
    line = f"{time.monotonic():.6f} {child_id} {os.getpid()} {event}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read_events(path: str, peers: bool = False) -> list[tuple[float, str, int, str]]:
    """[(time, child id, pid, event)] in the order they were written ('peers …' lines only if asked)."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            t, cid, pid, event = line.split(maxsplit=3)
            if peers or not event.startswith("peers"):
                out.append((float(t), cid, int(pid), event.strip()))
    return out


class Worker(SupervisedActor):
    """args: {'log': path or None, 'crash_on_start': bool,
              'hang_once': path — the first instance to start hangs in on_start (and creates the file),
              'fail_if': path — on_start raises while this file exists}"""

    def on_start(self, args):
        self.args = args or {}
        record(self.args.get("log"), self.child_id, "start")
        record(self.args.get("log"), self.child_id, "peers " + ",".join(sorted(self.peers)))
        if self.args.get("crash_on_start"):
            raise RuntimeError(f"{self.child_id} refuses to start")
        if self.args.get("fail_if") and os.path.exists(self.args["fail_if"]):
            raise RuntimeError(f"{self.child_id} cannot start while {self.args['fail_if']} exists")
        if self.args.get("start_s"):   # a slow start, then a 'ready' line
            time.sleep(self.args["start_s"])
            record(self.args.get("log"), self.child_id, "ready")
        marker = self.args.get("hang_once")
        if marker and not os.path.exists(marker):
            open(marker, "w").close()
            time.sleep(30)

    def on_stop(self):
        record(self.args.get("log") if hasattr(self, "args") else None, self.child_id, "stop")

    def on_message(self, msg, sender):
        if isinstance(msg, Ping):
            self.send(sender, Pong(msg.ref, self.child_id, os.getpid()))
        elif isinstance(msg, Crash):
            raise RuntimeError(f"{self.child_id} was told to crash")
        elif isinstance(msg, StopWith):
            self.stop(msg.reason)
        elif isinstance(msg, GetPeers):
            self.send(sender, PeersAre(msg.ref, self.child_id, dict(self.peers)))


class Echo(Actor):
    """A bare thespian actor (no supervision), the baseline of bench/restart.py."""

    def receiveMessage(self, msg, sender):
        if isinstance(msg, Ping):
            self.send(sender, Pong(msg.ref, "echo", os.getpid()))


class LoggingSupervisor(Supervisor):
    """A Supervisor that also logs its own start and stop (to observe escalation)."""

    def on_start(self, args):
        record((args.extra or {}).get("log"), self.child_id, "start")
        super().on_start(args)

    def on_stop(self):
        super().on_stop()
        if self.args is not None:
            record((self.args.extra or {}).get("log"), self.child_id, "stop")


class LaterSupervisor(LoggingSupervisor):
    """Its later children are args.extra['later'] (the way the masters supervisor reads its own
    from storage once it has started)."""

    def later_children(self, args):
        return list((args.extra or {}).get("later", []))


def actor_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# ---------------------------------------------------------------- helpers for tests and the benchmark

_refs = iter(range(1, 1 << 62))


def new_ref() -> int:
    return next(_refs)


def ask(asys, addr, make_msg, timeout: float = 5.0):
    """Send make_msg(ref) and return the reply carrying that ref (None at the timeout).

    ActorSystem.ask returns the first message that arrives, which may be a
    late reply to an earlier request: skip those."""
    ref = new_ref()
    deadline = time.monotonic() + timeout
    reply = asys.ask(addr, make_msg(ref), timeout)
    while reply is not None and getattr(reply, "ref", None) != ref:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        reply = asys.listen(left)
    return reply


def start_root(asys, args, cls=Supervisor, name: str = "root", timeout: float = 5.0):
    """Create a root supervisor the way the daemon does, and wait for Started."""
    from supervision.messages import Init, Started

    root = asys.createActor(cls, globalName=name)
    reply = asys.ask(root, Init(name, args, {}), timeout)
    assert isinstance(reply, Started), f"root did not start: {reply!r}"
    return root


def statuses(asys, sup, recursive: bool = False, timeout_s: float = 1.0) -> dict:
    """{child id: ChildStatus} of a supervisor."""
    from supervision.messages import Children, WhichChildren

    reply = ask(asys, sup, lambda ref: WhichChildren(ref, recursive, timeout_s), timeout=timeout_s + 4)
    assert isinstance(reply, Children), f"no status from {sup}: {reply!r}"
    _remember_pids(reply.children)
    return {c.id: c for c in reply.children}


# A safety net besides the fixtures: every pid a test has seen is SIGKILLed at its end
# (if it is still the same process), so a test that breaks PR_SET_PDEATHSIG or the
# shutdown cannot leave orphans behind.
_seen: dict[int, str] = {}


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]  # field 22: start time since boot
    except (OSError, IndexError):
        return None


def _remember_pids(children) -> None:
    for c in children or []:
        if c.pid and c.pid not in _seen:
            _seen[c.pid] = _start_time(c.pid)
        _remember_pids(c.children)


def kill_seen_processes() -> None:
    import signal

    for pid, started in list(_seen.items()):
        if started is not None and _start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    _seen.clear()


def wait_until(predicate, timeout: float = 5.0, pause: float = 0.005):
    """Poll `predicate` until it returns something truthy; return it (AssertionError at the timeout)."""
    return poll("the condition", predicate, timeout, pause)


def running_with_new_pid(asys, sup, child_id: str, old_pid: int):
    """The child's status once it runs in a process other than old_pid, else None."""
    status = statuses(asys, sup).get(child_id)
    if status is not None and status.state == "running" and status.pid not in (None, old_pid):
        return status
    return None


# ---------------------------------------------------------------- a hook (supervision/hooks.py) for the tests

HOOK_LOG: str | None = None  # set in the test process before the actor system forks; inherited


def record_child_init(child_id: str) -> None:
    record(HOOK_LOG, child_id, "init-hook")
