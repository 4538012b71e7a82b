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


@dataclass
class Message:
    customer: str
    master: str
    direction: str  # "in" | "out"
    text: str
    ts: float
    message_id: str = ""


def get(txn: Txn, customer: str) -> Conversation | None:
    return txn.get("conversations", text(customer), Conversation)


def put(txn: Txn, conv: Conversation) -> None:
    txn.put("conversations", text(conv.customer), conv)


def all(txn: Txn, master: str | None = None) -> list[Conversation]:  # noqa: A001
    return [c for _, c in txn.scan("conversations", Conversation)
            if master is None or c.master == master]


def add_message(txn: Txn, msg: Message) -> Conversation:
    """Append a message; creates the conversation (owned by msg.master) if new."""
    conv = get(txn, msg.customer) or Conversation(customer=msg.customer, master=msg.master)
    conv.messages += 1
    conv.last_ts = max(conv.last_ts, msg.ts)
    put(txn, conv)
    txn.put("messages", text(msg.customer) + b"\0" + u64(txn.next_seq("message")), msg)
    return conv


def messages(txn: Txn, customer: str) -> list[Message]:
    return [m for _, m in txn.scan("messages", Message, prefix=text(customer) + b"\0")]


def count_by_master(txn: Txn) -> dict[str, int]:
    """How many conversations each master owns (the one place this is counted)."""
    counts: dict[str, int] = {}
    for conv in all(txn):
        counts[conv.master] = counts.get(conv.master, 0) + 1
    return counts
