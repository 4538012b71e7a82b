"""Campaigns: a named text sent once to each of a list of contacts (the outbox holds the messages)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from storage.codec import text
from storage.env import Txn

_PREFIX = b"campaign:"


@dataclass
class Campaign:
    name: str
    text: str
    contacts: int = 0                      # contacts queued so far (a re-run adds only new ones)
    # Kept by storage/outbox.py in the transaction that delivers or kills an entry, so
    # `campaign status` reads one record instead of every contact's key (issue 18).
    sent: int = 0
    dead: int = 0
    created_ts: float = field(default_factory=time.time)
    updated_ts: float = 0.0


def get(txn: Txn, name: str) -> Campaign | None:
    return txn.get("campaigns", _PREFIX + text(name), Campaign)


def put(txn: Txn, campaign: Campaign) -> None:
    txn.put("campaigns", _PREFIX + text(campaign.name), campaign)


def all(txn: Txn) -> list[Campaign]:  # noqa: A001 - reads as campaigns.all(txn)
    return [c for _, c in txn.scan("campaigns", Campaign, prefix=_PREFIX)]


def count(txn: Txn, name: str, sent: int = 0, dead: int = 0) -> None:
    """Add to a campaign's counters (no-op for a campaign that is gone)."""
    record = get(txn, name)
    if record is not None:
        record.sent, record.dead = record.sent + sent, max(0, record.dead + dead)
        put(txn, record)

