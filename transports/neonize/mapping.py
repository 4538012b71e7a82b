"""neonize event protobufs → the domain's events (transports/events.py).

`to_domain(event)` is a pure function. It never imports neonize: importing
neonize starts its Go runtime, which must not happen before thespian forks
(docs/architecture.md, "Facts about the parts"). Events are recognised by their protobuf type name.

What goneonize 0.5.2 puts in the fields (read from its encoder, checked
against the shipped library):
- MessageInfo.Timestamp is Unix *milliseconds* (EncodeMessageInfo uses
  UnixMilli); Receipt.Timestamp is seconds.
- TemporaryBan.Expire is the ban's remaining duration in seconds, not a date.
- Enum fields are left unset when whatsmeow has a value goneonize does not
  know. Proto2 then reads the enum's first value (GENERIC, DELIVERED,
  SEND_TO_TOO_MANY_PEOPLE, and PairStatus ERROR), so those fields are read
  with HasField.

Decisions:
- Only 1:1 text from customers becomes Inbound: messages we sent ourselves
  (echoed from our other devices), groups, status updates, broadcast lists,
  newsletters, edits, and anything without text (media, reactions, polls) are
  ignored.
- The sender must be a phone number. WhatsApp may address a chat by LID
  (`…@lid`); whatsmeow then carries the phone-number JID in SenderAlt. A
  message with no phone number anywhere is ignored with a warning.
- StreamError → Disconnected: whatsmeow treats an unknown stream error as a
  dropped connection; the runtime's backoff and recovery limit stop loops.
- KeepAliveTimeout → Disconnected("keepalive"), KeepAliveRestored → Connected.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from runtime.phone import BadPhone, normalize
from transports.events import (Banned, ConnectFailed, Connected, Disconnected, Event, Inbound,
                               LoggedOut, Outdated, Paired, QRCode, Receipt, Replaced)

log = logging.getLogger(__name__)

PHONE_SERVER = "s.whatsapp.net"
LID_SERVER = "lid"
ONE_TO_ONE_SERVERS = ("", PHONE_SERVER, LID_SERVER)  # "" = chat not given: judge by sender

# ConnectFailure reasons after which reconnecting cannot help: the device needs a relink
# (or, for the ban, its expiry — whatsmeow reports that one as TemporaryBan anyway).
PERMANENT_FAILURES = frozenset({"LOGGED_OUT", "MAIN_DEVICE_GONE", "UNKNOWN_LOGOUT",
                                "TEMP_BANNED", "CLIENT_OUTDATED", "BAD_USER_AGENT"})
RECEIPT_KINDS = {"DELIVERED": "delivered", "READ": "read", "PLAYED": "played"}

# Timestamps above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 100_000_000_000


def to_domain(event: Any, *, now: float | None = None) -> Event | None:
    """The domain event for one neonize event protobuf, or None when the runtime ignores it.

    `now` (Unix seconds) turns a ban's remaining duration into an expiry; default: the clock.
    """
    mapper = _MAPPERS.get(event.DESCRIPTOR.full_name)
    if mapper is None:
        return None
    return mapper(event, time.time() if now is None else now)


# --- one mapper per event type ----------------------------------------------------------

def _message(ev, now: float) -> Inbound | None:
    info = ev.Info
    source = info.MessageSource
    if source.IsFromMe or source.IsGroup or ev.IsEdit or info.Edit:
        return None
    if source.Chat.Server not in ONE_TO_ONE_SERVERS:
        return None  # group, status@broadcast, broadcast list, newsletter
    text = _text_of(ev.Message) if ev.HasField("Message") else ""
    if not text.strip() or not info.ID:
        return None
    sender = _phone_of(source.Sender, source.SenderAlt, source.Chat)
    if not sender:
        log.warning("ignoring message %s: sender %s has no phone number", info.ID,
                    jid_string(source.Sender))
        return None
    return Inbound(message_id=info.ID, sender=sender, text=text,
                   timestamp=_seconds(info.Timestamp) if info.Timestamp else now)


def _receipt(ev, now: float) -> Receipt | None:
    source = ev.MessageSource
    if source.IsFromMe or source.IsGroup or not ev.HasField("Type"):
        return None  # our own devices' read marks; group receipts; a type goneonize left unset
    kind = RECEIPT_KINDS.get(_enum_name(ev, "Type"))
    if kind is None or not ev.MessageIDs:
        return None  # sender/retry/server-error/... receipts carry nothing for the outbox
    return Receipt(message_ids=tuple(ev.MessageIDs), kind=kind,
                   sender=_phone_of(source.Sender, source.SenderAlt, source.Chat))


def _logged_out(ev, now: float) -> LoggedOut:
    reason = _words(_enum_name(ev, "Reason")) if ev.HasField("Reason") else "logged out"
    if ev.OnConnect:
        reason += " (refused on connect)"
    return LoggedOut(reason=reason)


def _banned(ev, now: float) -> Banned:
    code = ev.Code if ev.HasField("Code") else 0
    expires = now + ev.Expire if ev.HasField("Expire") and ev.Expire > 0 else 0.0
    return Banned(code=code, expires_ts=expires)


def _connect_failure(ev, now: float) -> ConnectFailed:
    name = _enum_name(ev, "Reason") if ev.HasField("Reason") else ""
    reason = f"WhatsApp refused the connection: {_words(name) if name else 'unknown reason'}"
    if ev.Message:
        reason += f" ({ev.Message})"
    return ConnectFailed(reason=reason, permanent=name in PERMANENT_FAILURES)


def _stream_error(ev, now: float) -> Disconnected:
    return Disconnected(reason=f"stream error {ev.Code}" if ev.Code else "stream error")


def _pair_status(ev, now: float) -> Paired | ConnectFailed:
    if ev.HasField("Status"):
        ok = _enum_name(ev, "Status") == "SUCCESS"
    else:  # unset reads ERROR: decide by what is there
        ok = not ev.Error and bool(ev.ID.User)
    if ok:
        return Paired(jid=jid_string(ev.ID))
    return ConnectFailed(reason=f"pairing failed: {ev.Error or 'no reason given'}")


def _qr(ev, now: float) -> QRCode | None:
    return QRCode(data=ev.Codes[0]) if ev.Codes else None


def _constant(event: Event) -> Callable[[Any, float], Event]:
    return lambda ev, now: event


_MAPPERS: dict[str, Callable[[Any, float], Event | None]] = {
    "neonize.Message": _message,
    "neonize.Receipt": _receipt,
    "neonize.Connected": _constant(Connected()),
    "neonize.Disconnected": _constant(Disconnected(reason="connection lost")),
    "neonize.KeepAliveTimeout": _constant(Disconnected(reason="keepalive")),
    "neonize.KeepAliveRestored": _constant(Connected()),
    "neonize.LoggedOut": _logged_out,
    "neonize.TemporaryBan": _banned,
    "neonize.StreamReplaced": _constant(Replaced()),
    "neonize.ClientOutdated": _constant(Outdated()),
    "neonize.ConnectFailure": _connect_failure,
    "neonize.StreamError": _stream_error,
    "neonize.PairStatus": _pair_status,
    "neonize.QR": _qr,
}


# --- helpers ------------------------------------------------------------------------------

def jid_string(jid) -> str:
    """'971501234567:12@s.whatsapp.net' (device part only when there is one)."""
    user = f"{jid.User}:{jid.Device}" if jid.Device else jid.User
    return f"{user}@{jid.Server}" if jid.Server else user


def phone_of_jid(jid) -> str:
    """'+971501234567' for a phone-number JID, '' for anything else (LID, group, empty)."""
    if jid.Server != PHONE_SERVER:
        return ""
    try:
        return normalize("+" + jid.User)
    except BadPhone:
        return ""


def _phone_of(*jids) -> str:
    for jid in jids:
        phone = phone_of_jid(jid)
        if phone:
            return phone
    return ""


def _text_of(message) -> str:
    if message.HasField("conversation"):
        return message.conversation
    if message.HasField("extendedTextMessage") and message.extendedTextMessage.HasField("text"):
        return message.extendedTextMessage.text
    return ""


def _seconds(stamp: int) -> float:
    return stamp / 1000.0 if stamp >= _MS_THRESHOLD else float(stamp)


def _enum_name(message, field: str) -> str:
    """The name of an enum field's value, read from the descriptor (no neonize import)."""
    enum = message.DESCRIPTOR.fields_by_name[field].enum_type
    value = enum.values_by_number.get(getattr(message, field))
    return value.name if value is not None else str(getattr(message, field))


def _words(name: str) -> str:
    return name.lower().replace("_", " ")
