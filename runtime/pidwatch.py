"""Which of many processes have ended, without looking at each one every time (Linux pidfds).

The HA monitor must notice a session process that died within 100 ms
(docs/health.md). Asking every pid every 50 ms (a signal and a /proc read
each) costs 20 × N system calls a second: at 500 masters that alone was a
quarter of a core while nothing happened. A pidfd becomes readable when its
process exits, so one epoll call per tick answers "who ended?" at a cost that
does not grow with N.
"""
from __future__ import annotations

import os
import select

from runtime import procs


class PidWatch:
    """watch(pid) once per process; ended() returns the pids that ended since the last call."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._fds: dict[int, int] = {}      # pid → pidfd
        self._pids: dict[int, int] = {}     # pidfd → pid
        self._dead: set[int] = set()        # ended, not yet returned by ended()

    def watch(self, pid: int) -> None:
        """Start watching `pid` (no-op when already watched). A pid already gone counts as ended."""
        if not pid or pid in self._fds:
            return
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._dead.add(pid)
            return
        except OSError:   # no pidfd (old kernel, fd limit): look at this one the slow way
            if not procs.alive(pid):
                self._dead.add(pid)
            return
        self._fds[pid], self._pids[fd] = fd, pid
        self._epoll.register(fd, select.EPOLLIN)
        if not procs.alive(pid):   # a zombie: its pidfd is readable too, this is only quicker
            self._dead.add(pid)

    def ended(self) -> set[int]:
        """Pids that ended since the last call (each once); they are no longer watched."""
        for fd, _ in self._epoll.poll(0):
            pid = self._pids.pop(fd, None)
            if pid is not None:
                self._forget(pid, fd)
                self._dead.add(pid)
        dead, self._dead = self._dead, set()
        return dead

    def wait(self, timeout: float) -> None:
        """Sleep until a watched process ends, or `timeout` s (ended() then tells who)."""
        self._epoll.poll(timeout)

    def fileno(self) -> int:
        """Readable when a watched process has ended: a loop can sleep on it instead of polling."""
        return self._epoll.fileno()

    def watched(self, pid: int) -> bool:
        return pid in self._fds

    def _forget(self, pid: int, fd: int) -> None:
        self._fds.pop(pid, None)
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass
        os.close(fd)

    def close(self) -> None:
        for pid, fd in list(self._fds.items()):
            self._forget(pid, fd)
        self._pids.clear()
        self._epoll.close()
