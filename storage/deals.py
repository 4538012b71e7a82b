"""Deals: the agency's pipeline, keyed by id ("D-000001"); the stage history travels with the deal.

The record is plain data; deals/stages.py decides which changes are allowed.
Money is stored as a decimal string and read back as Decimal.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from storage import records
from storage.env import Txn

PREFIX = "D"


@dataclass(frozen=True)
class StageChange:
    at: float
    by: str
    from_stage: str | None     # None for the deal's creation
    to_stage: str
    reason: str = ""


@dataclass(frozen=True)
class Deal:
    id: str
    customer: str              # E.164
    agent: str                 # E.164
    property: str              # free text: "Villa 12, Palm"
    property_type: str         # villa, apartment, ...
    transaction: str           # runtime/vocabulary.py TRANSACTIONS
    price: Decimal             # the annual rent for a lease
    project: str | None = None
    stage: str = "lead"
    history: tuple[StageChange, ...] = ()
    created_ts: float = field(default_factory=time.time)
    created_by: str = ""


def new_id(txn: Txn) -> str:
    return records.new_id(txn, PREFIX)


def key(deal_id: str) -> bytes | None:
    return records.key(deal_id, PREFIX)


def get(txn: Txn, deal_id: str) -> Deal | None:
    k = key(deal_id)
    if k is None:
        return None
    raw = txn.get("deals", k)
    return None if raw is None else _decode(k, raw)


def put(txn: Txn, deal: Deal) -> None:
    k = key(deal.id)
    if k is None:
        raise ValueError(f"not a deal id: {deal.id!r}")
    record = asdict(deal)
    record["price"] = str(deal.price)
    txn.put("deals", k, record)


def all(txn: Txn, agent: str | None = None, stage: str | None = None) -> list[Deal]:  # noqa: A001
    """Oldest first, optionally only one agent's or one stage's."""
    out = []
    for k, raw in txn.scan("deals"):
        deal = _decode(k, raw)
        if (agent is None or deal.agent == agent) and (stage is None or deal.stage == stage):
            out.append(deal)
    return out


def _decode(k: bytes, raw: dict) -> Deal:
    if not isinstance(raw, dict):
        raise records.CorruptRecord("deals", k, "not a map")
    history = tuple(records.build("deals", k, StageChange, **h) for h in raw.get("history", ()))
    fields = {**raw, "price": records.decimal_field("deals", k, raw.get("price")), "history": history}
    return records.build("deals", k, Deal, **fields)
