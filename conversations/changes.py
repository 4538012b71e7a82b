"""Changes to stored messages and to who a customer is (issue 14): edits, revokes,
reactions, undecryptable messages, and a LID sender becoming a phone number.

Pure but for the store transaction, like conversations/inbound.py, which calls
these for the non-message events of a batch.
"""
from __future__ import annotations

from typing import Callable

import structlog

from storage import conversations, metrics
from transports import events as ev

log = structlog.get_logger("conversations")

UNDECRYPTABLE_TEXT = "[a message that could not be decrypted]"
Resolver = Callable[[str], str]   # LID → phone ('' when unknown)


def customer_of(txn, sender: str, lid: str, resolve: Resolver | None) -> str:
    """The conversation key of a sender: the phone (asked of the transport when only the
    LID came), else the LID. When the phone is known and a LID conversation exists, it
    is merged into the phone's first, so no message stays behind under the LID."""
    phone = sender
    if not phone and lid and resolve is not None:
        try:
            phone = resolve(lid) or ""
        except Exception as e:   # the lookup is a nicety: the LID keys the conversation meanwhile
            log.warning("lid_lookup_failed", lid=lid, error=str(e))
    if phone and lid:
        lid_resolved(txn, lid, phone)
    return phone or lid


def lid_resolved(txn, lid: str, phone: str) -> bool:
    """Merge the LID's conversation into the phone's; False when there was none."""
    merged = conversations.merge(txn, lid, phone)
    if merged is not None:
        log.info("lid_conversation_merged", lid=lid, phone=phone, messages=merged.messages)
    return merged is not None


def apply_change(txn, master: str, event, customer: str) -> bool:
    """An edit, revoke or reaction applied to its target message; False when the target
    is unknown (not in this customer's conversation: logged, nothing changed)."""
    if isinstance(event, ev.Edited):
        def change(msg):
            if msg.original_text is None:
                msg.original_text = msg.text
            msg.text = event.text
    elif isinstance(event, ev.Revoked):
        def change(msg):
            msg.deleted = True
    else:
        who = "human" if event.from_me else "customer"

        def change(msg):
            if event.emoji:
                msg.reactions[who] = event.emoji
            else:
                msg.reactions.pop(who, None)
    found = conversations.update_message(txn, customer, event.target_id, change)
    if found is None:
        log.info("change_target_unknown", kind=type(event).__name__, target=event.target_id,
                 customer=customer, master=master)
    return found is not None


def undecryptable(txn, master: str, event: ev.Undecryptable, customer: str) -> conversations.Conversation:
    """Counted, logged with the sender, and a placeholder in the conversation (waiting:
    the customer said something nobody can read)."""
    metrics.incr(txn, f"undecryptable:{master}")
    log.warning("undecryptable_message", sender=customer, message_id=event.message_id, master=master)
    conv = conversations.add_message(txn, conversations.Message(
        customer=customer, master=master, direction="in", text=UNDECRYPTABLE_TEXT,
        ts=event.timestamp, message_id=event.message_id, kind="undecryptable", author="customer"))
    if not conv.waiting_since:
        conv.waiting_since = event.timestamp
        conversations.put(txn, conv)
    return conv
