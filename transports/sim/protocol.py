"""The simulated network's wire format: msgpack maps over TCP.

Three kinds of frame, each one msgpack map:

- request   {"id": int, "op": str, ...arguments}
- response  {"id": int, "ok": True, "result": ...}
            {"id": int, "ok": False, "code": str, "error": str}
- push      {"event": str, ...fields}   (server → account connection only)

Account ops (on a connection that becomes that account's stream):
  pair {phone, phone_code}, connect {phone, token}, send {to, text, key},
  ack {message_id}, logout {phone, token}, ping {} (keep-alive; a hung account never answers).
Control ops (any connection; the CLI, tests and the demo use them):
  customer_send {from, to, text, kind?, data?, mime?, file_name?, seconds?, lat?, lon?,
  name?, contact?, ago?, lid?}, customer_change {from, to, change: edit|revoke|react,
  target, text}, phone_reply {from: master, to: customer, text},
  lid_reveal {phone}, lid_lookup {lid}, media {media_id} -> {data},
  inbox {customer}, fault {account, kind, seconds, ms}, heal {account}, status {},
  ack_times {ids} (when each was acked). transports/sim/messaging.py says what each
  message op means.

Pushes: connected, inbound {message_id, from, text, ts, and when not plain text:
kind, media {id, sha256, size, mime, file_name, seconds, voice_note}, location {lat,
lon, name}, contact {phone, name}, from_me, from_lid, offline}, offline_sync_started
{messages}, offline_sync_completed {count}, lid_resolved {lid, phone}, receipt {ids,
kind, sender}, and for customer_change an inbound with change, target (text: the
new text or the emoji), qr {data}, pairing_code {code}, paired {jid, token}, logged_out
{reason}, banned {code, expires_ts}, replaced. An inbound's `from` is "" for a
customer seen only by LID (`from_lid`).
"""
from __future__ import annotations

from typing import Any

import msgpack

from runtime.phone import BadPhone, normalize

FAULT_KINDS = ("logout", "ban", "disconnect", "replace", "hang", "latency", "slow-send")

# Error codes a response may carry.
BAD_REQUEST = "bad_request"
UNKNOWN_OP = "unknown_op"
UNKNOWN_ACCOUNT = "unknown_account"
NOT_CONNECTED = "not_connected"
LOGGED_OUT = "logged_out"
BANNED = "banned"
NOT_FOUND = "not_found"
NOT_ON_WHATSAPP = "not_on_whatsapp"   # a send to a number `unregistered` made

# Frames larger than this are refused: nothing the sim exchanges comes close.
MAX_FRAME = 4 * 1024 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not a frame of this protocol."""


def is_phone(value: Any) -> bool:
    """E.164 as runtime/phone.py writes it ('+', 8 to 15 ASCII digits, not starting with 0), exactly:
    '+447700900001\\n' is not (a regex's $ let it through and a second conversation began)."""
    try:
        return isinstance(value, str) and normalize(value) == value
    except BadPhone:
        return False


def pack(frame: dict) -> bytes:
    return msgpack.packb(frame, use_bin_type=True)


def request(req_id: int, op: str, **args: Any) -> bytes:
    return pack({"id": req_id, "op": op, **args})


def reply(req_id: int, result: Any = None) -> bytes:
    return pack({"id": req_id, "ok": True, "result": result})


def error(req_id: int, code: str, message: str) -> bytes:
    return pack({"id": req_id, "ok": False, "code": code, "error": message})


def push(event: str, **fields: Any) -> bytes:
    return pack({"event": event, **fields})


class Decoder:
    """Turns a byte stream into frames, however the bytes were split."""

    def __init__(self) -> None:
        self._unpacker = msgpack.Unpacker(raw=False, max_buffer_size=MAX_FRAME)

    def feed(self, data: bytes) -> list[dict]:
        try:
            self._unpacker.feed(data)
            frames = list(self._unpacker)
        except (msgpack.UnpackException, ValueError) as exc:
            raise ProtocolError(f"undecodable frame: {exc}") from exc
        for frame in frames:
            if not isinstance(frame, dict):
                raise ProtocolError(f"frame is not a map: {frame!r}")
        return frames


# -- checking a request's arguments (the server answers BadRequest with its code) --

class BadRequest(Exception):
    def __init__(self, message: str, code: str = BAD_REQUEST):
        super().__init__(message)
        self.code = code


def require_phone(frame: dict, name: str) -> str:
    value = frame.get(name)
    if not is_phone(value):
        raise BadRequest(f"{name}: expected an E.164 number like +971501234567, got {value!r}")
    return value


def require_text(frame: dict) -> str:
    text = frame.get("text")
    if not isinstance(text, str):
        raise BadRequest("text: expected a string")
    return text


def require_number(frame: dict, name: str, allow_zero: bool = False) -> float:
    value = frame.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
            or (value == 0 and not allow_zero):
        raise BadRequest(f"{name}: expected a positive number, got {value!r}")
    return float(value)
