"""The ledger operations the commands call: approve, reject, earnings, payouts, the ledger and its export.

Each takes a Store transaction (see deals/book.py); deals/ledger.py says
what the lines and statuses mean. Nothing is paid twice: a payout request
takes the approved, unpaid lines at that moment (one open request per
agent) and paying it marks exactly those lines paid, once.
"""
from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from deals import ledger
from deals.book import DEFAULT_TZ, entries, get_deal
from deals.errors import DealError, LedgerError
from deals.ledger import Earnings, Entry
from deals.money import show
from runtime import phone
from storage import ledger as ledger_store
from storage import payouts as payouts_store
from storage.env import Txn
from storage.payouts import Payout

PERIODS = ("month", "year", "all")
EXPORT_COLUMNS = ("id", "date", "kind", "status", "agent", "deal", "rule", "commission", "vat",
                  "agent_amount", "agency_amount", "plan", "referral", "refers_to", "payout", "note")


def approve(txn: Txn, ref: str, by: str = "", now: float | None = None) -> Entry:
    """`commission approve ID`: a pending commission line (or the deal whose line it is) approved."""
    entry = _pending(txn, ref)
    ledger_store.set_status(txn, entry.line.id, ledger.APPROVED, now or time.time(), by)
    return Entry(entry.line, ledger.APPROVED)


def reject(txn: Txn, ref: str, reason: str, by: str = "", now: float | None = None) -> Entry:
    """`commission reject ID --reason TEXT`: a pending commission line rejected; it never counts."""
    if not reason or not reason.strip():
        raise LedgerError("rejecting a commission needs a reason")
    entry = _pending(txn, ref)
    ledger_store.set_status(txn, entry.line.id, ledger.REJECTED, now or time.time(), by, reason.strip())
    return Entry(entry.line, ledger.REJECTED)


def earnings(txn: Txn, agent: str, period: str = "all", now: float | None = None,
             tz: str = DEFAULT_TZ) -> Earnings:
    """`commission earnings +A --period month|year|all`: approved − clawbacks − paid, with the lines behind it."""
    agent = _phone(agent)
    if period not in PERIODS:
        raise DealError(f"unknown period {period!r}; one of {', '.join(PERIODS)}")
    return ledger.earnings(agent, entries(txn, ledger_store.of_agent(txn, agent)),
                           since=period_start(period, now or time.time(), tz))


def request_payout(txn: Txn, agent: str, by: str = "", now: float | None = None) -> Payout:
    """`payout request +A`: the agent's approved, unpaid lines now, in one open request."""
    agent = _phone(agent)
    open_request = payouts_store.open_for(txn, agent)
    lines = ledger.payable(entries(txn, ledger_store.of_agent(txn, agent)))
    net = ledger.check_request(agent, lines, open_request.id if open_request else None)
    payout = Payout(id=payouts_store.new_id(txn), agent=agent, lines=tuple(e.line.id for e in lines), amount=net,
                    requested_ts=now or time.time(), requested_by=by)
    payouts_store.put(txn, payout)
    return payout


def pay(txn: Txn, payout_id: str, by: str = "", now: float | None = None) -> Payout:
    """`payout pay ID`: the request's lines marked paid and a payout line written; paying again is refused."""
    now = now or time.time()
    payout = payouts_store.get(txn, payout_id) if isinstance(payout_id, str) else None
    if payout is None:
        raise LedgerError(f"no payout request {payout_id!r} (ids look like P-000001; `payout list` shows them)")
    if payout.status == "paid":
        raise LedgerError(f"payout {payout.id} was already paid ({_date(payout.paid_ts)}, line {payout.payout_line})")
    for line_id in payout.lines:
        line = ledger_store.get(txn, line_id)
        status = ledger_store.status(txn, line)
        if status != ledger.APPROVED:   # a line is paid once, whatever happened in between
            raise LedgerError(f"payout {payout.id} cannot be paid: its line {line_id} is {status}")
        ledger_store.set_status(txn, line_id, ledger.PAID, now, by, payout=payout.id)
    line = ledger_store.append(txn, ledger.payout_line(ledger_store.new_id(txn), payout.agent, payout.id,
                                                       payout.amount, now, by))
    return payouts_store.mark_paid(txn, payout, now, by, line.id)


def payouts(txn: Txn, agent: str | None = None) -> list[Payout]:
    return payouts_store.all(txn, agent=_phone(agent) if agent else None)


def ledger_lines(txn: Txn, agent: str | None = None) -> list[Entry]:
    """`commission ledger [--agent +A]`: every line, oldest first, with its status now."""
    lines = ledger_store.of_agent(txn, _phone(agent)) if agent else ledger_store.all(txn)
    return entries(txn, lines)


def export_rows(txn: Txn, tz: str = DEFAULT_TZ) -> list[dict]:
    """`commission export --csv FILE`: one dict per line, keys EXPORT_COLUMNS, amounts as decimal strings."""
    rows = []
    for e in ledger_lines(txn):
        doc = ledger.entry_json(e)
        doc["date"] = dt.datetime.fromtimestamp(e.line.ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
        rows.append({c: ("" if doc.get(c) is None else doc[c]) for c in EXPORT_COLUMNS})
    return rows


def payout_json(p: Payout) -> dict:
    return {"id": p.id, "agent": p.agent, "amount": show(p.amount), "status": p.status, "lines": list(p.lines),
            "requested_ts": p.requested_ts, "paid_ts": p.paid_ts, "payout_line": p.payout_line}


def period_start(period: str, now: float, tz: str = DEFAULT_TZ) -> float:
    """The start of this month or year in the agency's time zone (0 for all)."""
    if period == "all":
        return 0.0
    local = dt.datetime.fromtimestamp(now, ZoneInfo(tz))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if period == "year":
        start = start.replace(month=1)
    return start.timestamp()


def _pending(txn: Txn, ref: str) -> Entry:
    """The line `ref` names: a commission line id, or a deal id (its standing earned line)."""
    ref = (ref or "").strip()
    if ledger_store.key(ref) is not None:
        line = ledger_store.get(txn, ref)
        if line is None:
            raise LedgerError(f"no commission line {ref!r}")
        entry = Entry(line, ledger_store.status(txn, line))
    else:
        deal = get_deal(txn, ref)
        deal_lines = entries(txn, ledger_store.of_deal(txn, deal.id))
        entry = ledger.live_earned(deal_lines) or next(
            (e for e in reversed(deal_lines) if e.line.kind == ledger.EARNED), None)
        if entry is None:
            raise LedgerError(f"deal {deal.id} has no commission line (it is {deal.stage})")
    ledger.check_decision(entry)
    return entry


def _phone(raw: str) -> str:
    try:
        return phone.normalize(raw)
    except phone.BadPhone as e:
        raise DealError(f"the agent: {e}") from None


def _date(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts, ZoneInfo(DEFAULT_TZ)).strftime("%Y-%m-%d")
