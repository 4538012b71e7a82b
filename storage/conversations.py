"""Conversations (one per customer, owned by one master) and their messages."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from storage.codec import text, u64
from storage.env import Txn


@dataclass
class Conversation:
    customer: str
    master: str
    messages: int = 0
    last_ts: float = 0.0
    created_ts: float = field(default_factory=time.time)
    handed_from: str | None = None  # set when a failover moved it
    welcomed: bool = False
    # Issue 14 (conversations/rules.py); defaults keep older records decoding.
    waiting_since: float = 0.0      # ts of the oldest customer message nobody answered; 0 = none
    human_until: float = 0.0        # a person answered from the phone: the bot is quiet until then
    auto_sent: list = field(default_factory=list)   # times of recent automatic replies (the budget)
    after_hours_period: str = ""    # the closed period the after-hours note was last sent in


@dataclass
class Message:
    customer: str
    master: str
    direction: str  # "in" | "out"
    text: str
    ts: float
    message_id: str = ""
    # Issue 14; defaults keep older records decoding.
    kind: str = "text"              # transports/events.py MESSAGE_KINDS, or "undecryptable"
    author: str = ""                # customer | bot | human | note; "" = by direction (older records)
    media: str | None = None        # the stored file's path
    media_state: str = ""           # "" (no file) | pending | stored | failed | too_large
    original_text: str | None = None   # the text before the first edit
    deleted: bool = False           # the sender revoked it
    reactions: dict = field(default_factory=dict)   # who → emoji
    answered: bool = False          # a reply was queued for it (a later outbound also answers it)
    held: bool = False              # arrived as backlog: stored, never auto-answered
    by: str = ""                    # a human author's own number (an agent's relayed answer, agents/relay.py)

    @property
    def who(self) -> str:
        return self.author or ("customer" if self.direction == "in" else "bot")


def get(txn: Txn, customer: str) -> Conversation | None:
    return txn.get("conversations", text(customer), Conversation)


def put(txn: Txn, conv: Conversation) -> None:
    txn.put("conversations", text(conv.customer), conv)


def all(txn: Txn, master: str | None = None) -> list[Conversation]:  # noqa: A001
    return [c for _, c in txn.scan("conversations", Conversation)
            if master is None or c.master == master]


def add_message(txn: Txn, msg: Message) -> Conversation:
    """Append a message; creates the conversation (owned by msg.master) if new.

    Any outbound message answers the customer: the conversation stops waiting."""
    conv = get(txn, msg.customer) or Conversation(customer=msg.customer, master=msg.master)
    conv.messages += 1
    conv.last_ts = max(conv.last_ts, msg.ts)
    if msg.direction == "out" and msg.who != "note":
        conv.waiting_since = 0.0
    put(txn, conv)
    txn.put("messages", text(msg.customer) + b"\0" + u64(txn.next_seq("message")), msg)
    return conv


def messages(txn: Txn, customer: str) -> list[Message]:
    return [m for _, m in txn.scan("messages", Message, prefix=text(customer) + b"\0")]


def update_message(txn: Txn, customer: str, message_id: str, change) -> Message | None:
    """Apply `change(msg)` to the message with that WhatsApp id and store it; None if unknown."""
    if not message_id:
        return None
    for key, msg in txn.scan("messages", Message, prefix=text(customer) + b"\0"):
        if msg.message_id == message_id:
            change(msg)
            txn.put("messages", key, msg)
            return msg
    return None


def merge(txn: Txn, old: str, new: str) -> Conversation | None:
    """Move conversation `old` (a LID) into `new` (the phone), messages in time order.

    None when there is nothing under `old`. The phone's conversation keeps its owner."""
    gone = get(txn, old)
    if gone is None:
        return None
    moved = [(k, m) for k, m in txn.scan("messages", Message, prefix=text(old) + b"\0")]
    kept = [(k, m) for k, m in txn.scan("messages", Message, prefix=text(new) + b"\0")]
    for k, _ in moved + kept:
        txn.delete("messages", k)
    for _, m in sorted(moved + kept, key=lambda km: km[1].ts):   # stable: same-ts keeps key order
        m.customer = new
        txn.put("messages", text(new) + b"\0" + u64(txn.next_seq("message")), m)
    conv = get(txn, new) or Conversation(customer=new, master=gone.master, created_ts=gone.created_ts)
    conv.messages += gone.messages
    conv.last_ts = max(conv.last_ts, gone.last_ts)
    conv.welcomed = conv.welcomed or gone.welcomed
    conv.human_until = max(conv.human_until, gone.human_until)
    conv.auto_sent = sorted(conv.auto_sent + gone.auto_sent)
    conv.after_hours_period = max(conv.after_hours_period, gone.after_hours_period)
    waits = [w for w in (conv.waiting_since, gone.waiting_since) if w]
    conv.waiting_since = min(waits) if waits else 0.0
    put(txn, conv)
    txn.delete("conversations", text(old))
    return conv


def waiting(txn: Txn) -> list[Conversation]:
    """Conversations whose last customer message nobody answered, oldest first."""
    return sorted((c for c in all(txn) if c.waiting_since), key=lambda c: c.waiting_since)


def count_by_master(txn: Txn) -> dict[str, int]:
    """How many conversations each master owns (the one place this is counted).

    Only each record's `master` is looked at, without checking the whole record against
    its type (which costs 8x the decode, and this reads every conversation): a record that
    does not fit is set aside where it is read in full, and counted here only if its master is."""
    counts: dict[str, int] = {}
    for _, conv in txn.scan("conversations"):
        master = conv.get("master") if isinstance(conv, dict) else None
        if isinstance(master, str):
            counts[master] = counts.get(master, 0) + 1
    return counts
