"""How an actor lives through a full disk: it holds what it could not write, it does not crash.

A write that finds no room (`StoreFull`) was not made at all: storage/env.py
rolls it back whole. Crashing would not make room, and a supervisor restarting
a child that crashes every second soon gives up on the whole tree (measured
before this: with the disk full for 6 s, each session restarted 8-9 times, the
HA monitor 2-3, and in one run of four the daemon ended). So the actor keeps
what it could not write in memory, in order, says so once (the HA monitor
alerts `store_full`), and tries again every RETRY_S until room returns
(docs/daemon.md "Faults").

Held in memory is lost if the process ends before room returns; what a session
holds is customers' messages it has not acknowledged, which the network
delivers again.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import structlog

from actors.messages import Alert
from storage.faults import StoreFull

log = structlog.get_logger("store_room")

RETRY_S = 1.0
TIMER = "store-room"        # the retry timer's name: on_timer passes it to on_store_room()
HELD_MAX = 10_000           # writes held at most; the oldest go first beyond that (said in the log)


class StoreRoom:
    """Mixin for SupervisedActor shells with a `store`. Subclasses call `held_write` where a
    write may wait, `store_full` where they hold something themselves, and
    `on_store_room()` from on_timer(TIMER) (extending it to retry their own held work)."""

    _held: dict | None = None
    _full_since: float | None = None
    held_count = 0              # writes held since the start (a command can tell it held one)

    def held_write(self, fn: Callable, key: Any = None) -> Any:
        """store.write(fn), or None when the disk is full: fn is then kept and made, in order,
        when room returns. A later write with the same `key` (a state saved whole) replaces
        the held one. While writes are held, new ones queue behind them (order kept)."""
        if self._held is None:
            self._held = {}
        if not self._held:
            try:
                return self.store.write(fn)
            except StoreFull as e:
                self.store_full(e)
        self.held_count += 1
        k = object() if key is None else key
        self._held.pop(k, None)
        self._held[k] = fn
        if len(self._held) > HELD_MAX:
            del self._held[next(iter(self._held))]
            log.error("store_full_write_dropped", actor=self.child_id, held=len(self._held))
        return None

    def store_full(self, error: StoreFull) -> None:
        """Something was not written: say so once (until room returns) and try again soon."""
        if self._full_since is None:
            self._full_since = time.time()
            log.error("store_full_holding", actor=self.child_id, error=str(error))
            self.tell_store_fault("critical", "store_full",
                                  f"{self.child_id}: {error}; held in memory, written when room returns")
        if not self.timer_pending(TIMER):
            self.after(RETRY_S, TIMER)

    def on_store_room(self, then: Callable[[], bool] | None = None) -> bool:
        """The retry timer: make the held writes in order, then `then()` (the subclass's own held
        work, True when done). True when nothing is held any more."""
        held = self._held or {}
        while held:
            key = next(iter(held))
            try:
                self.store.write(held[key])
            except StoreFull as e:
                self.store_full(e)
                return False
            del held[key]
        if then is not None and not then():
            return False
        if self._full_since is not None:
            waited = time.time() - self._full_since
            self._full_since = None
            log.warning("store_room_again", actor=self.child_id, held_s=round(waited, 1))
            self.tell_store_fault("info", "store_room_again",
                                  f"{self.child_id}: room again after {waited:.0f} s; what was held is written")
        return True

    def tell_store_fault(self, level: str, kind: str, text: str) -> None:
        """To the HA monitor, which alerts the admins (the monitor overrides this)."""
        monitor = self.peers.get("ha-monitor")
        if monitor is not None:
            self.send(monitor, Alert(level, kind, None, text, time.time()))

    def _dispatch(self, msg, sender) -> None:
        """The last resort: a write not held where it was made ends this message, not the actor."""
        try:
            super()._dispatch(msg, sender)
        except StoreFull as e:
            log.error("store_full_message_dropped", actor=self.child_id, message=type(msg).__name__)
            self.store_full(e)
