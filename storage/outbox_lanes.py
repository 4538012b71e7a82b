"""The outbox's lanes: which pending entries the balancer looks at first.

A customer waiting for a reply must not queue behind a campaign of 100,000
(issue 18: with one list in id order a `!ping` waited 11 s). Every pending
entry has a key in `outbox_lanes`, lane number then entry id, so a scan reads
the replies (and operators' sends), then admins' alerts, then hand-over notes,
then campaigns, each lane oldest first, and stops at its limit without
touching the rest. storage/outbox.py keeps the index in the same transaction
as the entry: present exactly while the entry is pending.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from storage.codec import u64

# storage/schema.py's migration uses this module, and storage/env.py runs the migrations: so no
# import of storage.env here (its Txn) — that would be a cycle (tests/test_layout.py).
Txn = Any

# In the order they are served. An operator's `send` waits like a reply: a person is waiting.
LANES = ("reply", "alert", "handover", "campaign")
LANE_OF_KIND = {"reply": 0, "manual": 0, "alert": 1, "handover": 2, "campaign": 3}
DB = "outbox_lanes"


def key(kind: str, entry_id: int) -> bytes:
    return bytes([LANE_OF_KIND.get(kind, 0)]) + u64(entry_id)


def add(txn: Txn, kind: str, entry_id: int) -> None:
    txn.put(DB, key(kind, entry_id), 1)   # the key is the index; scan skips a None value


def remove(txn: Txn, kind: str, entry_id: int) -> None:
    txn.delete(DB, key(kind, entry_id))


def ids(txn: Txn, lane: str) -> Iterator[int]:
    """Entry ids in one lane, oldest first."""
    prefix = bytes([LANES.index(lane)])
    for k, _ in txn.scan(DB, prefix=prefix):
        yield int.from_bytes(k[1:], "big")


# Entries a session claimed to send itself (its own reply, docs/balancer.md "Replies from the
# receiving session"): out of every lane, so the balancer never sends them too; keyed here by
# id alone, as there are few (each session's reply budget) and a restarted session finds its own.
CLAIMED = b"\xc0"


def claim(txn: Txn, entry_id: int) -> None:
    txn.put(DB, CLAIMED + u64(entry_id), 1)


def unclaim(txn: Txn, entry_id: int) -> None:
    txn.delete(DB, CLAIMED + u64(entry_id))


def claimed_ids(txn: Txn) -> list[int]:
    return [int.from_bytes(k[1:], "big") for k, _ in txn.scan(DB, prefix=CLAIMED)]


def rebuild(txn: Txn) -> int:
    """Index every pending outbox entry (a migration, storage/schema.py); returns how many."""
    n = 0
    for _, e in txn.scan("outbox"):
        if e.get("state") == "pending":
            add(txn, e.get("kind", "reply"), e["id"])
            n += 1
    return n
