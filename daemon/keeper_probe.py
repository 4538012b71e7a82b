"""The keeper's probe of a live root supervisor: a hung root is SIGKILLed, then mended.

A root that is alive but does not answer (SIGSTOPped, blocked) is watched by
nobody inside the tree: its parent is thespian's Admin. The keeper
(daemon/keeper.py) pings it as the HA monitor pings the permanent actors
(health/probes.py, the same rule: a `Ping` every half heartbeat; silent for
`failed_after` heartbeats plus the grace → hung). A hung root is SIGKILLed;
the keeper's next turn finds it gone and creates a new root, the path of a
SIGKILLed root (docs/daemon.md, "Faults").
"""
from __future__ import annotations

import os
import signal
import time

from daemon.client import Where, connect, _close
from health.book import policy_from
from health.probes import ProbeBook
from runtime import procs

RECONNECT_S = 1.0     # after a failed connect, wait before the next one (each may take a second)
CONNECT_BUSY_S = 3.0  # a connect (1 s timeout) and the root's look-up: not a hang of the keeper


class RootProbe:
    def __init__(self, where: Where, cfg, say, busy=lambda seconds: None, nap=time.sleep) -> None:
        self.where, self.say = where, say     # say(event, **fields): the keeper's log line
        self.busy = busy                      # busy(s): the keeper may block for s (runtime/keeper_beat.py)
        self.nap = nap                        # nap(s): sleep up to s (woken early by a death)
        self.book = ProbeBook(policy_from(cfg.health))
        self.asys = self.address = None
        self.root_pid = 0
        self.last_turn = self.next_connect = 0.0

    def check(self, root_pid: int, wait_s: float) -> None:
        """One turn of the keeper's loop (about `wait_s` long): probe when due, note an
        answer, and SIGKILL a root silent for too long."""
        now = time.monotonic()
        if self.last_turn and now - self.last_turn > 4 * self.book.every_s + wait_s:
            self.book.excuse(now - self.last_turn)   # the keeper itself was stalled, not the root
        self.last_turn = now
        if root_pid != self.root_pid:
            self.close()
            self.root_pid = root_pid
        self.book.sync({"root": root_pid}, now)
        if not self._connected(now) or not self.book.due(now):
            self.nap(wait_s)
        else:
            from supervision.messages import Ping, Pong
            try:   # ask, not tell: a tell to a stopped root waits for its transmit (up to 60 s)
                reply = self.asys.ask(self.address, Ping("keeper"), wait_s)
            except Exception:
                reply = None
            if isinstance(reply, Pong) and reply.pid == root_pid:
                self.book.answered("root", root_pid, reply.pid, time.monotonic())
        for hung in self.book.hung(time.monotonic()):
            self.say("root_hung", pid=root_pid, silent_s=hung.silent_s)
            if procs.alive(root_pid) and procs.is_marked(root_pid, self.where.home):
                os.kill(root_pid, signal.SIGKILL)
            self.close()

    def _connected(self, now: float) -> bool:
        if self.asys is not None:
            return True
        if now < self.next_connect or not procs.alive(self.root_pid):
            return False
        self.next_connect = now + RECONNECT_S
        self.busy(CONNECT_BUSY_S)
        try:
            from actors.root import Root
            from daemon.client import ROOT_NAME
            self.asys = connect(self.where, timeout=1.0)
            self.address = self.asys.createActor(Root, globalName=ROOT_NAME)
        except Exception:
            self.close()
            return False
        return True

    def close(self) -> None:
        if self.asys is not None:
            _close(self.asys)
        self.asys = self.address = None
