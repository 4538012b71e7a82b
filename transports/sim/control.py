"""Client calls to the simulated network, for the CLI, the tests and the demo.

The module functions open one short connection per call. `ControlClient`
keeps one open, for callers that send many messages (the benchmark).
"""
from __future__ import annotations

import socket
import time
from typing import Any

from transports.sim import protocol as p


class SimError(Exception):
    """The simulated network answered with an error; `code` is the protocol's error code."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


class SimUnreachable(SimError):
    """Nothing answers at host:port (not started, or gone)."""


class SimBadRequest(SimError, ValueError):
    """The request itself is wrong: bad phone number, unknown fault kind, unknown account."""


_BAD_CODES = {p.BAD_REQUEST, p.UNKNOWN_OP, p.UNKNOWN_ACCOUNT}


class ControlClient:
    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._decoder = p.Decoder()
        self._frames: list[dict] = []
        self._next_id = 0

    def call(self, op: str, **args: Any) -> Any:
        """One request, waiting for its response; returns the result or raises SimError."""
        sock = self._connect()
        self._next_id += 1
        req_id = self._next_id
        try:
            sock.sendall(p.request(req_id, op, **args))
            frame = self._read_response(sock, req_id)
        except (OSError, p.ProtocolError) as exc:
            self.close()
            raise SimUnreachable(f"simulated network at {self.host}:{self.port} stopped "
                                 f"answering: {exc}") from exc
        if frame.get("ok"):
            return frame.get("result")
        code = frame.get("code", "")
        cls = SimBadRequest if code in _BAD_CODES else SimError
        raise cls(frame.get("error", "error"), code)

    def _connect(self) -> socket.socket:
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            except OSError as exc:
                raise SimUnreachable(f"no simulated network at {self.host}:{self.port} "
                                     f"({exc.strerror or exc})") from exc
        return self._sock

    def _read_response(self, sock: socket.socket, req_id: int) -> dict:
        while True:
            while self._frames:
                frame = self._frames.pop(0)
                if frame.get("id") == req_id:
                    return frame
            data = sock.recv(65536)
            if not data:
                raise ConnectionResetError("connection closed")
            self._frames.extend(self._decoder.feed(data))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._decoder, self._frames = p.Decoder(), []

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the operations ---------------------------------------------------------

    def send(self, from_: str, to: str, text: str, **message: Any) -> str:
        """A customer `from_` writes to account `to`; returns the message id.

        `message`: kind, data, mime, file_name, seconds, lat, lon, name, contact, ago, lid
        (transports/sim/messaging.py; transports/sim/compose.py builds them from CLI options).
        """
        _need_phone("from", from_)
        _need_phone("to", to)
        return self.call("customer_send", **{"from": from_, "to": to, "text": text,
                                             **message})["message_id"]

    def change(self, from_: str, to: str, change: str, target: str, text: str = "") -> str:
        """The customer edits (text: the new text), revokes or reacts to (text: the emoji)
        message `target`; returns the id of this change's own message."""
        _need_phone("from", from_)
        _need_phone("to", to)
        return self.call("customer_change", **{"from": from_, "to": to, "change": change,
                                               "target": target, "text": text})["message_id"]

    def phone_reply(self, master: str, customer: str, text: str) -> str:
        """A person types `text` on `master`'s phone to `customer`; returns the message id."""
        _need_phone("from", master)
        _need_phone("to", customer)
        return self.call("phone_reply", **{"from": master, "to": customer,
                                           "text": text})["message_id"]

    def lid_reveal(self, customer: str) -> str:
        """The sim makes the phone behind `customer`'s LID known; returns the LID."""
        _need_phone("phone", customer)
        return self.call("lid_reveal", phone=customer)["lid"]

    def media(self, media_id: str) -> bytes:
        return self.call("media", media_id=media_id)["data"]

    def inbox(self, customer: str) -> list[dict]:
        """What `customer` received, oldest first: [{"id", "from", "text", "ts"}]."""
        _need_phone("customer", customer)
        return self.call("inbox", customer=customer)

    def activity(self, customer: str) -> list[dict]:
        """The typing presence and read receipts `customer` saw, oldest first:
        [{"what": "typing", "state": "composing"|"paused", ...} | {"what": "read", "ids", ...}]."""
        _need_phone("customer", customer)
        return self.call("activity", customer=customer)

    def ack_times(self, message_ids: list[str]) -> dict[str, float]:
        """When each message was acknowledged by its account (Unix time); unacked ones absent."""
        return self.call("ack_times", ids=list(message_ids))

    def fault(self, account: str, kind: str, seconds: float | None = None,
              ms: float | None = None) -> None:
        _need_phone("account", account)
        if kind not in p.FAULT_KINDS:
            raise SimBadRequest(f"unknown fault {kind!r}; one of {', '.join(p.FAULT_KINDS)}",
                                p.BAD_REQUEST)
        if kind == "ban" and not (seconds and seconds > 0):
            raise SimBadRequest("ban needs seconds > 0", p.BAD_REQUEST)
        if kind == "latency" and (ms is None or ms < 0):
            raise SimBadRequest("latency needs ms >= 0", p.BAD_REQUEST)
        if kind == "slow-send" and (seconds is None or seconds < 0):
            raise SimBadRequest("slow-send needs seconds >= 0 (0 ends it)", p.BAD_REQUEST)
        self.call("fault", account=account, kind=kind, seconds=seconds, ms=ms)

    def unregistered(self, phone: str) -> None:
        """From now on `phone` is not on WhatsApp: sends to it fail for good."""
        _need_phone("phone", phone)
        self.call("unregistered", phone=phone)

    def heal(self, account: str) -> None:
        _need_phone("account", account)
        self.call("heal", account=account)

    def status(self) -> dict:
        return self.call("status")


def _need_phone(name: str, value: str) -> None:
    if not p.is_phone(value):
        raise SimBadRequest(f"{name}: expected an E.164 number like +971501234567, got {value!r}",
                            p.BAD_REQUEST)


def _once(host: str, port: int, method: str, *args: Any, **kwargs: Any) -> Any:
    with ControlClient(host, port) as client:
        return getattr(client, method)(*args, **kwargs)


def send(host: str, port: int, from_: str, to: str, text: str, **message: Any) -> str:
    return _once(host, port, "send", from_, to, text, **message)


def change(host: str, port: int, from_: str, to: str, change_: str, target: str,
           text: str = "") -> str:
    return _once(host, port, "change", from_, to, change_, target, text)


def phone_reply(host: str, port: int, master: str, customer: str, text: str) -> str:
    return _once(host, port, "phone_reply", master, customer, text)


def lid_reveal(host: str, port: int, customer: str) -> str:
    return _once(host, port, "lid_reveal", customer)


def inbox(host: str, port: int, customer: str) -> list[dict]:
    return _once(host, port, "inbox", customer)


def fault(host: str, port: int, account: str, kind: str, seconds: float | None = None,
          ms: float | None = None) -> None:
    _once(host, port, "fault", account, kind, seconds=seconds, ms=ms)


def unregistered(host: str, port: int, phone: str) -> None:
    _once(host, port, "unregistered", phone)


def heal(host: str, port: int, account: str) -> None:
    _once(host, port, "heal", account)


def status(host: str, port: int) -> dict:
    return _once(host, port, "status")


def wait_until_up(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until the simulated network answers `status`; SimUnreachable after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status(host, port)
            return
        except SimUnreachable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
