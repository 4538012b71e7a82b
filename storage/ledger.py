"""The commission ledger: append-only lines ("C-000001") and an append-only log of their statuses.

A line is written once and never changed (`put(..., overwrite=False)`); what
happens to it later (approved, rejected, paid, ...) is a new entry in
`ledger_status`, keyed by the line then a sequence number, so a line's
status is its last entry and its whole story stays readable. deals/ledger.py
says what the kinds and statuses mean.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from storage import records
from storage.codec import text, u64
from storage.env import Txn

PREFIX = "C"
AMOUNTS = ("commission", "vat", "agent_amount", "agency_amount")


@dataclass(frozen=True)
class Line:
    id: str
    kind: str                  # earned | clawback | payout
    agent: str
    deal: str | None           # None for a payout line
    rule: str | None
    commission: Decimal        # negative for clawback and payout lines
    vat: Decimal
    agent_amount: Decimal      # what of `commission` is the agent's, by the agent's plan (agents/plans.py)
    status: str                # the status the line was written with
    ts: float = field(default_factory=time.time)
    by: str = ""
    refers_to: str | None = None   # a clawback: the earned line it reverses
    payout: str | None = None      # a payout line: its request ("P-000001")
    note: str = ""
    agency_amount: Decimal = Decimal("0")   # the agency's share by the plan (a line written before plans: 0)
    plan: str = ""                 # the plan the split followed ("" = none: 100 % to the agent)
    referral: bool = False         # paid as a referral (referral_pct of the commission), outside the cap


@dataclass(frozen=True)
class StatusChange:
    line: str
    status: str
    ts: float
    by: str = ""
    reason: str = ""
    payout: str | None = None      # "paid": the request that paid it


class LineExists(RuntimeError):
    pass


def new_id(txn: Txn) -> str:
    return records.new_id(txn, PREFIX)


def key(line_id: str) -> bytes | None:
    return records.key(line_id, PREFIX)


def append(txn: Txn, line: Line) -> Line:
    """Write a new line, indexed by deal and agent; a line id written before is refused."""
    k = key(line.id)
    record = asdict(line)
    for name in AMOUNTS:
        record[name] = str(record[name])
    if not txn.put("ledger", k, record, overwrite=False):
        raise LineExists(f"ledger line {line.id} exists; lines are never rewritten")
    if line.deal is not None:
        txn.put("ledger_index", _deal_prefix(line.deal) + k, b"")
    txn.put("ledger_index", _agent_prefix(line.agent) + k, b"")
    return line


def get(txn: Txn, line_id: str) -> Line | None:
    k = key(line_id)
    raw = None if k is None else txn.get("ledger", k)
    return None if raw is None else _decode(k, raw)


def set_status(txn: Txn, line_id: str, status: str, ts: float, by: str = "", reason: str = "",
               payout: str | None = None) -> StatusChange:
    change = StatusChange(line=line_id, status=status, ts=ts, by=by, reason=reason, payout=payout)
    txn.put("ledger_status", key(line_id) + u64(txn.next_seq("ledger_status")), asdict(change),
            overwrite=False)
    return change


def history(txn: Txn, line_id: str) -> list[StatusChange]:
    """The line's status changes, oldest first."""
    return [records.build("ledger_status", k, StatusChange, **raw)
            for k, raw in txn.scan("ledger_status", prefix=key(line_id))]


def status(txn: Txn, line: Line) -> str:
    changes = history(txn, line.id)
    return changes[-1].status if changes else line.status


def of_deal(txn: Txn, deal_id: str) -> list[Line]:
    return _indexed(txn, _deal_prefix(deal_id))


def of_agent(txn: Txn, agent: str) -> list[Line]:
    return _indexed(txn, _agent_prefix(agent))


def all(txn: Txn) -> list[Line]:  # noqa: A001
    return [_decode(k, raw) for k, raw in txn.scan("ledger")]


def _indexed(txn: Txn, prefix: bytes) -> list[Line]:
    out = []
    for k, _ in txn.scan("ledger_index", prefix=prefix):
        line_key = k[len(prefix):]
        raw = txn.get("ledger", line_key)
        if raw is not None:
            out.append(_decode(line_key, raw))
    return out


def _deal_prefix(deal_id: str) -> bytes:
    return b"d" + text(deal_id.upper()) + b"\0"


def _agent_prefix(agent: str) -> bytes:
    return b"a" + text(agent) + b"\0"


def _decode(k: bytes, raw: dict) -> Line:
    if not isinstance(raw, dict):
        raise records.CorruptRecord("ledger", k, "not a map")
    fields = dict(raw)
    for name in AMOUNTS:
        fields[name] = records.decimal_field("ledger", k, raw.get(name, "0" if name == "agency_amount" else None))
    return records.build("ledger", k, Line, **fields)
