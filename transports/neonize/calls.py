"""Blocking calls into neonize, run on a helper thread and bounded in time.

A send can block 75 s inside whatsmeow (docs/going-live.md), a media download
longer: the caller waits at most its timeout and gets a TransportError. A call
that timed out keeps running on its daemon thread and may still go through, so
the calls of one master still blocked are counted and refused past
MAX_BLOCKED_CALLS rather than piling up threads.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from transports.base import TransportError
from transports.neonize import binding

MAX_BLOCKED_CALLS = 4          # calls into WhatsApp still running before more are refused


def run_on_thread(fn: Callable[[], Any], timeout_s: float, name: str,
                  ended: Callable[[], None] | None = None) -> dict[str, Any] | None:
    """Run `fn` on a daemon thread called `name`: {"result": …} or {"error": exc} once it
    returned, None when it did not within `timeout_s`. `ended` runs when `fn` is done."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
        finally:
            if ended is not None:
                ended()
            done.set()

    threading.Thread(target=work, daemon=True, name=name).start()
    return box if done.wait(timeout_s) else None


def call_with_timeout(fn: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Run a blocking neonize call on a daemon thread; TransportError on failure or timeout."""
    box = run_on_thread(fn, timeout_s, "neonize-download")
    if box is None:
        raise TransportError(f"{what}: no answer within {timeout_s:g} s")
    if "error" in box:
        raise TransportError(f"{what} failed: {binding.describe_call_error(str(box['error']))}") \
            from box["error"]
    return box["result"]


class BoundedCalls:
    """One master's calls into WhatsApp (sends, logout, pairing code, LID look-ups)."""

    def __init__(self, digits: str):
        self._digits = digits
        self._lock = threading.Lock()
        self._blocked = 0

    def __call__(self, fn: Callable[[], Any], timeout_s: float, what: str) -> Any:
        """`fn()`'s result; TransportError on its failure, on a timeout, or when too many
        earlier calls are still blocked."""
        with self._lock:
            if self._blocked >= MAX_BLOCKED_CALLS:
                raise TransportError(f"{what}: {self._blocked} earlier calls to WhatsApp "
                                     "are still blocked; try later")
            self._blocked += 1
        box = run_on_thread(fn, timeout_s, f"neonize-call-{self._digits}", self._ended)
        if box is None:
            raise TransportError(f"{what}: WhatsApp did not answer within {timeout_s:g} s "
                                 "(it may still go through)")
        if "error" in box:
            error = box["error"]
            raise TransportError(f"{what}: {binding.describe_call_error(str(error))}") from error
        return box["result"]

    def _ended(self) -> None:
        with self._lock:
            self._blocked -= 1
