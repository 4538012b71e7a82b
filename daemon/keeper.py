"""The keeper: one small process beside the actor system that keeps the root supervisor alive.

Every actor has a supervisor, except the root: its parent is thespian's Admin,
which only notes a ChildActorExited for it. A SIGKILLed root took its whole
tree with it (PR_SET_PDEATHSIG) and nothing brought it back. The keeper (as
Erlang's `heart` beside a node) is started by `daemon start`, marked with the
home like every process of the daemon, and looks every turn (a quarter
heartbeat, runtime/keeper_beat.py `turn_s`; at once when the root or the Admin ends):

- root gone, Admin alive → it creates a new root through the Admin, exactly as
  `daemon start` did (same tree, rebuilt from LMDB), and writes its pid in the
  pid file. Measured: the tree answers again well within 2 s (docs/daemon.md).
- Admin gone → the daemon cannot be mended from inside: it ends what is left
  of it, removes the pid file and exits, so `daemon status` exits 3 and a
  service manager starts a new daemon.

The keeper keeps a standby beside it, which takes over from a keeper that is
gone or hung (daemon/keeper_standby.py); each beats for the other
(runtime/keeper_beat.py). `daemon stop` stops both first (SIGTERM), so an
orderly stop is not mended. A root that gives up (restart intensity exceeded) SIGTERMs the Admin:
the keeper then sees the Admin go and ends too. docs/daemon.md, "Faults".
"""
from __future__ import annotations

import os
import signal
import sys
import time

from runtime import config as config_mod, keeper_proc, procs
from runtime.pidwatch import PidWatch
from daemon.client import Where, ask, connect, read_pid_file, remove_pid_file, update_pid_file, _close
from daemon import store_watch
from runtime import keeper_beat
from daemon.keeper_probe import RootProbe
from daemon.keeper_standby import StandbyWatch, claim_place, stand_by

RESTART_TIMEOUT_S = 10.0


def spawn(where: Where, output: str) -> int:
    """Start the keeper of `where`'s daemon (a detached process marked with the home); its pid."""
    return keeper_proc.spawn(where.home, where.port, output).pid


def stop(info: dict | None, timeout: float = 2.0) -> None:
    """Stop the keeper and its standby named in the pid file (before an orderly stop).

    The pid file says `stopping` first: the root restarts a keeper it finds gone
    (actors/root_watch.py), and a keeper or standby started now exits at once."""
    home = (info or {}).get("home")
    if not info or not home:
        return
    info = update_pid_file(Where(home, info.get("port", 0)), lambda i: dict(i, stopping=True)) or info
    pids = [p for p in (info.get("keeper_pid"), info.get("standby_pid")) if p and procs.is_marked(p, home)]
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(procs.alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.01)
    procs.kill_all([p for p in pids if procs.alive(p)])


def keep(where: Where, replacing: int | None = None) -> int:
    """The keeper's loop; returns when the daemon is gone (or we are told to stop).
    `replacing`: the pid of a hung keeper our standby found (killed once we have its place)."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    # A keeper restarted by the root, or the standby (its predecessor gone or hung), takes
    # the place here; a live keeper other than the hung one replaced keeps it.
    if not claim_place(where, "keeper", _say, ignore=lambda info: (replacing,)):
        return 0
    if replacing and procs.is_marked(replacing, where.home):
        os.kill(replacing, signal.SIGKILL)   # hung: it restarts nothing, and must not resume
    _import_ahead()
    cfg = config_mod.load(where.home)
    deaths, turn = PidWatch(), keeper_beat.turn_s(cfg.health)   # a death wakes the turn at once
    probe = RootProbe(where, cfg, _say, busy=lambda s: keeper_beat.beat(where.home, "keeper", busy_s=s),
                      nap=deaths.wait)
    standby = StandbyWatch(where, cfg.health, _say)
    try:
        while not stopping:
            keeper_beat.beat(where.home, "keeper")
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
                keeper_beat.beat(where.home, "keeper", busy_s=RESTART_TIMEOUT_S + 3.0)   # not hung
                restart_root(where, info)
                continue
            standby.check(info)
            for pid in (root, info.get("pid"), info.get("standby_pid")):
                deaths.watch(pid)
            deaths.ended()   # (only to wake us: each is looked at on the next turn)
            probe.check(root, turn)   # a hung root is SIGKILLed: restarted on the next turn
    finally:
        probe.close()
        standby.close()
    return 0


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
    update_pid_file(where, lambda latest: dict(latest, root_pid=reply.pid,
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


def main(home: str, port: int, role: str = "keeper") -> int:
    where = Where(home, port)
    if role == "keeper":
        return keep(where)
    _import_ahead()   # a standby that takes over restarts the root at once
    replacing = stand_by(where, _say)
    return 0 if replacing is None else keep(where, replacing)


if __name__ == "__main__":
    os.environ.setdefault("THESPLOG_FILE", os.path.join(sys.argv[1], "logs", "thespian.log"))
    sys.exit(main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4]))
