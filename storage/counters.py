"""Repairing a sequence counter (`meta` key `seq:NAME`) that is not 8 bytes.

A counter's only promise is that the next number was never used. So a
truncated one is set past the highest number found in the keys it made
(each counter's database below: its keys end in the number, big-endian); a
counter not listed here is set past any count a store can reach (the time
in milliseconds), which keeps numbers unique at the cost of a jump.
"""
from __future__ import annotations

import time

from storage import codec

# counter name → the database whose keys end in its numbers
MADE_BY = {
    "message": "messages", "outbox": "outbox", "event": "events",
    "id:D": "deals", "id:C": "ledger", "id:P": "payouts",
    "ledger_status": "ledger_status", "commission_rules": "commission_rules",
}


def highest_in_keys(txn, db: str) -> int:
    """The largest 8-byte big-endian number any key of `db` ends with (0 for none)."""
    top = 0
    with txn.raw.cursor(db=txn.store.dbs[db]) as cur:
        for key in cur.iternext(keys=True, values=False):
            if len(key) >= 8:
                top = max(top, codec.from_u64(key[-8:]))
    return top


def repair(txn, name: str, raw: bytes) -> tuple[int, str]:
    """(the value to continue counter `name` from, the reason to record with the bad bytes)."""
    db = MADE_BY.get(name)
    value = highest_in_keys(txn, db) if db else int(time.time() * 1000)
    if db == "outbox":   # delivered entries left the outbox; their ids stay in the key records
        for _, known in txn.scan("outbox_keys"):
            if isinstance(known, dict) and isinstance(known.get("id"), int):
                value = max(value, known["id"])
    return value, f"counter {name!r} is {len(raw)} bytes, not 8; continued from {value}"
