"""The keeper's standby: a second keeper process that only watches the first, and takes over.

The keeper (daemon/keeper.py) restarts the root supervisor, and the root
restarts a keeper found gone (actors/root_watch.py). The root and the keeper
killed at the same instant left nobody to restart either, and a SIGSTOPped
keeper was noticed by nobody. So the keeper keeps a standby beside it, as
Erlang's `heart` is kept by the node: the same program (`python -m
daemon.keeper HOME PORT standby`), its pid in the pid file (`standby_pid`).

- the standby looks every turn (runtime/keeper_beat.py `turn_s`; at once when
  the keeper ends, through its pidfd): the keeper gone → it becomes the keeper
  (claims `keeper_pid`, then works as daemon/keeper.py does: restarts the root,
  starts a standby of its own); the keeper alive but silent (its beat,
  runtime/keeper_beat.py, older than 3 heartbeats plus the grace) → `keeper_hung`
  in `logs/daemon.out`, it claims `keeper_pid`, SIGKILLs the hung one, and goes on
  as above;
- the keeper, on every turn (`StandbyWatch`): the standby gone → a new one;
  alive but silent → `keeper_hung` (role standby), SIGKILL, a new one.

Any two of root, keeper and standby killed at once leave one to mend the others.
`daemon stop` marks the pid file `stopping` and stops both (daemon/keeper.py `stop`).
"""
from __future__ import annotations

import os
import signal
import subprocess

from runtime import keeper_beat
from daemon.client import Where, read_pid_file, update_pid_file
from runtime import config as config_mod, keeper_proc, procs
from runtime.pidwatch import PidWatch



def stand_by(where: Where, say) -> int | None:
    """The standby's loop. Returns when the keeper must be replaced: the pid of a hung
    keeper to kill after taking over (0 when it is gone already); None: exit (a stop,
    or another standby owns the place). `say(event, **fields)` is the keeper's log line."""
    stopping: list = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    me = os.getpid()
    if not claim_place(where, "standby", say, ignore=lambda info: (info.get("keeper_pid"),)):
        return None
    health = config_mod.load(where.home).health
    turn, deaths = keeper_beat.turn_s(health), PidWatch()
    judge = keeper_beat.BeatJudge(where.home, "keeper", health, turn)
    while not stopping:
        keeper_beat.beat(where.home, "standby")
        info = read_pid_file(where)
        if not info or info.get("stopping") or info.get("standby_pid") != me:
            return None
        keeper = info.get("keeper_pid") or 0
        if not procs.is_marked(keeper, where.home):
            say("keeper_gone", pid=keeper, by="standby")
            return 0
        silent = judge.silent_s(keeper)
        if silent is not None:
            say("keeper_hung", role="keeper", pid=keeper, silent_s=silent)
            return keeper
        deaths.watch(keeper)
        deaths.wait(turn)   # the keeper's end wakes us at once
        deaths.ended()
    return None


def claim_place(where: Where, role: str, say, ignore=lambda info: ()) -> bool:
    """Write our pid as `role`'s ("keeper" or "standby") in the pid file, unless the daemon
    is stopping or a live process of this home other than us (and those `ignore(info)`
    names) has the place; then our beat file, and a log line. False: exit."""
    me, replaced, key = os.getpid(), [], f"{role}_pid"

    def take(info: dict) -> dict | None:
        other = info.get(key)
        if info.get("stopping") or (other not in (None, me, *ignore(info)) and procs.alive(other)
                                    and procs.is_marked(other, where.home)):
            return None
        replaced.append(None if other == me else other)   # `daemon start` may have written ours
        return dict(info, **{key: me})

    if update_pid_file(where, take) is None:
        return False
    keeper_beat.claim(where.home, role)
    say(f"{role}_started", replaces=replaced[0])
    return True


class StandbyWatch:
    """The keeper's side: keep one live, beating standby."""

    def __init__(self, where: Where, health_cfg, say) -> None:
        self.where, self.say = where, say
        self.judge = keeper_beat.BeatJudge(where.home, "standby", health_cfg, keeper_beat.turn_s(health_cfg))
        self.proc: subprocess.Popen | None = None     # the standby we started (reaped here)

    def check(self, info: dict) -> None:
        """One turn: start a standby where there is none; replace a hung one."""
        if info.get("stopping"):
            return
        if self.proc is not None and self.proc.poll() is None and info.get("standby_pid") != self.proc.pid:
            return   # ours, still starting
        pid = info.get("standby_pid")
        if pid and pid != os.getpid() and procs.is_marked(pid, self.where.home):
            silent = self.judge.silent_s(pid)
            if silent is None:
                return
            self.say("keeper_hung", role="standby", pid=pid, silent_s=silent)
            os.kill(pid, signal.SIGKILL)
            if self.proc is not None and self.proc.pid == pid:
                self.proc.wait()   # reap it, or it stays a zombie child of ours
        home = self.where.home
        self.proc = keeper_proc.spawn(home, self.where.port, os.path.join(home, "logs", "daemon.out"),
                                      role="standby")

    def close(self) -> None:
        """Reap a standby of ours that has exited (the keeper is ending)."""
        if self.proc is not None:
            self.proc.poll()
