"""What the root supervisor watches beyond its children's exits: a hung HA monitor, and the keeper.

A mixin of Root (actors/root.py). The HA monitor probes the other permanent
actors (actors/ha_probes.py); nobody probed the monitor. The root does, by the
same rule (health/probes.py: a `Ping` every half heartbeat, hung after
`failed_after` heartbeats plus the grace): a hung monitor is SIGKILLed and
restarted (RestartChild with kill), and once the new one runs it is told
(`actor_hung`), since the alert path is the monitor's own.

The keeper (daemon/keeper.py) restarts a dead or hung root; the root restarts
a keeper whose pid (in the pid file) is gone, unless the daemon is stopping
(`daemon stop` marks the pid file first). So each of the two mends the other.
A hung keeper is its standby's to replace (daemon/keeper_standby.py); one still
silent after twice that time means the standby is hung or gone too: the root
SIGKILLs both and starts a keeper, which starts a standby. docs/daemon.md, "Faults".
"""
from __future__ import annotations

import logging
import os
import signal
import time

from actors.messages import Alert
from health.book import policy_from
from health.probes import ProbeBook
from runtime import config, keeper_beat, keeper_proc, procs
from supervision.messages import Ping, Pong, RestartChild

MONITOR = "ha-monitor"


def _log() -> logging.Logger:
    return logging.getLogger("root")


class RootWatch:
    def start_watch(self, ctx) -> None:
        self.watch_ctx = ctx
        health = config.load(ctx.home).health
        self.watch_probes = ProbeBook(policy_from(health))
        self.keeper_judge = keeper_beat.BeatJudge(ctx.home, "keeper", health, self.watch_probes.every_s,
                                                  patience=2.0)   # the standby's turn comes first
        self.keeper_proc = None        # a keeper we started (reaped here)
        self.monitor_hung = None       # (old address, text) to tell the next monitor
        self.watch_last = time.monotonic()
        self.after(self.watch_probes.every_s, "watch")

    def watch_tick(self) -> None:
        mono = time.monotonic()
        late = mono - self.watch_last - self.watch_probes.every_s
        if late > self.watch_probes.policy.grace_s:
            self.watch_probes.excuse(late)   # the root itself was stalled: no judging by it
        self.watch_last = mono
        self._watch_monitor(mono)
        self._watch_keeper()
        self.after(self.watch_probes.every_s, "watch")

    def watch_pong(self, msg: Pong, sender) -> None:
        self.watch_probes.answered(msg.child_id, sender, msg.pid, time.monotonic())

    def _watch_monitor(self, mono: float) -> None:
        address = self.child_address(MONITOR)
        self.watch_probes.sync({MONITOR: address} if address is not None else {}, mono)
        if address is None:
            return
        if self.monitor_hung is not None and address != self.monitor_hung[0]:
            self.send(address, Alert("critical", "actor_hung", None, self.monitor_hung[1], time.time(),
                                     subject=MONITOR))
            self.monitor_hung = None
        if self.watch_probes.due(mono):
            self.send(address, Ping("root"))
        for hung in self.watch_probes.hung(mono):
            text = (f"{MONITOR} (pid {hung.pid or '?'}) has not answered for {hung.silent_s:.1f} s: "
                    f"killed and restarted by the root")
            _log().error("actor_hung: %s", text)
            self.monitor_hung = (address, text)
            self._request(RestartChild(ref=f"hung:{MONITOR}:{os.urandom(3).hex()}", child_id=MONITOR,
                                       kill=True), self.myAddress)

    def _watch_keeper(self) -> None:
        home = self.watch_ctx.home
        info = keeper_proc.read_pid_file(home)
        pid = (info or {}).get("keeper_pid")
        ours = self.keeper_proc is not None and self.keeper_proc.poll() is None
        if ours and pid != self.keeper_proc.pid:
            return   # ours, still starting
        if not pid or info.get("stopping"):
            return
        if procs.alive(pid):
            silent = self.keeper_judge.silent_s(pid)
            if silent is None:
                return
            standby = info.get("standby_pid")
            _log().error("keeper_hung: pid %s silent for %.1f s, its standby (pid %s) did not replace it: "
                         "both killed", pid, silent, standby)
            for hung in (pid, standby):
                if hung and procs.is_marked(hung, home):
                    os.kill(hung, signal.SIGKILL)
            if ours:
                self.keeper_proc.wait()   # reaped: no zombie of ours left behind
        self.keeper_proc = keeper_proc.spawn(home, self.watch_ctx.port,
                                             os.path.join(home, "logs", "daemon.out"))
        _log().error("keeper_gone: pid %s; started a new keeper, pid %s", pid, self.keeper_proc.pid)
