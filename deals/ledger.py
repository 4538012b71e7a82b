"""What the commission ledger's lines mean: pure rules over lines and their current statuses.

Design: a line (storage/ledger.py) is immutable: written once with its first
status. Everything that happens to it afterwards is appended to its status
log (approved, rejected, withdrawn, paid), and a reversal is a new line (a
`clawback`). So nothing is ever edited, and a line's history reads in order.

Kinds and statuses:
- `earned`: one per close of a deal; `pending_approval` when the commission is
  above its rule's threshold, else `approved` at once (and then it counts).
  pending → approved | rejected (by an admin) | withdrawn (the deal was
  cancelled or reopened before anyone approved it: nothing was earned).
- `clawback`: the exact negative of an earned line that counted (approved or
  paid), when its deal is cancelled or reopened; `approved` at once.
- `payout`: the money paid on a payout request, negative; `paid`.
- An approved earned or clawback line goes into the next payout request and
  becomes `paid` when that request is paid: it is then never taken again.

Balance = earned (approved or paid) − clawbacks − payouts, which is also
the sum of the approved, unpaid lines (what the next request would take).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from deals.commission import Result
from deals.errors import LedgerError
from deals.money import show
from storage.deals import Deal
from storage.ledger import Line

EARNED, CLAWBACK, PAYOUT = "earned", "clawback", "payout"
PENDING, APPROVED, REJECTED, WITHDRAWN, PAID = "pending_approval", "approved", "rejected", "withdrawn", "paid"
COUNTED = (APPROVED, PAID)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Entry:
    """A line and its status now."""
    line: Line
    status: str


@dataclass(frozen=True)
class Earnings:
    agent: str
    earned: Decimal       # approved (or since paid) earned lines
    clawbacks: Decimal    # positive: what was taken back
    paid: Decimal         # positive: what payouts paid
    balance: Decimal      # earned − clawbacks − paid
    lines: tuple[Entry, ...]

    def as_json(self) -> dict:
        return {"agent": self.agent, "earned": show(self.earned), "clawbacks": show(self.clawbacks),
                "paid": show(self.paid), "balance": show(self.balance),
                "lines": [entry_json(e) for e in self.lines]}


def earned_line(line_id: str, deal: Deal, result: Result, ts: float, by: str, payee=None) -> Line:
    """The earned line of a deal closing with `result`.

    `payee` (deals/payee.py) divides the agent's part between the agent and
    the agency by the agent's plan; without one the agent's part is the rule's
    "agent" split when it has one, else all of it.
    """
    agent_part = result.share_of("agent")
    agent_part = result.commission if agent_part is None else agent_part
    return Line(id=line_id, kind=EARNED, agent=deal.agent, deal=deal.id, rule=result.rule,
                commission=result.commission, vat=result.vat,
                agent_amount=agent_part if payee is None else payee.agent_amount,
                status=PENDING if result.needs_approval else APPROVED, ts=ts, by=by,
                agency_amount=ZERO if payee is None else payee.agency_amount,
                plan="" if payee is None else payee.plan, referral=False if payee is None else payee.referral,
                note="" if payee is None else payee.note)


def live_earned(entries: Iterable[Entry]) -> Entry | None:
    """A deal's earned line that still stands (not rejected, withdrawn or clawed back), if any."""
    entries = list(entries)
    reversed_ids = {e.line.refers_to for e in entries if e.line.kind == CLAWBACK}
    for e in entries:
        if e.line.kind == EARNED and e.status in (PENDING, APPROVED, PAID) and e.line.id not in reversed_ids:
            return e
    return None


def clawback_line(line_id: str, earned: Entry, ts: float, by: str, reason: str) -> Line | None:
    """The clawback of an earned line that counted; None when it never counted (see `reverse`)."""
    if earned.status not in COUNTED:
        return None
    e = earned.line
    return Line(id=line_id, kind=CLAWBACK, agent=e.agent, deal=e.deal, rule=e.rule, commission=-e.commission,
                vat=-e.vat, agent_amount=-e.agent_amount, status=APPROVED, ts=ts, by=by, refers_to=e.id,
                note=reason, agency_amount=-e.agency_amount, plan=e.plan, referral=e.referral)


def check_decision(entry: Entry) -> None:
    """Only a pending earned line can be approved or rejected; say why not otherwise."""
    if entry.line.kind != EARNED:
        raise LedgerError(f"{entry.line.id} is a {entry.line.kind} line; only earned commission is approved")
    if entry.status == PENDING:
        return
    why = {APPROVED: "it is already approved", PAID: "it is already approved and paid",
           REJECTED: "it was rejected", WITHDRAWN: "its deal was cancelled or reopened before approval"}
    raise LedgerError(f"commission {entry.line.id} cannot be decided: {why.get(entry.status, entry.status)}")


def payable(entries: Iterable[Entry]) -> list[Entry]:
    """Approved lines not yet paid: what a payout request takes."""
    return [e for e in entries if e.line.kind in (EARNED, CLAWBACK) and e.status == APPROVED]


def check_request(agent: str, lines: list[Entry], open_request: str | None) -> Decimal:
    """The net to pay for `lines`, or LedgerError when no request may be made now."""
    if open_request is not None:
        raise LedgerError(f"{agent} already has an open payout request {open_request}; it must be paid first")
    if not lines:
        raise LedgerError(f"{agent} has no approved, unpaid commission to request")
    net = sum((e.line.agent_amount for e in lines), ZERO)
    if net <= 0:
        raise LedgerError(f"nothing to pay {agent}: the approved, unpaid lines net {show(net)} "
                          "(clawbacks exceed new commission)")
    return net


def payout_line(line_id: str, agent: str, payout_id: str, net: Decimal, ts: float, by: str) -> Line:
    return Line(id=line_id, kind=PAYOUT, agent=agent, deal=None, rule=None, commission=-net, vat=ZERO,
                agent_amount=-net, status=PAID, ts=ts, by=by, payout=payout_id)


def earnings(agent: str, entries: Iterable[Entry], since: float = 0.0, until: float | None = None) -> Earnings:
    """An agent's earned, clawed back, paid and balance over lines dated in [since, until)."""
    behind, earned, clawbacks, paid = [], ZERO, ZERO, ZERO
    for e in entries:
        if e.line.agent != agent or e.line.ts < since or (until is not None and e.line.ts >= until):
            continue
        if e.line.kind == EARNED and e.status in COUNTED:
            earned += e.line.agent_amount
        elif e.line.kind == CLAWBACK and e.status in COUNTED:
            clawbacks -= e.line.agent_amount
        elif e.line.kind == PAYOUT:
            paid -= e.line.agent_amount
        else:
            continue    # pending, rejected, withdrawn: not (yet) money
        behind.append(e)
    return Earnings(agent=agent, earned=earned, clawbacks=clawbacks, paid=paid,
                    balance=earned - clawbacks - paid, lines=tuple(behind))


def agency_share(entries: Iterable[Entry], since: float, until: float) -> Decimal:
    """What the agency has had from one agent's plan splits in [since, until): standing earned lines
    (pending ones included, so two deals cannot both use the same room under the cap) less clawbacks;
    referral closes are outside the cap."""
    entries = list(entries)
    total = ZERO
    for e in entries:
        if e.line.referral or not since <= e.line.ts < until:
            continue
        if e.line.kind == EARNED and e.status in (PENDING, APPROVED, PAID):
            total += e.line.agency_amount
        elif e.line.kind == CLAWBACK:
            total += e.line.agency_amount   # negative
    return total


def entry_json(e: Entry) -> dict:
    line = e.line
    return {"id": line.id, "kind": line.kind, "status": e.status, "deal": line.deal, "agent": line.agent,
            "rule": line.rule, "commission": show(line.commission), "vat": show(line.vat),
            "agent_amount": show(line.agent_amount), "agency_amount": show(line.agency_amount),
            "plan": line.plan, "referral": line.referral, "ts": line.ts, "refers_to": line.refers_to,
            "payout": line.payout, "note": line.note}
