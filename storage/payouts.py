"""Payout requests ("P-000001"): the approved, unpaid ledger lines of one agent, taken at one moment.

A request is `open` until paid, then `paid` once (the only change it sees);
an agent's open request is also indexed under "open:<agent>" so a second one
is found without a scan.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal

from storage import records
from storage.codec import text
from storage.env import Txn

PREFIX = "P"
_OPEN = b"open:"


@dataclass(frozen=True)
class Payout:
    id: str
    agent: str
    lines: tuple[str, ...]     # ledger line ids
    amount: Decimal            # the agent's share of those lines, net
    status: str = "open"       # open | paid
    requested_ts: float = field(default_factory=time.time)
    requested_by: str = ""
    paid_ts: float | None = None
    paid_by: str = ""
    payout_line: str | None = None   # the ledger's payout line, once paid


def new_id(txn: Txn) -> str:
    return records.new_id(txn, PREFIX)


def put(txn: Txn, payout: Payout) -> None:
    record = asdict(payout)
    record["amount"] = str(payout.amount)
    record["lines"] = list(payout.lines)
    txn.put("payouts", b"p" + records.key(payout.id, PREFIX), record)
    if payout.status == "open":
        txn.put("payouts", _OPEN + text(payout.agent), payout.id)
    else:
        txn.delete("payouts", _OPEN + text(payout.agent))


def get(txn: Txn, payout_id: str) -> Payout | None:
    k = records.key(payout_id, PREFIX)
    raw = None if k is None else txn.get("payouts", b"p" + k)
    return None if raw is None else _decode(b"p" + k, raw)


def open_for(txn: Txn, agent: str) -> Payout | None:
    payout_id = txn.get("payouts", _OPEN + text(agent))
    return None if payout_id is None else get(txn, payout_id)


def mark_paid(txn: Txn, payout: Payout, ts: float, by: str, line_id: str) -> Payout:
    paid = replace(payout, status="paid", paid_ts=ts, paid_by=by, payout_line=line_id)
    put(txn, paid)
    return paid


def all(txn: Txn, agent: str | None = None) -> list[Payout]:  # noqa: A001
    out = [_decode(k, raw) for k, raw in txn.scan("payouts", prefix=b"p")]
    return [p for p in out if agent is None or p.agent == agent]


def _decode(k: bytes, raw: dict) -> Payout:
    if not isinstance(raw, dict):
        raise records.CorruptRecord("payouts", k, "not a map")
    fields = {**raw, "amount": records.decimal_field("payouts", k, raw.get("amount")),
              "lines": tuple(raw.get("lines", ()))}
    return records.build("payouts", k, Payout, **fields)
