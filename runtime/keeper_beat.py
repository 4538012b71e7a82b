"""Beats of the keeper and its standby: how each tells the other it is not hung.

The keeper (daemon/keeper.py) and its standby (daemon/keeper_standby.py) are
plain processes, not actors, so nobody pings them. Each one's loop touches its
own beat file, `<home>/run/<role>.beat` (content: the writer's pid; the beat is
the file's mtime), on every turn; the other reads it. A process that is alive
but has not beaten for `failed_after` heartbeats plus the grace (the HA
monitor's rule, health/probes.py) is hung: SIGSTOPped, or blocked.

Before a call that may block for a bounded while (a root restart waits up to
10 s for the new tree), the writer beats with `busy_s`: the mtime is set that
far ahead, so the call is not taken for a hang. Wall-clock time (mtimes are
wall time): a clock stepped forward may make one beat look late, which costs
one needless replacement of a keeper, never of the tree. docs/daemon.md, "Faults".
"""
from __future__ import annotations

import os
import time

ROLES = ("keeper", "standby")
FASTEST_TURN_S = 0.05


def turn_s(health_cfg) -> float:
    """How long a turn of the keeper or its standby sleeps when nothing happens: a quarter
    heartbeat, between 0.05 and 0.25 s. A death they watch wakes them at once (a pidfd,
    runtime/pidwatch.py), so the turn bounds only a hang's detection and the store check;
    turning every 0.05 s whatever the heartbeat cost the two 1.45 % of a core at rest."""
    return max(FASTEST_TURN_S, min(0.25, health_cfg.heartbeat_s / 4))


def path_of(home: str, role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"no beat file for role {role!r} (one of {', '.join(ROLES)})")
    return os.path.join(home, "run", f"{role}.beat")


def claim(home: str, role: str) -> None:
    """Make the beat file ours (our pid in it) and beat once."""
    path = path_of(home, role)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(str(os.getpid()))
    os.replace(tmp, path)


def beat(home: str, role: str, busy_s: float = 0.0) -> None:
    """Say "alive now" (or, with busy_s, "alive, and maybe blocked for up to busy_s")."""
    t = time.time() + busy_s
    try:
        os.utime(path_of(home, role), (t, t))
    except FileNotFoundError:   # removed underneath (a home cleaned by hand): make it again
        claim(home, role)
        os.utime(path_of(home, role), (t, t))


def last_beat(home: str, role: str) -> tuple[int, float] | None:
    """(pid, time of its last beat) from the beat file, or None when there is none."""
    try:
        with open(path_of(home, role)) as f:
            return int(f.read().strip() or 0), os.fstat(f.fileno()).st_mtime
    except (OSError, ValueError):
        return None


class BeatJudge:
    """Judges the other role's beats; the judge's own stalls (a loaded machine) are excused."""

    def __init__(self, home: str, role: str, health_cfg, turn_s: float, patience: float = 1.0) -> None:
        """patience: hung only after that many times the usual silence (the root waits twice as
        long as the standby before it steps in for a hung keeper, actors/root_watch.py)."""
        self.home, self.role, self.turn_s = home, role, turn_s
        self.grace_s = health_cfg.heartbeat_s / 4.0       # health/book.py policy_from
        self.hung_after_s = patience * (health_cfg.failed_after * health_cfg.heartbeat_s + self.grace_s)
        self.first_seen: dict[int, float] = {}     # pid → when we first judged it (wall time)
        self.excused_from = 0.0                    # we ourselves were stalled until then
        self.last_turn = None

    def silent_s(self, pid: int) -> float | None:
        """How long `pid` has been silent when that is longer than hung_after_s, else None."""
        now, mono = time.time(), time.monotonic()
        if self.last_turn is not None and mono - self.last_turn > self.turn_s + self.grace_s:
            self.excused_from = now   # we slept: its silence meanwhile is not its fault
        self.last_turn = mono
        self.first_seen = {pid: self.first_seen.get(pid, now)}
        last = last_beat(self.home, self.role)
        beaten = last[1] if last and last[0] == pid else 0.0
        silent = now - max(beaten, self.first_seen[pid], self.excused_from)
        return round(silent, 3) if silent > self.hung_after_s else None

