"""The keeper: one small process beside the actor system that keeps the root supervisor alive.

Every actor has a supervisor, except the root: its parent is thespian's Admin,
which only notes a ChildActorExited for it. A SIGKILLed root took its whole
tree with it (PR_SET_PDEATHSIG) and nothing brought it back. The keeper (as
Erlang's `heart` beside a node) is started by `daemon start`, marked with the
home like every process of the daemon, and looks every CHECK_S:

- root gone, Admin alive → it creates a new root through the Admin, exactly as
  `daemon start` did (same tree, rebuilt from LMDB), and writes its pid in the
  pid file. Measured: the tree answers again well within 2 s (docs/daemon.md).
- Admin gone → the daemon cannot be mended from inside: it ends what is left
  of it, removes the pid file and exits, so `daemon status` exits 3 and a
  service manager starts a new daemon.

`daemon stop` stops the keeper first (SIGTERM), so an orderly stop is not
mended. A root that gives up (restart intensity exceeded) SIGTERMs the Admin:
the keeper then sees the Admin go and ends too. docs/daemon.md, "Faults".
"""
from __future__ import annotations

import os
import signal
import sys
import time

from runtime import config as config_mod, keeper_proc, procs
from daemon.client import Where, ask, connect, read_pid_file, remove_pid_file, write_pid_file, _close
from daemon import store_watch
from daemon.keeper_probe import RootProbe

CHECK_S = 0.05
RESTART_TIMEOUT_S = 10.0


def spawn(where: Where, output: str) -> int:
    """Start the keeper of `where`'s daemon (a detached process marked with the home); its pid."""
    return keeper_proc.spawn(where.home, where.port, output).pid


def stop(info: dict | None, timeout: float = 2.0) -> None:
    """Stop the keeper named in the pid file (before an orderly stop of the daemon).

    The pid file says `stopping` first: the root restarts a keeper it finds gone
    (actors/root_watch.py), and a keeper started now exits at once."""
    pid = (info or {}).get("keeper_pid")
    home = (info or {}).get("home")
    if info and home:
        write_pid_file(Where(home, info.get("port", 0)), dict(info, stopping=True))
    if not pid or not home or not procs.is_marked(pid, home):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while procs.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    if procs.alive(pid):
        procs.kill_all([pid])


def keep(where: Where) -> int:
    """The keeper's loop; returns when the daemon is gone (or we are told to stop)."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    if not _claim(where):
        return 0
    _import_ahead()
    probe = RootProbe(where, config_mod.load(where.home), _say)
    try:
        while not stopping:
            info = read_pid_file(where)
            if not info or info.get("stopping") or info.get("keeper_pid") not in (None, os.getpid()):
                return 0   # an orderly stop, or another daemon (or keeper) owns the home now
            if not procs.is_marked(info.get("pid"), where.home):
                _end_the_rest(where)
                return 0
            why = store_watch.replaced(where.home, info.get("store_file"))
            if why:   # nothing may write into the void: end the daemon, the reason kept
                store_watch.record_failure(where.home, why)
                _say("store_replaced", error=why)
                _end_the_rest(where)
                return 0
            root = info.get("root_pid") or 0
            if not procs.alive(root) and not stopping:
                restart_root(where, info)
                continue
            probe.check(root, CHECK_S)   # a hung root is SIGKILLed: restarted on the next turn
    finally:
        probe.close()
    return 0


def _claim(where: Where) -> bool:
    """Write our pid as the keeper's, unless a live keeper has it or the daemon is stopping.
    A keeper restarted by the root (its predecessor SIGKILLed) takes over here."""
    info = read_pid_file(where)
    if not info or info.get("stopping"):
        return False
    other = info.get("keeper_pid")
    if other not in (None, os.getpid()) and procs.alive(other) and procs.is_marked(other, where.home):
        return False
    write_pid_file(where, dict(info, keeper_pid=os.getpid()))
    _say("keeper_started", replaces=other)
    return True


def restart_root(where: Where, info: dict) -> None:
    """Create and start a new root through the Admin, as `daemon start` did."""
    from actors.root import Root
    from daemon.client import ROOT_NAME
    from daemon.tree import root_args
    from runtime.context import Context
    from supervision.messages import Init, Started

    t0 = time.monotonic()
    cfg = config_mod.load(where.home)
    ctx = Context(home=info["home"], port=info["port"], transport=info["transport"],
                  sim_port=info["sim_port"], bind=info["bind"])
    where.bind = info["bind"]
    try:
        asys = connect(where, timeout=2.0)
    except Exception as e:  # the Admin is going (a root that gave up ends it): look again
        _say("root_restart_skipped", error=str(e))
        return
    try:
        root = asys.createActor(Root, globalName=ROOT_NAME)
        reply = ask(asys, root, Init(child_id="root", args=root_args(ctx, cfg), peers={}),
                    timeout=RESTART_TIMEOUT_S, ref=None)
        if not isinstance(reply, Started):   # a supervisor answers Started once its children run
            _say("root_restart_failed", reply=repr(reply))
            return
    except Exception as e:
        _say("root_restart_failed", error=repr(e))
        return
    finally:
        _close(asys)
    latest = read_pid_file(where) or info
    write_pid_file(where, dict(latest, root_pid=reply.pid,
                               root_restarts=int(latest.get("root_restarts", 0)) + 1))
    _say("root_restarted", old_pid=info.get("root_pid"), pid=reply.pid,
         took_s=round(time.monotonic() - t0, 3))


def _import_ahead() -> None:
    """Import now what a restart needs (thespian, the actors, structlog: about 0.5 s on a
    loaded machine), so that time is not spent while the service is down."""
    import actors.root  # noqa: F401
    import daemon.tree  # noqa: F401
    import thespian.actors  # noqa: F401


def _end_the_rest(where: Where) -> None:
    """The Admin died: end every other process of the home and forget the daemon."""
    left = [p for p in procs.processes_of(where.home) if p != os.getpid()]
    procs.kill_all(left)
    remove_pid_file(where)
    _say("daemon_gone", reason="the actor system's Admin ended", killed=len(left))


def _say(event: str, **fields) -> None:
    """One JSON line on the keeper's output (`<home>/logs/daemon.out`): it has no logger actor."""
    import json
    print(json.dumps({"ts": time.time(), "event": event, "actor": "keeper", "pid": os.getpid(),
                      **fields}), flush=True)


if __name__ == "__main__":
    home, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("THESPLOG_FILE", os.path.join(home, "logs", "thespian.log"))
    sys.exit(keep(Where(home, port)))
