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
- Messages: only one-to-one chats (transports/neonize/messages.py maps them:
  text, media, locations, contact cards, edits, deletes, reactions, our own
  messages typed on the phone, LID senders). Groups, status updates, broadcast
  lists and newsletters are ignored; so is history sync.
- OfflineSyncPreview/OfflineSyncCompleted bracket the backlog delivered at a
  reconnect; the transport marks the messages in between `offline`.
- StreamError → Disconnected: whatsmeow treats an unknown stream error as a
  dropped connection; the runtime's backoff and recovery limit stop loops.
- KeepAliveTimeout → Disconnected("keepalive"), KeepAliveRestored → Connected.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from transports.events import (Banned, ConnectFailed, Connected, Disconnected, Event, LoggedOut,
                               OfflineSyncCompleted, OfflineSyncStarted, Outdated, Paired, QRCode,
                               Receipt, Replaced)
from transports.neonize import messages
from transports.neonize.jids import jid_string, phone_of_jid, seconds  # noqa: F401 - re-exported
from transports.neonize.messages import Inputs

log = logging.getLogger(__name__)

# ConnectFailure reasons after which reconnecting cannot help: the device needs a relink
# (or, for the ban, its expiry — whatsmeow reports that one as TemporaryBan anyway).
PERMANENT_FAILURES = frozenset({"LOGGED_OUT", "MAIN_DEVICE_GONE", "UNKNOWN_LOGOUT",
                                "TEMP_BANNED", "CLIENT_OUTDATED", "BAD_USER_AGENT"})
RECEIPT_KINDS = {"DELIVERED": "delivered", "READ": "read", "PLAYED": "played"}

def to_domain(event: Any, *, now: float | None = None, download: Callable | None = None,
              resolve_lid: Callable[[str], str] | None = None,
              offline: bool = False) -> Event | None:
    """The domain event for one neonize event protobuf, or None when the runtime ignores it.

    `now` (Unix seconds) turns a ban's remaining duration into an expiry; default: the clock.
    The transport adds, for messages: `download(e2e_message) -> bytes` (becomes the media's
    fetch()), `resolve_lid('…@lid') -> '+E164' or ''`, and whether it is inside the
    offline sync window.
    """
    name = event.DESCRIPTOR.full_name
    now = time.time() if now is None else now
    if name in _MESSAGE_MAPPERS:
        return _MESSAGE_MAPPERS[name](event, now, Inputs(download, resolve_lid, offline))
    mapper = _MAPPERS.get(name)
    if mapper is None:
        return None
    return mapper(event, now)


# --- one mapper per event type ----------------------------------------------------------

def _offline_preview(ev, now: float) -> OfflineSyncStarted:
    return OfflineSyncStarted(messages=ev.Message, total=ev.Total)


def _offline_completed(ev, now: float) -> OfflineSyncCompleted:
    return OfflineSyncCompleted(count=ev.Count)


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
    return Disconnected(reason=f"stream error {ev.Code}" if ev.Code else "stream error", redialing=True)


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


_MESSAGE_MAPPERS = {
    "neonize.Message": messages.from_message,
    "neonize.UndecryptableMessage": messages.from_undecryptable,
}

_MAPPERS: dict[str, Callable[[Any, float], Event | None]] = {
    **_MESSAGE_MAPPERS,   # called with Inputs by to_domain; listed here: every mapped type
    "neonize.OfflineSyncPreview": _offline_preview,
    "neonize.OfflineSyncCompleted": _offline_completed,
    "neonize.Receipt": _receipt,
    "neonize.Connected": _constant(Connected()),
    "neonize.Disconnected": _constant(Disconnected(reason="connection lost", redialing=True)),
    "neonize.KeepAliveTimeout": _constant(Disconnected(reason="keepalive", redialing=True)),
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

def _phone_of(*jids) -> str:
    for jid in jids:
        phone = phone_of_jid(jid)
        if phone:
            return phone
    return ""


def _enum_name(message, field: str) -> str:
    """The name of an enum field's value, read from the descriptor (no neonize import)."""
    enum = message.DESCRIPTOR.fields_by_name[field].enum_type
    value = enum.values_by_number.get(getattr(message, field))
    return value.name if value is not None else str(getattr(message, field))


def _words(name: str) -> str:
    return name.lower().replace("_", " ")
