"""The simulated network's message ops: what customers and people send (issue 14).

A mixin of SimServer (transports/sim/server.py), which dispatches `_op_<name>` to
it. It models what real WhatsApp delivers to a linked device:

- customer_send: text, or a photo, video, voice note, document, sticker (the
  file's bytes travel in the frame, capped at MAX_MEDIA_BYTES, and are fetched
  back with `media`), a location or a contact card; `ago` seconds old; from a
  LID only (`lid`), the phone staying hidden until `lid_reveal`.
- customer_change: the customer edits, deletes (revoke) or reacts to (text = the
  emoji, "" takes it back) an earlier message.
- phone_reply: a person types on the master's phone to a customer: the customer
  receives it, and the master's linked device gets it as a message from itself.
- A master that was disconnected gets what was held for it as its offline
  backlog: offline_sync_started, every held message marked offline, then
  offline_sync_completed — like WhatsApp's offline sync after a reconnect.
"""
from __future__ import annotations

import time

from transports.events import MEDIA_KINDS, MESSAGE_KINDS
from transports.sim import protocol as p

MAX_MEDIA_BYTES = 2 * 1024 * 1024      # well under the protocol's frame limit
MAX_AGO_S = 30 * 86400                 # a backlog older than a month is not a test case
CHANGES = ("edit", "revoke", "react")   # what customer_change does to an earlier message


class MessagingOps:
    """Needs from SimServer: self.state, self._conns, self._emit(conn, data, phone)."""

    # -- customer -> master ---------------------------------------------------

    def _op_customer_send(self, conn, req_id, frame: dict) -> None:
        sender, to = p.require_phone(frame, "from"), p.require_phone(frame, "to")
        text = p.require_text(frame)
        extra = self._message_fields(frame, text)
        ago = _number(frame, "ago", 0.0, 0.0, MAX_AGO_S)
        if frame.get("lid"):
            extra["from_lid"] = self.state.lid_of(sender)
            if sender not in self.state.revealed:
                sender = ""   # WhatsApp hides the number: only the LID is known
        record = self.state.customer_send(sender, to, text, ts=time.time() - ago, **extra)
        self._deliver(to, record)
        self._emit(conn, p.reply(req_id, {"message_id": record["message_id"]}))

    def _op_customer_change(self, conn, req_id, frame: dict) -> None:
        """The customer edits, deletes or reacts to message `target` they exchanged with `to`."""
        sender, to = p.require_phone(frame, "from"), p.require_phone(frame, "to")
        change, target = frame.get("change"), frame.get("target")
        if change not in CHANGES:
            raise p.BadRequest(f"change: one of {', '.join(CHANGES)}, got {change!r}")
        if not isinstance(target, str) or not target:
            raise p.BadRequest("target: the id of the message changed")
        text = _string(frame, "text")
        if change == "edit" and not text.strip():
            raise p.BadRequest("text: an edit needs the new text")
        record = self.state.customer_send(sender, to, text, change=change, target=target)
        self._deliver(to, record)
        self._emit(conn, p.reply(req_id, {"message_id": record["message_id"]}))

    def _op_phone_reply(self, conn, req_id, frame: dict) -> None:
        master, customer = p.require_phone(frame, "from"), p.require_phone(frame, "to")
        text = p.require_text(frame)
        if not text.strip():
            raise p.BadRequest("text: a reply needs some text")
        if self.state.accounts.get(master) is None:
            raise p.BadRequest(f"unknown account {master}", p.UNKNOWN_ACCOUNT)
        self.state.account_send(master, customer, text, "")       # the customer receives it
        record = self.state.customer_send(customer, master, text, from_me=True)
        self._deliver(master, record)                             # and the master's device sees it
        self._emit(conn, p.reply(req_id, {"message_id": record["message_id"]}))

    def _deliver(self, account: str, record: dict) -> None:
        stream = self._conns.get(account)
        if stream is not None:   # a hung one swallows it (_emit); heal pushes it again
            self.state.counts["delivered"] += 1
            self._emit(stream, p.push("inbound", **record))

    def _push_pending(self, conn, phone: str) -> None:
        """What was held for this account, as WhatsApp's offline sync after a reconnect."""
        held = self.state.pending(phone)
        if not held:
            return
        self._emit(conn, p.push("offline_sync_started", messages=len(held)))
        for record in held:
            self.state.counts["delivered"] += 1
            self._emit(conn, p.push("inbound", **record, offline=True))
        self._emit(conn, p.push("offline_sync_completed", count=len(held)))

    # -- media and LIDs -------------------------------------------------------

    def _op_media(self, conn, req_id, frame: dict) -> None:
        media_id = frame.get("media_id")
        data = self.state.media(media_id) if isinstance(media_id, str) else None
        if data is None:
            raise p.BadRequest(f"no media {media_id!r}", p.NOT_FOUND)
        self._emit(conn, p.reply(req_id, {"data": data}))

    def _op_lid_reveal(self, conn, req_id, frame: dict) -> None:
        phone = p.require_phone(frame, "phone")
        lid = self.state.reveal(phone)
        for stream in list(self._conns.values()):
            self._emit(stream, p.push("lid_resolved", lid=lid, phone=phone))
        self._emit(conn, p.reply(req_id, {"lid": lid}))

    def _op_lid_lookup(self, conn, req_id, frame: dict) -> None:
        lid = frame.get("lid")
        if not isinstance(lid, str):
            raise p.BadRequest("lid: expected a string like 123456789012345@lid")
        self._emit(conn, p.reply(req_id, {"phone": self.state.phone_for_lid(lid)}))

    # -- checking a message's fields -------------------------------------------

    def _message_fields(self, frame: dict, text: str) -> dict:
        """The inbound record's fields beyond the text, checked; files kept in the state."""
        kind = frame.get("kind", "text")
        if kind not in MESSAGE_KINDS:
            raise p.BadRequest(f"kind: one of {', '.join(MESSAGE_KINDS)}, got {kind!r}")
        if kind == "text":
            return {}
        fields: dict = {"kind": kind}
        if kind in MEDIA_KINDS:
            data = frame.get("data")
            if not isinstance(data, bytes) or not data:
                raise p.BadRequest(f"data: a {kind} needs its file's bytes")
            if len(data) > MAX_MEDIA_BYTES:
                raise p.BadRequest(f"data: {len(data)} bytes; the simulated network carries "
                                   f"files up to {MAX_MEDIA_BYTES} bytes")
            media_id = self.state.put_media(data)
            fields["media"] = {"id": media_id, "sha256": media_id, "size": len(data),
                               "mime": _string(frame, "mime"),
                               "file_name": _string(frame, "file_name"),
                               "seconds": int(_number(frame, "seconds", 0, 0, 86400)),
                               "voice_note": bool(frame.get("voice_note", kind == "voice"))}
        elif kind == "location":
            fields["location"] = {"lat": _number(frame, "lat", None, -90, 90),
                                  "lon": _number(frame, "lon", None, -180, 180),
                                  "name": _string(frame, "name")}
        elif kind == "contact":
            fields["contact"] = {"phone": p.require_phone(frame, "contact"),
                                 "name": _string(frame, "name")}
        return fields


def _string(frame: dict, name: str) -> str:
    value = frame.get(name) or ""
    if not isinstance(value, str):
        raise p.BadRequest(f"{name}: expected a string, got {value!r}")
    return value


def _number(frame: dict, name: str, default, low: float, high: float) -> float:
    value = frame.get(name, default)
    if value is None and default is None:
        raise p.BadRequest(f"{name}: required")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise p.BadRequest(f"{name}: expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)
