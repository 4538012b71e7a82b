"""Leads ("L-000001"): a customer waiting for, offered to, or taken by an agent.

The record is plain data; agents/leads.py decides how it moves (assign,
accept, pass, timeout) and agents/desk.py runs those moves in a transaction.
An index by customer (`lead_index`, "c" + phone + u64 id) finds a customer's
leads without a scan, for the relay and first-touch protection. The
round-robin cursor of the assignment is kept here too (`lead_state`).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from storage import records
from storage.codec import text
from storage.env import Txn

PREFIX = "L"


@dataclass(frozen=True)
class Hand:
    """One step of the lead's way between agents."""
    at: float
    agent: str | None          # who it went to (None: nobody on duty, the lead waits)
    why: str                   # assigned | passed | timeout | reassigned | accepted | registered | waiting
    by: str = ""


@dataclass(frozen=True)
class Lead:
    id: str
    customer: str              # E.164
    master: str                # the master the customer wrote to ("" for a registered lead)
    text: str                  # the first message
    created_ts: float = field(default_factory=time.time)
    status: str = "open"       # runtime/vocabulary.py LEAD_STATUSES
    agent: str | None = None
    assigned_ts: float | None = None
    accepted_ts: float | None = None
    first_reply_ts: float | None = None    # the agent's first relayed answer
    declined: tuple[str, ...] = ()         # agents who passed or let it time out: not offered again
    history: tuple[Hand, ...] = ()
    deal: str | None = None                # converted: the deal it became
    source: str = "message"                # message | opened | registered


def new_id(txn: Txn) -> str:
    return records.new_id(txn, PREFIX)


def key(lead_id: str) -> bytes | None:
    return records.key(lead_id, PREFIX)


def put(txn: Txn, lead: Lead) -> None:
    k = key(lead.id)
    if k is None:
        raise ValueError(f"not a lead id: {lead.id!r}")
    txn.put("leads", k, asdict(lead))
    txn.put("lead_index", _customer_prefix(lead.customer) + k, b"")


def get(txn: Txn, lead_id: str) -> Lead | None:
    k = key(lead_id) if isinstance(lead_id, str) else None
    raw = None if k is None else txn.get("leads", k)
    return None if raw is None else _decode(k, raw)


def of_customer(txn: Txn, customer: str) -> list[Lead]:
    """The customer's leads, oldest first."""
    prefix = _customer_prefix(customer)
    out = []
    for k, _ in txn.scan("lead_index", prefix=prefix):
        raw = txn.get("leads", k[len(prefix):])
        if raw is not None:
            out.append(_decode(k[len(prefix):], raw))
    return out


def all(txn: Txn, agent: str | None = None, status: str | None = None) -> list[Lead]:  # noqa: A001
    out = []
    for k, raw in txn.scan("leads"):
        lead = _decode(k, raw)
        if (agent is None or lead.agent == agent) and (status is None or lead.status == status):
            out.append(lead)
    return out


def last_assigned(txn: Txn) -> str:
    """The agent the round robin gave the last lead to ("" at first)."""
    return txn.get("lead_state", b"rr") or ""


def set_last_assigned(txn: Txn, agent: str) -> None:
    txn.put("lead_state", b"rr", agent)


def _customer_prefix(customer: str) -> bytes:
    return b"c" + text(customer) + b"\0"


def _decode(k: bytes, raw: dict) -> Lead:
    if not isinstance(raw, dict):
        raise records.CorruptRecord("leads", k, "not a map")
    history = tuple(records.build("leads", k, Hand, **h) for h in raw.get("history", ()))
    fields = {**raw, "history": history, "declined": tuple(raw.get("declined", ()))}
    return records.build("leads", k, Lead, **fields)
