"""Refusing a replayed frame: a time and a random nonce inside the authenticated bytes.

Every frame (runtime/wire.py) carries, covered by its HMAC, the time it was made and
16 random bytes. A receiving process refuses a frame

- made more than WINDOW_S ago, or made before this process was started (less a slack),
- whose nonce it has already accepted (it remembers them for WINDOW_S).

The time is the host's CLOCK_MONOTONIC (time.monotonic_ns): it is shared by every
process of the host and never steps when the wall clock is set, so a clock change can
neither make old frames fresh nor fresh frames old. Every legitimate party is on this
host (the daemon's processes are forks; the CLI reads the home and checks the daemon's
pid here, daemon/client.py). The monotonic clock restarts at boot: the key is bound to
the boot (runtime/wire.py), so a frame of an earlier boot does not verify.

Why 360 s: thespian serializes a message once, when it schedules it, and may keep
retrying those bytes for up to 5 minutes (its transmit timeout) while the receiver is
busy; a shorter window would refuse such late but genuine frames.

Memory: at most MAX_NONCES remembered (about 110 bytes each); past that the oldest are
forgotten and anything made at or before them is refused as too old, so the window
shrinks under extreme load instead of memory growing.

Not covered: a frame captured on its way to one process and replayed, within the
window, to another process that never saw it (the destination is not authenticated).

This module imports nothing of the project.
"""
from __future__ import annotations

import os
import struct
import time

WINDOW_S = 360
START_SLACK_S = 60       # a frame queued for a child just before thespian forked it
FUTURE_SLACK_NS = 1_000_000_000
MAX_NONCES = 200_000
NONCE_BYTES = 16
HEADER = struct.Struct(">Q16s")   # monotonic ns, nonce
HEADER_BYTES = HEADER.size        # 24
CONTROL_HEADER = HEADER.pack(0, bytes(NONCE_BYTES))   # thespian's two constant acks (runtime/wire.py)


class Replayed(Exception):
    """An authenticated frame that is stale or was already accepted; it was not unpickled."""


def new_header() -> bytes:
    return HEADER.pack(time.monotonic_ns(), os.urandom(NONCE_BYTES))


class ReplayGuard:
    """The nonces one process has accepted within the window."""

    def __init__(self, window_s: float = WINDOW_S, max_nonces: int = MAX_NONCES,
                 started_ns: int | None = None):
        self.window_ns = int(window_s * 1e9)
        self.max_nonces = max_nonces
        now = time.monotonic_ns()
        self.not_before = (now if started_ns is None else started_ns) - START_SLACK_S * 1_000_000_000
        self._seen: dict[bytes, int] = {}   # nonce → its time, in the order accepted
        self._floor = 0                     # frames made at or before a forgotten nonce: too old

    def __len__(self) -> int:
        return len(self._seen)

    def check(self, header: bytes, now_ns: int | None = None) -> None:
        """Accept (remember) the frame's nonce, or raise Replayed saying why."""
        made, nonce = HEADER.unpack(header)
        now = time.monotonic_ns() if now_ns is None else now_ns
        self._forget_older_than(now - self.window_ns)
        if made > now + FUTURE_SLACK_NS:
            raise Replayed(f"made {(made - now) / 1e9:.1f} s in the future")
        age = (now - made) / 1e9
        if made < now - self.window_ns:
            raise Replayed(f"made {age:.0f} s ago, over the window of {self.window_ns / 1e9:g} s")
        if made < self.not_before:
            raise Replayed(f"made {age:.0f} s ago, before this process started")
        if made <= self._floor:
            raise Replayed(f"made {age:.0f} s ago, before the oldest nonce still remembered")
        if nonce in self._seen:
            raise Replayed(f"a nonce already accepted (made {age:.1f} s ago): a replay")
        self._seen[nonce] = made
        if len(self._seen) > self.max_nonces:
            oldest = next(iter(self._seen))
            self._floor = max(self._floor, self._seen.pop(oldest))

    def _forget_older_than(self, limit: int) -> None:
        # in arrival order, which is nearly time order; a late arrival is kept a little longer
        seen = self._seen
        while seen:
            nonce = next(iter(seen))
            if seen[nonce] >= limit:
                return
            del seen[nonce]


_guard: ReplayGuard | None = None
_guard_pid = 0


def guard() -> ReplayGuard:
    """This process's guard; a forked child starts its own, not before its fork."""
    global _guard, _guard_pid
    if _guard is None or _guard_pid != os.getpid():
        _guard, _guard_pid = ReplayGuard(), os.getpid()
    return _guard


def _after_fork() -> None:
    global _guard, _guard_pid
    _guard, _guard_pid = ReplayGuard(), os.getpid()


os.register_at_fork(after_in_child=_after_fork)
