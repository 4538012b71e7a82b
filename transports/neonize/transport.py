"""NeonizeTransport: one master's real WhatsApp connection, through neonize 0.5.2.

Implements transports.base.Transport. How it sits on neonize (docs/architecture.md, "Facts about the parts"):

- neonize is imported only inside methods, never at module import: a Go
  runtime imported before thespian forks hangs in connect() in the child.
- One neonize connection = one `NewClient` whose blocking `connect()` runs on
  a daemon thread of ours. Every event handler is registered before it starts
  (goneonize only delivers the event types subscribed at connect).
- Handlers run on neonize's callback thread and only enqueue domain events
  (mapping.to_domain); a socketpair makes `fileno()` readable while `poll()`
  has events. Each connection has a generation number: events of a
  connection we stopped are dropped.
- Sends, logouts and pairing-code requests run on helper threads with a
  timeout: a send can block 75 s.
- Nothing is retried here. A connect that fails at once (no network) becomes
  ConnectFailed; the runtime owns backoff. Note that whatsmeow, inside
  neonize, does reconnect a dropped *established* connection by itself; the
  runtime then sees Disconnected followed by Connected.

Session store: a sqlite file (one per master) or a Postgres DSN shared by all
masters. The stored device whose number is this master's is resumed;
`connect()` without one reports ConnectFailed(permanent) — link first with
`pair()`, which starts a new device (QR codes, or a code to type on the phone).
"""
from __future__ import annotations

import ctypes
import logging
import os
import socket
import threading
import time
from collections import deque
from typing import Any, Callable

from transports.base import OutboundMedia, TransportError
from transports.events import (ConnectFailed, Connected, Disconnected, Event, LoggedOut,
                               Outdated, Paired, PairingCode, QRCode)
from transports.neonize import binding, outbound
from transports.neonize.errors import classify_send
from transports.neonize.inbound import InboundMapper, phone_for_lid

log = logging.getLogger(__name__)

PAIRING_TIMEOUT_S = 160.0      # neonize's QR codes run out after 60 + 5 × 20 s
STOP_TIMEOUT_S = 3.0           # how long disconnect()/close() wait for neonize to return
LOGOUT_TIMEOUT_S = 15.0
MAX_BLOCKED_CALLS = 4          # calls into WhatsApp still running before more are refused

# The event types we subscribe to (each one: a handler registered before connect).
EVENT_NAMES = ("ConnectedEv", "DisconnectedEv", "KeepAliveTimeoutEv", "KeepAliveRestoredEv",
               "LoggedOutEv", "StreamReplacedEv", "TemporaryBanEv", "ClientOutdatedEv",
               "ConnectFailureEv", "StreamErrorEv", "PairStatusEv", "MessageEv", "ReceiptEv",
               "OfflineSyncPreviewEv", "OfflineSyncCompletedEv", "UndecryptableMessageEv")


class NeonizeTransport:
    def __init__(self, phone: str, session_path_or_dsn: str, send_timeout_s: float = 30.0, *,
                 pairing_timeout_s: float = PAIRING_TIMEOUT_S,
                 stop_timeout_s: float = STOP_TIMEOUT_S):
        digits = phone[1:] if phone.startswith("+") else ""
        if not digits.isdigit():
            raise ValueError(f"phone must be E.164 like +971501234567, got {phone!r}")
        self.phone = phone
        self.store = session_path_or_dsn
        self.send_timeout_s = send_timeout_s
        self.pairing_timeout_s = pairing_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._digits = digits
        self._is_postgres = session_path_or_dsn.startswith("postgres")
        if not self._is_postgres:
            os.makedirs(os.path.dirname(os.path.abspath(session_path_or_dsn)), exist_ok=True)

        self._lock = threading.Lock()
        self._events: deque[Event] = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        for end in (self._wake_r, self._wake_w):
            end.setblocking(False)
        self._generation = 0                 # bumped whenever a connection is started or stopped
        self._client: Any = None             # the running connection's NewClient
        self._thread: threading.Thread | None = None
        self._closed = False
        self._blocked_calls = 0
        # pairing
        self._phone_code = False
        self._pairing_since: float | None = None
        self._code_asked_gen = -1            # generation for which PairPhone was already asked
        self._qr_seen_gen = -1
        self._inbound = InboundMapper()      # offline window, our sent ids, LIDs, media
        self._connected_thread: threading.Thread | None = None   # the connection that reached Connected
        self._lingering: threading.Thread | None = None          # that one, when it did not stop

    # --- Transport protocol ---------------------------------------------------------------

    def connect(self) -> None:
        """Resume the stored session. No-op while the current connection is up."""
        self._start(pairing=False)

    def pair(self, phone_code: bool = False) -> None:
        """Link this master: QRCode events, or one PairingCode when `phone_code` is set.

        A session already stored for this number is resumed instead (Connected follows);
        to link from scratch, `logout()` first. The caller times the pairing out
        (`pairing_expired()` helps); neonize's own QR codes run out after 160 s, silently.
        """
        self._phone_code = phone_code
        self._pairing_since = time.monotonic()
        if phone_code and self._qr_seen_gen == self._generation and self._alive():
            self._ask_pairing_code(self._generation, self._client)  # QR already up: ask now
            return
        self._start(pairing=True)

    def send(self, to: str, text: str, idempotency_key: str, media: OutboundMedia | None = None) -> str:
        """Send a text (or `media`, text its caption: transports/neonize/outbound.py); return
        WhatsApp's message id. Raises TransportError.

        WhatsApp has no idempotency key (goneonize does not let us choose the message
        id), so a send that timed out may still arrive: delivery is at-least-once.
        """
        digits = to[1:] if to.startswith("+") else ""
        if not digits.isdigit():
            raise TransportError(f"not a phone number: {to!r} (expected E.164 like +971501234567)",
                                 retryable=False, reason="invalid")
        client = self._client
        if client is None:
            raise TransportError("not connected to WhatsApp (connect first)")
        nz = binding.load()

        def message():   # a file is uploaded while building its message: inside the bounded call
            return nz.Message(conversation=text) if media is None else outbound.media_message(client, media, text)
        try:
            response = self._call(lambda: client.send_message(nz.build_jid(digits), message()),
                                  self.send_timeout_s, f"send to {to}")
        except TransportError as exc:   # "no LID found" and the like: final (errors.py)
            raise classify_send(exc) from exc
        if not response.ID:
            raise TransportError(f"send to {to}: WhatsApp returned no message id")
        self._inbound.note_sent(response.ID)
        return response.ID

    def presence(self, to: str, composing: bool) -> None:
        """"typing…" on or off in `to`'s chat. Raises TransportError."""
        client, jid = self._chat(to)
        self._call(lambda: outbound.typing(client, jid, composing), self.send_timeout_s, f"typing to {to}")

    def typing(self, to: str, seconds: float) -> None:
        self.presence(to, True)
        time.sleep(seconds)
        self.presence(to, False)

    def mark_read(self, customer: str, message_ids: list[str]) -> None:
        client, jid = self._chat(customer)
        self._call(lambda: outbound.mark_read(client, jid, message_ids), self.send_timeout_s,
                   f"read receipt to {customer}")

    def _chat(self, phone: str) -> tuple[Any, Any]:
        client = self._client
        if client is None:
            raise TransportError("not connected to WhatsApp (connect first)")
        return client, binding.load().build_jid(phone.lstrip("+"))

    def ack(self, message_id: str) -> None:
        """Nothing to do, and nothing possible: whatsmeow acknowledges each message to
        WhatsApp itself, without waiting for us (goneonize's Go handler returns once it
        queued the event), so a crash before the session persisted it can lose it."""

    def disconnect(self) -> None:
        """Stop the connection, keeping the stored session. No event follows."""
        self._stop_current()

    def logout(self) -> None:
        """Unlink this device and emit LoggedOut; the next link needs pairing again.

        WhatsApp is told when connected. Otherwise, or if that fails, a sqlite session is
        forgotten locally (the phone still lists the device until removed under Linked
        devices); a Postgres session is kept and TransportError raised.
        """
        if self._closed:
            raise TransportError("transport is closed", retryable=False)
        client = self._client if self._alive() else None
        told, why = False, "not connected"
        if client is not None:
            try:
                self._call(client.logout, LOGOUT_TIMEOUT_S, "logout")
                told = True
            except TransportError as exc:
                why = str(exc)
        self._stop_current()
        if not told:
            if self._is_postgres:
                raise TransportError(f"could not log out at WhatsApp ({why}); the session stored "
                                     "in Postgres was kept")
            self._forget_sqlite_session()
        reason = "logged out by request" if told else (
            f"session forgotten locally; WhatsApp was not told ({why}): remove the device on "
            "the phone under Linked devices")
        self._emit(self._generation, LoggedOut(reason=reason))

    def fileno(self) -> int:
        return self._wake_r.fileno()

    def poll(self) -> list[Event]:
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
        """Stop the connection and release the socketpair. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._stop_current()
        with self._lock:
            self._wake_r.close()
            self._wake_w.close()

    # --- extras -------------------------------------------------------------------------------

    def phone_for_lid(self, lid: str) -> str:
        """The phone number neonize's store knows for a LID ('…@lid'), or ''."""
        client = self._client
        return self._call(lambda: phone_for_lid(client, lid), self.send_timeout_s,
                          f"lookup of {lid}") if client is not None else ""

    def pairing_expired(self, now: float | None = None) -> bool:
        """True once a pair() started `pairing_timeout_s` ago has reached neither Paired nor
        Connected. neonize itself stops showing QR codes after 160 s, without an event."""
        since = self._pairing_since
        now = time.monotonic() if now is None else now
        return since is not None and now - since >= self.pairing_timeout_s

    # --- connections ------------------------------------------------------------------------

    def _start(self, pairing: bool) -> None:
        if self._closed:
            raise TransportError("transport is closed", retryable=False)
        client = self._client if self._alive() else None
        if client is not None and client.is_connected:
            # Up, or pairing (QR codes keep coming): its events tell the rest. A restart
            # here would also leave a pairing's Go call blocked for good (see _stop_current).
            if pairing and client.is_logged_in:
                self._emit(self._generation, Connected())   # already linked
            return
        if self._alive():
            self._stop_current()
        if self._still_connected():   # one socket per account: never start beside it
            self._emit(self._generation, ConnectFailed(
                reason="the previous WhatsApp connection has not stopped yet; trying again later"))
            return
        with self._lock:
            self._generation += 1
            gen = self._generation
            self._thread = threading.Thread(target=self._run, args=(gen, pairing), daemon=True,
                                            name=f"neonize-{self._digits}-{gen}")
            self._thread.start()

    def _alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self, gen: int, pairing: bool) -> None:
        """The connection thread: choose the device, then block in neonize's connect()."""
        nz = binding.load()
        try:
            device = binding.stored_device(nz, self.store, self._digits)
        except Exception as exc:  # noqa: BLE001 - any store failure is reported, not raised
            self._emit(gen, ConnectFailed(reason=binding.describe_connect_error(str(exc))))
            return
        self._private_sqlite()
        if device is None and not pairing:
            self._emit(gen, ConnectFailed(
                reason=f"not linked: no WhatsApp session stored for {self.phone}; link it first",
                permanent=True))
            return
        client = self._new_client(nz, gen, device)
        with self._lock:
            if gen != self._generation:
                client._stop_finalizer.detach()
                return   # stopped while we were getting ready
            self._client = client
        try:
            client.connect()
        except Exception as exc:  # noqa: BLE001 - NeonizeError, or anything from the binding
            self._emit(gen, ConnectFailed(reason=binding.describe_connect_error(str(exc))))
            return
        # connect() returns only once someone called Stop: if that was not us, say so.
        self._emit(gen, Disconnected(reason="the neonize connection ended"))

    def _stop_current(self) -> None:
        """Stop the running connection, if any, and wait (bounded) for its thread."""
        with self._lock:
            self._generation += 1     # from now on its events are dropped
            client, thread = self._client, self._thread
            self._client, self._thread = None, None
        if thread is None:
            return
        deadline = time.monotonic() + self.stop_timeout_s
        while thread.is_alive() and time.monotonic() < deadline:
            if client is not None:
                client.stop()     # repeated: the Go side may not have registered it yet
            thread.join(0.1)
        if client is not None:
            # Its finalizer would Stop() the uuid that the next client of this master uses.
            client._stop_finalizer.detach()
        if thread.is_alive() and self._connected_thread is thread:
            self._lingering = thread   # it held a socket to WhatsApp: _start waits for it
        if thread.is_alive():
            # Known for a stop during QR pairing: whatsmeow keeps goneonize's QR loop open.
            log.warning("neonize connect for %s did not return after stop; leaving its daemon "
                        "thread behind", self.phone)

    def _new_client(self, nz, gen: int, device) -> Any:
        if device is not None:
            client = nz.NewClient(self.store, jid=device)
        else:
            client = nz.NewClient(self.store, uuid=self._digits, new_device=True)

        def on_event(_client, message) -> None:
            self._on_event(gen, message, client)

        def on_qr(_client, data: bytes) -> None:
            self._on_qr(gen, client, data.decode(errors="replace"))

        for name in EVENT_NAMES:
            client.event(getattr(nz.events, name))(on_event)
        client.event.qr(on_qr)

        def on_login_status(_uuid, status) -> None:
            # neonize only print()s these; "timeout" is how its QR pairing ends unlinked.
            self._on_login_status(gen, ctypes.string_at(status).decode() if status else "")

        client._NewClient__onLoginStatus = on_login_status  # name-mangled; bound at connect()
        return client

    # --- callbacks from neonize's thread: map and enqueue, nothing else -----------------------

    def _on_event(self, gen: int, message, client=None) -> None:
        try:
            event = self._inbound.map(gen, message, client)
        except Exception:  # noqa: BLE001 - never raise into the Go callback
            log.exception("could not map neonize event %s", type(message).__name__)
            return
        if event is None:
            return
        if isinstance(event, (Paired, Connected)):
            self._pairing_since = None
        if isinstance(event, Connected) and gen == self._generation:
            self._connected_thread = self._thread
        if isinstance(event, LoggedOut):
            self._emit(gen, event)
            self._forget_after_logged_out(gen)
            return
        if isinstance(event, Paired):
            user = event.jid.split("@", 1)[0].split(":", 1)[0]
            if user != self._digits:
                self._emit(gen, event)
                self._refuse(gen, f"the phone that scanned is +{user}, not this master "
                                  f"{self.phone}: relink with the master's phone")
                return
        self._emit(gen, event)

    def _on_qr(self, gen: int, client, data: str) -> None:
        self._qr_seen_gen = gen
        if self._phone_code:
            self._ask_pairing_code(gen, client)   # PairPhone only works once the QR is up
        else:
            self._emit(gen, QRCode(data=data))

    def _on_login_status(self, gen: int, status: str) -> None:
        if status == "timeout":
            # neonize's QR codes ran out (160 s), or the socket dropped while pairing. The
            # caller owns the pairing timeout (docs/architecture.md, "Facts about the parts"), so no event: just say so.
            log.warning("pairing for %s ended without a phone linking this device", self.phone)
        elif status == "err-client-outdated":
            self._emit(gen, Outdated())
        elif status.startswith("err") or status == "error":
            self._emit(gen, ConnectFailed(reason=f"pairing failed: {status}"))

    def _ask_pairing_code(self, gen: int, client) -> None:
        with self._lock:   # pair() and the first QR code may both get here
            if self._code_asked_gen == gen or client is None:
                return
            self._code_asked_gen = gen

        def ask() -> None:
            try:
                code = self._call(lambda: client.PairPhone(self._digits, True), self.send_timeout_s,
                                  "pairing code request")
            except TransportError as exc:
                self._emit(gen, ConnectFailed(reason=str(exc)))
            else:
                self._emit(gen, PairingCode(code=code))

        threading.Thread(target=ask, daemon=True, name=f"neonize-paircode-{self._digits}").start()

    def _refuse(self, gen: int, reason: str) -> None:
        """End a connection that must not serve this master (off the callback thread)."""
        self._emit(gen, ConnectFailed(reason=reason, permanent=True))

        def stop() -> None:
            if self._generation == gen:
                self._stop_current()

        threading.Thread(target=stop, daemon=True, name=f"neonize-refuse-{self._digits}").start()

    def _emit(self, gen: int, event: Event) -> None:
        with self._lock:
            if gen != self._generation or self._closed:
                return   # from a connection we stopped, or after close()
            self._events.append(event)
            try:
                self._wake_w.send(b"!")
            except OSError:      # buffer full (already readable) or closed
                pass

    # --- helpers ------------------------------------------------------------------------------

    def _call(self, fn: Callable[[], Any], timeout_s: float, what: str) -> Any:
        """Run a blocking neonize call on a helper thread; TransportError on failure or timeout."""
        with self._lock:
            if self._blocked_calls >= MAX_BLOCKED_CALLS:
                raise TransportError(f"{what}: {self._blocked_calls} earlier calls to WhatsApp "
                                     "are still blocked; try later")
            self._blocked_calls += 1
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["result"] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                box["error"] = exc
            finally:
                with self._lock:
                    self._blocked_calls -= 1
                done.set()

        threading.Thread(target=work, daemon=True, name=f"neonize-call-{self._digits}").start()
        if not done.wait(timeout_s):
            raise TransportError(f"{what}: WhatsApp did not answer within {timeout_s:g} s "
                                 "(it may still go through)")
        if "error" in box:
            error = box["error"]
            raise TransportError(f"{what}: {binding.describe_call_error(str(error))}") from error
        return box["result"]

    def _still_connected(self) -> bool:
        """A connection that was up and did not stop when asked (its Go call still blocked)."""
        thread = self._lingering
        if thread is not None and not thread.is_alive():
            self._lingering = thread = None
        return thread is not None

    def _forget_after_logged_out(self, gen: int) -> None:
        """WhatsApp unlinked this device: stop the dead client and forget a sqlite session, so
        the next link starts a new device instead of resuming the stale one (off the callback
        thread, like _refuse). whatsmeow deletes the device itself; a copy left behind (a
        failed delete, a -wal file) would make the next pair() resume a dead session."""
        def forget() -> None:
            if self._generation != gen:
                return
            self._stop_current()
            if not self._is_postgres:
                self._forget_sqlite_session()

        threading.Thread(target=forget, daemon=True, name=f"neonize-forget-{self._digits}").start()

    def _private_sqlite(self) -> None:
        """The session's keys are the account: 0600 whatever the umask (docs/architecture.md)."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            if not self._is_postgres and os.path.exists(self.store + suffix):
                os.chmod(self.store + suffix, 0o600)

    def _forget_sqlite_session(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.remove(self.store + suffix)
            except FileNotFoundError:
                pass
