"""SimTransport: one master's connection to the simulated network.

Implements transports.base.Transport. Each connect or pair opens a `_Link`
(one TCP connection) whose reader thread turns the server's pushes into
domain events (transports/events.py) on a queue. A socketpair signals the
queue: `fileno()` is readable while `poll()` has events, so the session
actor can watch it with ThespianWatch.

A link ends with exactly one event: Disconnected (the stream dropped after
Connected), ConnectFailed (it never got that far), or the dead-state event
the server pushed (LoggedOut, Banned, Replaced). A link the caller closed
itself (disconnect, logout, close) ends silently, as in whatsmeow.

Like whatsmeow's keep-alive, a connected link pings every `keepalive_s`; a
ping unanswered within twice that (a `hang` fault, a dead peer) ends the link
with Disconnected, so the session reconnects instead of trusting a silent
stream forever.
"""
from __future__ import annotations

import functools
import os
import socket
import threading
import time
from collections import deque
from typing import Any, Callable

from transports.base import OutboundMedia, TransportError
from transports.events import (Banned, ConnectFailed, Connected, Disconnected, Event, LoggedOut,
                               PairingCode, Paired, QRCode, Receipt, Replaced)
from transports.sim import control, protocol as p
from transports.sim.inbound import event_from_push, fetch_media


class _RemoteError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class _LinkClosed(Exception):
    """The caller let go of a link before its socket was up."""


class _Waiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.frame: dict | None = None
        self.error: Exception | None = None


class _Link:
    """One TCP connection to the sim and the thread reading it."""

    def __init__(self, owner: "SimTransport"):
        self.owner = owner
        self.sock: socket.socket | None = None
        self.connected = False      # the server said "connected"
        self.retired = False        # the caller let go of it: emit nothing more
        self.ended = False          # its one end event was decided
        self._over = threading.Event()   # set with `ended`: wakes the keep-alive thread
        self._lock = threading.Lock()
        self._waiters: dict[int, _Waiter] = {}
        self._next_id = 0

    @property
    def alive(self) -> bool:
        return not self.ended and not self.retired

    def open(self, timeout: float) -> None:
        sock = socket.create_connection((self.owner.host, self.owner.port), timeout=timeout)
        sock.settimeout(None)
        with self._lock:
            if self.ended:   # retired while we were connecting
                sock.close()
                raise _LinkClosed("link closed while connecting")
            self.sock = sock
        threading.Thread(target=self._read_loop, name=f"sim-link:{self.owner.phone}",
                         daemon=True).start()

    def request(self, op: str, timeout: float | None, **args: Any) -> dict:
        """Send a request; wait up to `timeout` for its result (None: do not wait)."""
        waiter = _Waiter()
        with self._lock:
            if self.ended or self.sock is None:
                raise ConnectionError("not connected")
            self._next_id += 1
            req_id = self._next_id
            if timeout is not None:
                self._waiters[req_id] = waiter
            try:
                self.sock.sendall(p.request(req_id, op, **args))
            except OSError as exc:
                self._waiters.pop(req_id, None)
                raise ConnectionError(str(exc)) from exc
        if timeout is None:
            return {}
        if not waiter.done.wait(timeout):
            with self._lock:
                self._waiters.pop(req_id, None)
            raise TimeoutError(f"no answer from the simulated network within {timeout:g} s")
        if waiter.error is not None:
            raise waiter.error
        frame = waiter.frame
        if not frame.get("ok"):
            raise _RemoteError(frame.get("code", ""), frame.get("error", "error"))
        return frame.get("result") or {}

    def end(self, event: Event | None) -> None:
        """Decide this link's one end event (None: silently) and fail its waiters."""
        with self._lock:
            first = not self.ended
            self.ended = True
            waiters, self._waiters = self._waiters, {}
        self._over.set()
        for waiter in waiters.values():
            waiter.error = ConnectionError("connection closed")
            waiter.done.set()
        if first and event is not None and not self.retired:
            self.owner._emit(event)

    def retire(self) -> None:
        """The caller is done with this link: close it without any event."""
        self.retired = True
        self.end(None)
        self.shutdown()

    def shutdown(self) -> None:
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _read_loop(self) -> None:
        decoder = p.Decoder()
        reason = "connection closed by the simulated network"
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                for frame in decoder.feed(data):
                    if "event" in frame:
                        self._on_push(frame)
                    else:
                        self._on_response(frame)
        except (OSError, p.ProtocolError, KeyError, TypeError, ValueError) as exc:
            reason = f"connection lost: {exc!r}"
        if self.connected:
            self.end(Disconnected(reason))
        else:
            self.end(ConnectFailed(reason))
        self.shutdown()

    def _on_response(self, frame: dict) -> None:
        with self._lock:
            waiter = self._waiters.pop(frame.get("id"), None)
        if waiter is not None:
            waiter.frame = frame
            waiter.done.set()

    def _on_push(self, frame: dict) -> None:
        kind, emit = frame["event"], self.owner._emit
        if self.retired or self.ended:
            return
        if kind in ("inbound", "offline_sync_started", "offline_sync_completed", "lid_resolved"):
            owner = self.owner
            emit(event_from_push(frame, lambda media_id: fetch_media(owner.host, owner.port,
                                                                     media_id)))
        elif kind == "receipt":
            emit(Receipt(tuple(frame["ids"]), frame.get("kind", "delivered"),
                         frame.get("sender", "")))
        elif kind == "connected":
            self.connected = True
            emit(Connected())
            if self.owner.keepalive_s > 0:
                threading.Thread(target=self._keepalive, name=f"sim-keepalive:{self.owner.phone}",
                                 daemon=True).start()
        elif kind == "qr":
            emit(QRCode(frame["data"]))
        elif kind == "pairing_code":
            emit(PairingCode(frame["code"]))
        elif kind == "paired":
            try:   # stored before Paired is seen: a crash after it still reconnects
                self.owner._save_token(frame["token"])
            except OSError as exc:
                self.end(ConnectFailed(f"cannot store the device token: {exc}", permanent=True))
                self.shutdown()
                return
            emit(Paired(frame.get("jid", "")))
        elif kind == "logged_out":
            self.end(LoggedOut(frame.get("reason", "")))
        elif kind == "banned":
            self.end(Banned(int(frame.get("code", 0)), float(frame.get("expires_ts", 0.0))))
        elif kind == "replaced":
            self.end(Replaced())


    def _keepalive(self) -> None:
        interval = self.owner.keepalive_s
        while not self._over.wait(interval):
            started = time.monotonic()
            try:
                self.request("ping", 2 * interval)
            except TimeoutError:
                self.end(Disconnected(f"keep-alive timeout: no answer within "
                                      f"{time.monotonic() - started:.1f} s"))
                self.shutdown()
                return
            except (ConnectionError, _RemoteError):
                return   # the link is ending anyway, or a server without ping


class SimTransport:
    """transports.base.Transport for one master on the simulated network."""

    def __init__(self, phone: str, host: str, port: int, token_path: str,
                 send_timeout: float = 10.0, connect_timeout: float = 5.0,
                 keepalive_s: float = 0.0):
        self.phone = phone
        self.keepalive_s = keepalive_s   # 0 = no keep-alive pings
        self.host, self.port = host, port
        self.token_path = token_path
        self.send_timeout = send_timeout
        self.connect_timeout = connect_timeout
        self._events: deque[Event] = deque()
        self._events_lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._signalled = False
        self._link: _Link | None = None
        self._link_lock = threading.Lock()
        self._closed = False

    # -- Transport -----------------------------------------------------------------

    def connect(self) -> None:
        """Start connecting with the stored token. No-op while connecting or connected."""
        self._start("connect")

    def pair(self, phone_code: bool = False) -> None:
        """Link this master again: QRCode (or PairingCode), Paired, then Connected."""
        self._start("pair", phone_code=phone_code)

    def send(self, to: str, text: str, idempotency_key: str, media: OutboundMedia | None = None) -> str:
        link = self._link
        if link is None or not link.connected or not link.alive:
            raise TransportError("not connected", retryable=True)
        file = {} if media is None else {"kind": media.kind, "data": media.data, "mime": media.mime,
                                         "file_name": media.file_name}
        try:
            result = link.request("send", self.send_timeout, to=to, text=text, key=idempotency_key, **file)
        except TimeoutError as exc:
            raise TransportError(str(exc), retryable=True) from exc
        except ConnectionError as exc:
            raise TransportError(f"connection lost while sending: {exc}", retryable=True) from exc
        except _RemoteError as exc:
            if exc.code == p.NOT_ON_WHATSAPP:
                raise TransportError(str(exc), retryable=False, reason="not_on_whatsapp") from exc
            raise TransportError(str(exc), retryable=exc.code != p.BAD_REQUEST) from exc
        return result["message_id"]

    def presence(self, to: str, composing: bool) -> None:
        """Composing or paused (the sim records both: `activity`)."""
        self._request("typing", to=to, state="composing" if composing else "paused")

    def typing(self, to: str, seconds: float) -> None:
        self.presence(to, True)
        time.sleep(seconds)
        self.presence(to, False)

    def mark_read(self, customer: str, message_ids: list[str]) -> None:
        self._request("read", customer=customer, ids=list(message_ids))

    def _request(self, op: str, **args: Any) -> dict:
        link = self._link
        if link is None or not link.connected or not link.alive:
            raise TransportError("not connected", retryable=True)
        try:
            return link.request(op, self.send_timeout, **args)
        except (TimeoutError, ConnectionError, _RemoteError) as exc:
            raise TransportError(f"{op}: {exc}", retryable=True) from exc

    def ack(self, message_id: str) -> None:
        """Fire and forget. Not connected: nothing to do, the sim redelivers on reconnect."""
        link = self._link
        if link is not None and link.connected and link.alive:
            try:
                link.request("ack", None, message_id=message_id)
            except ConnectionError:
                pass

    def disconnect(self) -> None:
        """Drop the connection, keep the token. No event follows (the caller knows)."""
        with self._link_lock:
            link, self._link = self._link, None
        if link is not None:
            link.retire()

    def logout(self) -> None:
        """Unlink: tell the sim (best effort, at most connect_timeout), forget the token,
        and emit LoggedOut."""
        with self._link_lock:
            link, self._link = self._link, None
        token = self._load_token()
        try:
            if link is None or not link.connected or not link.alive:
                if link is not None:
                    link.retire()
                link = _Link(self)
                link.retired = True   # quiet: its closing must not look like a drop
                link.open(self.connect_timeout)
            link.retired = True
            link.request("logout", self.connect_timeout, phone=self.phone, token=token)
        except (OSError, _LinkClosed, _RemoteError):
            pass   # the token is forgotten here either way: this device is unlinked
        finally:
            if link is not None:
                link.retire()
        self._delete_token()
        self._emit(LoggedOut("logged out by request"))

    def fileno(self) -> int:
        return self._wake_r.fileno()

    def poll(self) -> list[Event]:
        with self._events_lock:
            events = list(self._events)
            self._events.clear()
            if self._signalled:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except (BlockingIOError, OSError):
                    pass
                self._signalled = False
        return events

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.disconnect()
        with self._events_lock:
            self._wake_r.close()
            self._wake_w.close()

    # -- extras (not in the protocol) --------------------------------------------------

    @property
    def connected(self) -> bool:
        link = self._link
        return bool(link and link.connected and link.alive)

    def phone_for_lid(self, lid: str) -> str:
        """The phone behind a LID if the sim has revealed it, else ''. Raises TransportError."""
        try:
            with control.ControlClient(self.host, self.port, self.connect_timeout) as client:
                return client.call("lid_lookup", lid=lid)["phone"]
        except control.SimError as exc:
            raise TransportError(f"lookup of {lid}: {exc}") from exc

    def media_fetch(self, ref: str) -> Callable[[], bytes]:
        """How to fetch again a file pending when an earlier process ended (Media.ref: its id)."""
        return functools.partial(fetch_media, self.host, self.port, ref)

    def has_token(self) -> bool:
        return self._load_token() is not None

    # -- internals -----------------------------------------------------------------

    def _start(self, op: str, **args: Any) -> None:
        if self._closed:
            raise TransportError("transport is closed", retryable=False)
        with self._link_lock:
            if op == "connect" and self._link is not None and self._link.alive:
                return
            old, self._link = self._link, _Link(self)
            link = self._link
        if old is not None:
            old.retire()   # pairing anew replaces whatever stream we had
        threading.Thread(target=self._open, args=(link, op, args),
                         name=f"sim-{op}:{self.phone}", daemon=True).start()

    def _open(self, link: _Link, op: str, args: dict) -> None:
        try:
            link.open(self.connect_timeout)
        except _LinkClosed:
            return   # the caller let go of this link meanwhile
        except OSError as exc:
            link.end(ConnectFailed(f"simulated network unreachable at {self.host}:{self.port}: "
                                   f"{exc.strerror or exc}"))
            return
        if op == "connect":
            token = self._load_token()
            if token is None:
                link.end(ConnectFailed("not paired: no device token, pair first", permanent=True))
                link.shutdown()
                return
            args = {"token": token}
        try:
            link.request(op, self.connect_timeout, phone=self.phone, **args)
        except TimeoutError as exc:
            link.end(ConnectFailed(f"{op}: {exc}"))
            link.shutdown()
        except ConnectionError:
            pass   # the reader emitted the end event (LoggedOut, Banned, ConnectFailed)
        except _RemoteError as exc:
            # LoggedOut/Banned were pushed before this answer and already ended the
            # link; anything else (a malformed phone) ends it here.
            link.end(ConnectFailed(f"{op} refused: {exc}", permanent=True))
            link.shutdown()

    def _emit(self, event: Event) -> None:
        with self._events_lock:
            self._events.append(event)
            if not self._signalled and not self._closed:
                try:
                    self._wake_w.send(b"\0")
                    self._signalled = True
                except OSError:
                    pass

    def _load_token(self) -> str | None:
        try:
            with open(self.token_path, encoding="utf-8") as f:
                return f.read().strip() or None
        except FileNotFoundError:
            return None

    def _save_token(self, token: str) -> None:
        directory = os.path.dirname(os.path.abspath(self.token_path))
        os.makedirs(directory, exist_ok=True)
        tmp = f"{self.token_path}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.token_path)

    def _delete_token(self) -> None:
        try:
            os.unlink(self.token_path)
        except FileNotFoundError:
            pass
