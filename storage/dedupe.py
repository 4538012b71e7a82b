"""Inbound de-duplication: WhatsApp message ids already handled, per master."""
from __future__ import annotations

import time

from storage.codec import text
from storage.env import Txn


def _key(master: str, message_id: str) -> bytes:
    return text(master) + b"\0" + text(message_id)


def seen(txn: Txn, master: str, message_id: str) -> bool:
    return txn.raw.get(_key(master, message_id), db=txn.store.dbs["dedupe"]) is not None


def mark(txn: Txn, master: str, message_id: str) -> bool:
    """Record the id; False when it was already there (a redelivery)."""
    return txn.put("dedupe", _key(master, message_id), {"ts": time.time()}, overwrite=False)
