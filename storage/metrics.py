"""Counters and samples that must survive a restart (messages in/out, restarts, queue depth)."""
from __future__ import annotations

from storage.codec import text
from storage.env import Txn


def incr(txn: Txn, name: str, by: int = 1) -> int:
    value = (txn.get("metrics", text(name), int) or 0) + by
    txn.put("metrics", text(name), value)
    return value


def get(txn: Txn, name: str) -> int:
    return txn.get("metrics", text(name), int) or 0


def with_prefix(txn: Txn, prefix: str) -> dict[str, int]:
    return {k.decode(): v for k, v in txn.scan("metrics", int, prefix=text(prefix))}
