"""Linking a master's phone: QR codes, or one code to type on the phone (docs/going-live.md).

- neonize can only ask WhatsApp for a pairing code (PairPhone) once its first QR
  code is up: with `phone_code` the code is asked at that QR code, or at once
  when one is already up; the QR codes themselves are then not shown.
- neonize's QR codes run out after 60 + 5 × 20 s without any event (it only
  prints its login status "timeout"): the caller times pairing out, and
  `expired()` tells it when.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from transports.base import TransportError
from transports.events import ConnectFailed, Event, Outdated, PairingCode, QRCode

log = logging.getLogger(__name__)

PAIRING_TIMEOUT_S = 160.0      # neonize's QR codes run out after 60 + 5 × 20 s


class Pairing:
    """One master's pairing, shared by pair() and neonize's QR and login-status callbacks.

    `emit(gen, event)` hands an event of connection `gen` to the session;
    `call(fn, what)` runs a blocking neonize call, bounded (transports/neonize/calls.py).
    """

    def __init__(self, phone: str, emit: Callable[[int, Event], None],
                 call: Callable[[Callable[[], Any], str], Any]):
        self.phone = phone
        self._digits = phone[1:]
        self._emit = emit
        self._call = call
        self._lock = threading.Lock()
        self.phone_code = False
        self.since: float | None = None   # when pair() was asked, until Paired or Connected
        self.qr_seen_gen = -1             # the last connection that showed a QR code
        self._code_asked_gen = -1         # the connection for which PairPhone was already asked

    def begin(self, phone_code: bool) -> None:
        self.phone_code = phone_code
        self.since = time.monotonic()

    def done(self) -> None:
        """Paired or Connected: nothing left to time out."""
        self.since = None

    def expired(self, timeout_s: float, now: float | None = None) -> bool:
        """True once a pairing begun `timeout_s` ago has reached neither Paired nor Connected."""
        since = self.since
        now = time.monotonic() if now is None else now
        return since is not None and now - since >= timeout_s

    def on_qr(self, gen: int, client: Any, data: str) -> None:
        self.qr_seen_gen = gen
        if self.phone_code:
            self.ask_code(gen, client)   # PairPhone only works once the QR is up
        else:
            self._emit(gen, QRCode(data=data))

    def on_login_status(self, gen: int, status: str) -> None:
        if status == "timeout":
            # neonize's QR codes ran out (160 s), or the socket dropped while pairing. The
            # caller owns the pairing timeout (docs/architecture.md, "Facts about the
            # parts"), so no event: just say so.
            log.warning("pairing for %s ended without a phone linking this device", self.phone)
        elif status == "err-client-outdated":
            self._emit(gen, Outdated())
        elif status.startswith("err") or status == "error":
            self._emit(gen, ConnectFailed(reason=f"pairing failed: {status}"))

    def ask_code(self, gen: int, client: Any) -> None:
        """Ask WhatsApp once per connection for a code to type on the phone: PairingCode,
        or ConnectFailed. On a thread of its own: neonize's callback thread must not block."""
        with self._lock:   # pair() and the first QR code may both get here
            if self._code_asked_gen == gen or client is None:
                return
            self._code_asked_gen = gen

        def ask() -> None:
            try:
                code = self._call(lambda: client.PairPhone(self._digits, True), "pairing code request")
            except TransportError as exc:
                self._emit(gen, ConnectFailed(reason=str(exc)))
            else:
                self._emit(gen, PairingCode(code=code))

        threading.Thread(target=ask, daemon=True, name=f"neonize-paircode-{self._digits}").start()
