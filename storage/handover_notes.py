"""Hand-over notes waiting for the customer's next message (issue 15, `[failover] note_mode`).

After a failover in `on_next_message` mode, the new master does not message
the moved customers at once: one note per customer waits here, and the new
master sends it just before its first message to that customer (in practice:
its first reply once the customer writes). A restore, or a later failover,
replaces or drops it: a customer never gets two.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from storage.codec import text
from storage.env import Txn


@dataclass
class WaitingNote:
    customer: str
    master: str          # the master that owes the note (the conversation's new owner)
    text: str
    failed: str = ""     # the master whose failover moved the customer
    ts: float = field(default_factory=time.time)


def put(txn: Txn, note: WaitingNote) -> None:
    txn.put("handover_notes", text(note.customer), note)


def get(txn: Txn, customer: str) -> WaitingNote | None:
    return txn.get("handover_notes", text(customer), WaitingNote)


def drop(txn: Txn, customer: str) -> bool:
    """Forget the customer's waiting note (sent, or not owed any more). True if there was one."""
    if get(txn, customer) is None:
        return False
    txn.delete("handover_notes", text(customer))
    return True


def all(txn: Txn) -> list[WaitingNote]:  # noqa: A001
    return [n for _, n in txn.scan("handover_notes", WaitingNote)]
