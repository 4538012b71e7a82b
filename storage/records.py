"""What the deal and ledger record modules share: readable sortable ids and Decimal fields.

An id reads "D-000042" (prefix, dash, counter); its key is the counter as a
big-endian u64, so records scan in the order they were made even past a million.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from storage.codec import u64
from storage.env import CorruptRecord, Txn

_ID = re.compile(r"([A-Za-z])-?0*(\d+)")


def new_id(txn: Txn, prefix: str) -> str:
    return f"{prefix}-{txn.next_seq('id:' + prefix):06d}"


def parse_id(text: str, prefix: str) -> int | None:
    """'D-000042', 'd-42' or 'D42' → 42 for prefix 'D'; anything else → None."""
    m = _ID.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None or m.group(1).upper() != prefix:
        return None
    return int(m.group(2))


def key(id_: str, prefix: str) -> bytes | None:
    n = parse_id(id_, prefix)
    return None if n is None else u64(n)


def decimal_field(db: str, k: bytes, value) -> Decimal:
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise CorruptRecord(db, k, f"not a decimal amount: {value!r}") from None


def build(db: str, k: bytes, cls, **fields):
    """cls(**fields), a missing or extra field reported as a corrupt record."""
    try:
        return cls(**fields)
    except TypeError as e:
        raise CorruptRecord(db, k, str(e)) from None
