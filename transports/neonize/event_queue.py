"""The events waiting for the session: put on neonize's callback thread, taken by poll().

A socketpair makes `fileno()` readable while events wait, so the session's
select loop wakes for them without polling (transports/base.py's protocol).
"""
from __future__ import annotations

import socket
import threading
from collections import deque

from transports.events import Event


class EventQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: deque[Event] = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        for end in (self._wake_r, self._wake_w):
            end.setblocking(False)

    def put(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)
            try:
                self._wake_w.send(b"!")
            except OSError:      # buffer full (already readable) or closed
                pass

    def fileno(self) -> int:
        return self._wake_r.fileno()

    def take(self) -> list[Event]:
        """Every waiting event, oldest first; fileno() is no longer readable after."""
        with self._lock:
            try:
                while self._wake_r.recv(4096):
                    pass
            except OSError:      # drained (BlockingIOError), or closed
                pass
            events = list(self._events)
            self._events.clear()
        return events

    def close(self) -> None:
        with self._lock:
            self._wake_r.close()
            self._wake_w.close()
