"""Human-like pacing of what the bot sends: read receipts, then typing, then the message.

A reply that arrives instantly, with the customer's message never marked read,
is how WhatsApp's anti-spam recognises a bot. So before a reply goes out the
session's send worker (transports/sender.py; never the actor's thread) marks
the message it answers read and turns "typing…" on; the session sends it once
a time that grows with the reply's length has passed (its own timer, so other
chats' sends go on meanwhile): `[session] typing_per_char_s` a character, at least
`typing_min_s`, at most `typing_max_s` (0 turns typing off; benchmarks do).
Campaign and alert sends are not typed: nobody is waiting in the chat.
"""
from __future__ import annotations

import structlog

from transports.base import TransportError

log = structlog.get_logger("session")

TYPED_KINDS = ("reply", "manual", "handover")   # someone is in the chat, waiting


def typing_seconds(text: str, session) -> float:
    """How long "typing…" shows before `text`: bounded by [typing_min_s, typing_max_s]."""
    if session.typing_max_s <= 0:
        return 0.0
    wanted = len(text or "") * session.typing_per_char_s
    return min(session.typing_max_s, max(session.typing_min_s, wanted))


def answered_message_id(key: str) -> str:
    """The customer's message a reply answers, from its outbox key
    ("reply:MASTER:MESSAGE_ID:PART", conversations/inbound.py); '' when it answers none
    or is not the first part (one read receipt per message)."""
    parts = key.split(":", 2)
    if len(parts) != 3 or parts[0] != "reply":
        return ""
    message_id, _, part = parts[2].rpartition(":")
    return message_id if message_id and part == "0" else ""


def begin(transport, entry, session) -> float:
    """On the send worker: the answered message's read receipt and "typing…" on; returns how
    long to type before the send (0: send at once). The session waits on a timer of its own,
    so typing in one chat never holds up another's sends (a person types one chat at a time,
    but a master answers many).

    Failures are logged and never stop the send: a reply without blue ticks is better than
    no reply."""
    if entry.kind == "reply" and session.read_receipts:
        answered = answered_message_id(entry.key)
        if answered:
            try:
                transport.mark_read(entry.to, [answered])
            except TransportError as e:
                log.info("read_receipt_failed", to=entry.to, error=str(e))
    seconds = typing_seconds(entry.text, session) if entry.kind in TYPED_KINDS else 0.0
    if seconds > 0:
        try:
            transport.presence(entry.to, True)
        except TransportError as e:
            log.info("typing_failed", to=entry.to, error=str(e))
    return seconds


def end(transport, entry) -> None:
    """On the send worker, right before a typed entry is sent: "typing…" off."""
    try:
        transport.presence(entry.to, False)
    except TransportError as e:
        log.info("typing_failed", to=entry.to, error=str(e))
