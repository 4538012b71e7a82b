"""NeonizeTransport: one master's real WhatsApp connection, through neonize 0.5.2.

Implements transports.base.Transport. This class is the protocol; its parts,
one concept each, live beside it in transports/neonize/:

- connection.py: starting, running and stopping neonize's client, one
  connection at a time, each with a generation number (events of a connection
  we stopped are dropped);
- subscription.py: the events each connection subscribes to; the handlers
  run on neonize's callback thread and only map and enqueue (`_on_event`);
- inbound.py, mapping.py, messages.py, jids.py: neonize's protobufs → the
  domain's events (transports/events.py), LIDs → phone numbers;
- event_queue.py: the events waiting for `poll()`, `fileno()` readable meanwhile;
- pairing.py: QR codes, or a code to type on the phone;
- calls.py: sends, logouts, pairing-code requests and look-ups on helper
  threads with a timeout (a send can block 75 s);
- outbound.py, errors.py: media, typing and read receipts; what a failed send means;
- binding.py, session_files.py: importing neonize, its device store and error
  strings; the sqlite session files.

neonize is imported only inside methods, never at module import: a Go runtime
imported before thespian forks hangs in connect() in the child
(docs/architecture.md, "Facts about the parts"). Nothing is retried here: the
runtime owns backoff.

Session store: a sqlite file (one per master) or a Postgres DSN shared by all
masters. The stored device whose number is this master's is resumed;
`connect()` without one reports ConnectFailed(permanent) — link first with
`pair()`, which starts a new device (QR codes, or a code to type on the phone).
"""
from __future__ import annotations

import base64
import logging
import time
from typing import Any, Callable

from transports.base import OutboundMedia, TransportError
from transports.events import ConnectFailed, Connected, Event, LoggedOut, Paired
from transports.neonize import binding, outbound, session_files, subscription
from transports.neonize.calls import BoundedCalls
from transports.neonize.connection import STOP_TIMEOUT_S, Connections
from transports.neonize.errors import classify_send
from transports.neonize.event_queue import EventQueue
from transports.neonize.inbound import InboundMapper, phone_for_lid
from transports.neonize.pairing import PAIRING_TIMEOUT_S, Pairing

log = logging.getLogger(__name__)

LOGOUT_TIMEOUT_S = 15.0


def e164_digits(phone: str) -> str:
    """'971501234567' for '+971501234567'; '' when `phone` is not E.164."""
    digits = phone[1:] if phone.startswith("+") else ""
    return digits if digits.isdigit() else ""


class NeonizeTransport:
    def __init__(self, phone: str, session_path_or_dsn: str, send_timeout_s: float = 30.0, *,
                 pairing_timeout_s: float = PAIRING_TIMEOUT_S,
                 stop_timeout_s: float = STOP_TIMEOUT_S):
        digits = e164_digits(phone)
        if not digits:
            raise ValueError(f"phone must be E.164 like +971501234567, got {phone!r}")
        self.phone = phone
        self.store = session_path_or_dsn
        self.send_timeout_s = send_timeout_s
        self.pairing_timeout_s = pairing_timeout_s
        self._digits = digits
        self._is_postgres = session_files.is_postgres(session_path_or_dsn)
        session_files.prepare(session_path_or_dsn)

        self._queue = EventQueue()
        self._calls = BoundedCalls(digits)
        self._conn = Connections(phone, session_path_or_dsn, self._queue, self._subscribe,
                                 stop_timeout_s)
        self._pairing = Pairing(phone, self._conn.emit, self._call)
        self._inbound = InboundMapper()      # offline window, our sent ids, LIDs, media

    @property
    def stop_timeout_s(self) -> float:
        """How long disconnect()/close() wait for neonize to return."""
        return self._conn.stop_timeout_s

    @stop_timeout_s.setter
    def stop_timeout_s(self, seconds: float) -> None:
        self._conn.stop_timeout_s = seconds

    # --- Transport protocol ---------------------------------------------------------------

    def connect(self) -> None:
        """Resume the stored session. No-op while the current connection is up."""
        self._conn.start(pairing=False)

    def pair(self, phone_code: bool = False) -> None:
        """Link this master: QRCode events, or one PairingCode when `phone_code` is set.

        A session already stored for this number is resumed instead (Connected follows);
        to link from scratch, `logout()` first. The caller times the pairing out
        (`pairing_expired()` helps); neonize's own QR codes run out after 160 s, silently.
        """
        self._pairing.begin(phone_code)
        gen = self._conn.generation
        if phone_code and self._pairing.qr_seen_gen == gen and self._conn.alive():
            self._pairing.ask_code(gen, self._conn.client)  # QR already up: ask now
            return
        self._conn.start(pairing=True)

    def send(self, to: str, text: str, idempotency_key: str, media: OutboundMedia | None = None) -> str:
        """Send a text (or `media`, text its caption: transports/neonize/outbound.py); return
        WhatsApp's message id. Raises TransportError.

        WhatsApp has no idempotency key (goneonize does not let us choose the message
        id), so a send that timed out may still arrive: delivery is at-least-once.
        """
        digits = e164_digits(to)
        if not digits:
            raise TransportError(f"not a phone number: {to!r} (expected E.164 like +971501234567)",
                                 retryable=False, reason="invalid")
        client = self._conn.client
        if client is None:
            raise TransportError("not connected to WhatsApp (connect first)")
        nz = binding.load()

        def message():   # a file is uploaded while building its message: inside the bounded call
            return nz.Message(conversation=text) if media is None else outbound.media_message(client, media, text)
        try:
            response = self._call(lambda: client.send_message(nz.build_jid(digits), message()),
                                  f"send to {to}")
        except TransportError as exc:   # "no LID found" and the like: final (errors.py)
            raise classify_send(exc) from exc
        if not response.ID:
            raise TransportError(f"send to {to}: WhatsApp returned no message id")
        self._inbound.note_sent(response.ID)
        return response.ID

    def presence(self, to: str, composing: bool) -> None:
        """"typing…" on or off in `to`'s chat. Raises TransportError."""
        client, jid = self._chat(to)
        self._call(lambda: outbound.typing(client, jid, composing), f"typing to {to}")

    def typing(self, to: str, seconds: float) -> None:
        self.presence(to, True)
        time.sleep(seconds)
        self.presence(to, False)

    def mark_read(self, customer: str, message_ids: list[str]) -> None:
        client, jid = self._chat(customer)
        self._call(lambda: outbound.mark_read(client, jid, message_ids), f"read receipt to {customer}")

    def ack(self, message_id: str) -> None:
        """Nothing to do, and nothing possible: whatsmeow acknowledges each message to
        WhatsApp itself, without waiting for us (goneonize's Go handler returns once it
        queued the event), so a crash before the session persisted it can lose it."""

    def disconnect(self) -> None:
        """Stop the connection, keeping the stored session. No event follows."""
        self._conn.stop()

    def logout(self) -> None:
        """Unlink this device and emit LoggedOut; the next link needs pairing again.

        WhatsApp is told when connected. Otherwise, or if that fails, a sqlite session is
        forgotten locally (the phone still lists the device until removed under Linked
        devices); a Postgres session is kept and TransportError raised.
        """
        if self._conn.closed:
            raise TransportError("transport is closed", retryable=False)
        client = self._conn.client if self._conn.alive() else None
        told, why = False, "not connected"
        if client is not None:
            try:
                self._call(client.logout, "logout", LOGOUT_TIMEOUT_S)
                told = True
            except TransportError as exc:
                why = str(exc)
        self._conn.stop()
        if not told:
            if self._is_postgres:
                raise TransportError(f"could not log out at WhatsApp ({why}); the session stored "
                                     "in Postgres was kept")
            session_files.forget(self.store)
        reason = "logged out by request" if told else (
            f"session forgotten locally; WhatsApp was not told ({why}): remove the device on "
            "the phone under Linked devices")
        self._conn.emit(self._conn.generation, LoggedOut(reason=reason))

    def fileno(self) -> int:
        return self._queue.fileno()

    def poll(self) -> list[Event]:
        return self._queue.take()

    def close(self) -> None:
        """Stop the connection and release the socketpair. Safe to call twice."""
        if self._conn.closed:
            return
        self._conn.close()
        self._queue.close()

    # --- extras -------------------------------------------------------------------------------

    def phone_for_lid(self, lid: str) -> str:
        """The phone number neonize's store knows for a LID ('…@lid'), or ''."""
        client = self._conn.client
        return self._call(lambda: phone_for_lid(client, lid), f"lookup of {lid}") \
            if client is not None else ""

    def media_fetch(self, ref: str) -> Callable[[], bytes]:
        """How to fetch again a file pending when an earlier process ended (Media.ref: its message,
        serialized), through the connection up when it is called."""
        def fetch() -> bytes:
            client = self._conn.client
            if client is None:
                raise TransportError("not connected to WhatsApp (connect first)")
            return self._inbound.download(client, binding.load().Message.FromString(base64.b64decode(ref)))
        return fetch

    def pairing_expired(self, now: float | None = None) -> bool:
        """True once a pair() started `pairing_timeout_s` ago has reached neither Paired nor
        Connected. neonize itself stops showing QR codes after 160 s, without an event."""
        return self._pairing.expired(self.pairing_timeout_s, now)

    # --- neonize's callback thread: map and enqueue, nothing else ------------------------------

    def _subscribe(self, nz: Any, client: Any, gen: int) -> None:
        """Connection `gen`'s events, QR codes and login status to their handlers."""
        subscription.subscribe(
            nz, client, on_event=lambda message: self._on_event(gen, message, client),
            on_qr=lambda data: self._pairing.on_qr(gen, client, data),
            on_login_status=lambda status: self._pairing.on_login_status(gen, status))

    def _on_event(self, gen: int, message, client=None) -> None:
        """One neonize event of connection `gen`: its domain event, queued for poll()."""
        try:
            event = self._inbound.map(gen, message, client)
        except Exception:  # noqa: BLE001 - never raise into the Go callback
            log.exception("could not map neonize event %s", type(message).__name__)
            return
        if event is None:
            return
        if isinstance(event, (Paired, Connected)):
            self._pairing.done()
        if isinstance(event, Connected):
            self._conn.note_connected(gen)
        self._conn.emit(gen, event)
        if isinstance(event, LoggedOut):
            # WhatsApp unlinked this device: stop the dead client and forget a sqlite
            # session, so the next link starts a new device instead of resuming the stale
            # one. whatsmeow deletes the device itself; a copy left behind (a failed
            # delete, a -wal file) would make the next pair() resume a dead session.
            self._conn.stop_later(gen, "forget", then=lambda: session_files.forget(self.store))
        elif isinstance(event, Paired):
            user = event.jid.split("@", 1)[0].split(":", 1)[0]
            if user != self._digits:   # end a connection that must not serve this master
                self._conn.emit(gen, ConnectFailed(
                    reason=f"the phone that scanned is +{user}, not this master {self.phone}: "
                           "relink with the master's phone", permanent=True))
                self._conn.stop_later(gen, "refuse")

    # --- helpers ------------------------------------------------------------------------------

    def _call(self, fn: Callable[[], Any], what: str, timeout_s: float | None = None) -> Any:
        """A blocking neonize call, bounded (calls.py): `send_timeout_s` unless told."""
        return self._calls(fn, self.send_timeout_s if timeout_s is None else timeout_s, what)

    def _chat(self, phone: str) -> tuple[Any, Any]:
        client = self._conn.client
        if client is None:
            raise TransportError("not connected to WhatsApp (connect first)")
        return client, binding.load().build_jid(phone.lstrip("+"))
