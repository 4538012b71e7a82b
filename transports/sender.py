"""Blocking transport calls off the session actor's thread.

A send to WhatsApp can take tens of seconds, and neonize's `is_connected` and
`stop` wait on a lock whatsmeow holds while it redials (docs/going-live.md).
An actor that waits there sends no heartbeats, and the HA monitor declares it
failed. So the session hands each blocking call to a `Worker`: one thread
running jobs in the order given, each job's outcome (`Done`) queued, and a
socketpair whose read end is readable while outcomes wait — the session watches
its `fileno()` with ThespianWatch beside the transport's own, exactly as it
watches transport events.
"""
from __future__ import annotations

import queue
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Hashable


@dataclass(frozen=True)
class Done:
    """One finished job: `result` when it returned, `error` when it raised."""
    job: str                  # what was asked: "send", "connect", ...
    ref: Hashable             # the caller's reference (an outbox entry id, ...)
    result: Any = None
    error: BaseException | None = None
    seconds: float = 0.0      # how long the call took


class Worker:
    """One thread running blocking calls in submission order; outcomes through poll()."""

    def __init__(self, name: str):
        self.name = name
        self._jobs: queue.Queue = queue.Queue()
        self._done: deque[Done] = deque()
        self._lock = threading.Lock()
        self._pending: set[tuple[str, Hashable]] = set()   # submitted, not yet polled
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: str, ref: Hashable, fn: Callable[[], Any]) -> bool:
        """Queue `fn`; False (and nothing queued) when the same (job, ref) is still pending."""
        with self._lock:
            if self._closed or (job, ref) in self._pending:
                return False
            self._pending.add((job, ref))
        self._jobs.put((job, ref, fn))
        return True

    def pending(self, job: str, ref: Hashable) -> bool:
        with self._lock:
            return (job, ref) in self._pending

    def backlog(self) -> int:
        """Jobs submitted and not yet polled (running, queued or done)."""
        with self._lock:
            return len(self._pending)

    def fileno(self) -> int:
        return self._wake_r.fileno()

    def poll(self) -> list[Done]:
        """Every finished job, oldest first; never blocks."""
        with self._lock:
            try:
                while self._wake_r.recv(4096):
                    pass
            except OSError:   # drained, or closed
                pass
            done = list(self._done)
            self._done.clear()
            for d in done:
                self._pending.discard((d.job, d.ref))
        return done

    def close(self, timeout: float = 0.0) -> bool:
        """Take no more jobs; wait up to `timeout` for the running one. True if the thread ended.

        A call still blocked in WhatsApp after that is left behind on its daemon thread."""
        with self._lock:
            if self._closed:
                return not self._thread.is_alive()
            self._closed = True
        self._jobs.put(None)
        self._thread.join(timeout)
        with self._lock:
            self._wake_r.close()
            self._wake_w.close()
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, ref, fn = item
            started = time.monotonic()
            try:
                done = Done(job, ref, result=fn(), seconds=time.monotonic() - started)
            except BaseException as exc:  # noqa: BLE001 - handed to the session as an outcome
                done = Done(job, ref, error=exc, seconds=time.monotonic() - started)
            with self._lock:
                if self._closed:
                    continue    # nobody polls any more; still drain to the None
                self._done.append(done)
                try:
                    self._wake_w.send(b"!")
                except OSError:   # buffer full: already readable
                    pass
