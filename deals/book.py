"""The deal operations the chat and CLI commands call, each inside one Store write (or read) transaction.

    store.write(lambda txn: book.close(txn, "D-000001", by="+971500000001"))

Every function checks its input and raises DealError (or a subclass) with a
message for the user before changing anything; the transaction then rolls
back whatever it had written. Money-moving operations are idempotent: closing
a closed deal or cancelling a cancelled one changes nothing and says so
(`Outcome.changed`). The ledger side (approve, earnings, payouts) is in
deals/accounts.py. Who may run what (admins reopen, approve, pay) is the
command layer's check: these functions record `by`, they do not authorise.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from agents import desk as leads_desk
from agents import registry
from agents.errors import AgentError
from deals import ledger, payee, stages
from deals.commission import Result, calculate
from deals.errors import CommissionError, DealError
from deals.ledger import Entry
from deals.money import parse_decimal
from deals.rules import EMPTY, RuleSet, parse
from deals.settings import DEFAULT_VAT_PCT
from runtime import phone
from runtime.config import Leads as LeadSettings
from runtime.vocabulary import DEAL_STAGES, TRANSACTIONS
from storage import agents as agents_store
from storage import commission_rules as rules_store
from storage import deals as deals_store
from storage import ledger as ledger_store
from storage.deals import Deal
from storage.env import Txn

DEFAULT_TZ = "Asia/Dubai"
_parsed: dict[str, RuleSet] = {}   # rules text → parsed, so 100,000 closes parse the file once


@dataclass(frozen=True)
class Outcome:
    deal: Deal
    line: Entry | None     # the commission line the operation wrote or found (None: none)
    changed: bool          # False: the deal was already there; nothing was written


@dataclass(frozen=True)
class DealView:
    deal: Deal
    lines: tuple[Entry, ...]


# --- agents and rules ---------------------------------------------------------------------------

def add_agent(txn: Txn, agent: str, name: str, now: float | None = None, **details) -> agents_store.Agent:
    """An agent (agents/registry.py checks the details: kind, BRN, regions, plan, ...)."""
    try:
        return registry.add_agent(txn, agent, name, now=now, **details).agent
    except AgentError as e:
        raise DealError(str(e)) from None


def add_agent_checked(txn: Txn, agent: str, name: str, now: float | None = None, **details):
    """As add_agent, with the registry's warnings (an expired licence is accepted, and said)."""
    try:
        return registry.add_agent(txn, agent, name, now=now, **details)
    except AgentError as e:
        raise DealError(str(e)) from None


def import_rules(txn: Txn, text: str, by: str = "", now: float | None = None) -> RuleSet:
    """Validate the whole file (RuleError lists every fault), then put it in force."""
    ruleset = parse(text)
    rules_store.save(txn, text, by=by, ts=now)
    return ruleset


def rules_in_force(txn: Txn) -> RuleSet:
    """The newest imported rules (none imported: no rules, so every calculation says so)."""
    doc = rules_store.current(txn)
    if doc is None:
        return EMPTY
    if doc.text not in _parsed:
        _parsed.clear()
        _parsed[doc.text] = parse(doc.text)
    return _parsed[doc.text]


def calc(txn: Txn, price, property_type: str, transaction: str, agent: str | None = None,
         project: str | None = None, date: dt.date | None = None, vat_pct: Decimal = DEFAULT_VAT_PCT,
         tz: str = DEFAULT_TZ) -> Result:
    """`commission calc`: the commission a deal would earn today (or on `date`) under the rules in force."""
    if agent is not None:
        agent = _phone(agent, "the agent")
        _require_agent(txn, agent)
    return calculate(rules_in_force(txn), price, _type(property_type), transaction, agent=agent, project=project,
                     date=date or _today(time.time(), tz), vat_pct=vat_pct)


# --- deals --------------------------------------------------------------------------------------

def new_deal(txn: Txn, agent: str, customer: str, property: str, property_type: str, transaction: str,
             price, project: str | None = None, by: str = "", now: float | None = None,
             override: bool = False, protection_days: int = 30) -> Deal:
    """A deal at stage `lead`; prints as its id (D-000001).

    Refused when another agent holds the customer by first touch
    (agents/protection.py) unless an admin `override`s; the agent's accepted
    lead for the customer becomes `converted`.
    """
    agent, customer = _phone(agent, "the agent"), _phone(customer, "the customer")
    _require_agent(txn, agent)
    protected = None if override else leads_desk.may_deal(txn, agent, customer, now,
                                                          LeadSettings(protection_days=protection_days))
    if protected:
        raise DealError(protected)
    if not property or not property.strip():
        raise DealError("the property is required, e.g. --property \"Villa 12, Palm\"")
    if transaction not in TRANSACTIONS:
        raise DealError(f"unknown transaction {transaction!r}; one of {', '.join(TRANSACTIONS)}")
    try:
        amount = parse_decimal(price, "the price")
    except ValueError as e:
        raise DealError(str(e)) from None
    if amount <= 0:
        raise DealError(f"the price must be above 0, got {price}")
    now = now or time.time()
    deal = Deal(id=deals_store.new_id(txn), customer=customer, agent=agent, property=property.strip(),
                property_type=_type(property_type), transaction=transaction, price=amount,
                project=(project or "").strip() or None, created_ts=now, created_by=by,
                history=(deals_store.StageChange(at=now, by=by, from_stage=None, to_stage="lead"),))
    deals_store.put(txn, deal)
    leads_desk.converted(txn, customer, agent, deal.id, now, by)
    return deal


def set_stage(txn: Txn, deal_id: str, stage: str, by: str = "", now: float | None = None, reason: str = "",
              vat_pct: Decimal = DEFAULT_VAT_PCT, tz: str = DEFAULT_TZ) -> Outcome:
    """`deal stage ID STAGE`: closed and cancelled go through close and cancel (and the ledger)."""
    if stage == "closed":
        return close(txn, deal_id, by, now, vat_pct=vat_pct, tz=tz)
    if stage == "cancelled":
        return cancel(txn, deal_id, reason, by, now)
    if stage not in DEAL_STAGES:
        raise DealError(f"unknown stage {stage!r}; one of {', '.join(DEAL_STAGES)}")
    deal = stages.move(get_deal(txn, deal_id), stage, by, now or time.time(), reason)
    deals_store.put(txn, deal)
    return Outcome(deal, None, changed=True)


def close(txn: Txn, deal_id: str, by: str = "", now: float | None = None, vat_pct: Decimal = DEFAULT_VAT_PCT,
          tz: str = DEFAULT_TZ, rules: RuleSet | None = None, as_referral: bool = False) -> Outcome:
    """Close a deal and write its one `earned` line; closing it again changes nothing.

    The commission is calculated under the rules in force on the close date
    (`rules` overrides them, for callers that loaded them already) and divided
    by the agent's licence and plan (deals/payee.py): an unlicensed broker is
    refused unless `as_referral` (an admin's `--as-referral`).
    """
    now = now or time.time()
    deal = get_deal(txn, deal_id)
    standing = ledger.live_earned(entries(txn, ledger_store.of_deal(txn, deal.id)))
    if deal.stage == "closed":
        return Outcome(deal, standing, changed=False)
    closed = stages.close(deal, by, now)
    if standing is not None:   # cannot happen (cancel and reopen reverse it); never write a second one
        raise DealError(f"deal {deal.id} already has commission line {standing.line.id}")
    rules = rules or rules_in_force(txn)
    try:
        result = calculate(rules, deal.price, deal.property_type, deal.transaction,
                           agent=deal.agent, project=deal.project, date=_today(now, tz), vat_pct=vat_pct)
    except CommissionError as e:
        raise CommissionError(f"deal {deal.id} cannot close: {e}") from None
    _require_agent(txn, deal.agent)
    paid = payee.divide(deal, agents_store.get(txn, deal.agent), result, rules,
                        lambda: entries(txn, ledger_store.of_agent(txn, deal.agent)), now, tz, as_referral)
    line = ledger_store.append(txn, ledger.earned_line(ledger_store.new_id(txn), closed, result, now, by, paid))
    deals_store.put(txn, closed)
    return Outcome(closed, Entry(line, line.status), changed=True)


def cancel(txn: Txn, deal_id: str, reason: str, by: str = "", now: float | None = None) -> Outcome:
    """Cancel a deal (with a reason); a closed one's commission is clawed back. Cancelling twice changes nothing."""
    now = now or time.time()
    deal = get_deal(txn, deal_id)
    if deal.stage == "cancelled":
        return Outcome(deal, None, changed=False)
    cancelled = stages.cancel(deal, by, now, reason)
    line = _reverse(txn, deal, by, now, f"cancelled: {reason.strip()}")
    deals_store.put(txn, cancelled)
    return Outcome(cancelled, line, changed=True)


def reopen(txn: Txn, deal_id: str, by: str = "", now: float | None = None, reason: str = "") -> Outcome:
    """Back to `approval` (admins only); reopening a closed deal claws its commission back."""
    now = now or time.time()
    deal = get_deal(txn, deal_id)
    reopened = stages.reopen(deal, by, now, reason)
    line = _reverse(txn, deal, by, now, "reopened" + (f": {reason.strip()}" if reason.strip() else ""))
    deals_store.put(txn, reopened)
    return Outcome(reopened, line, changed=True)


def list_deals(txn: Txn, agent: str | None = None, stage: str | None = None) -> list[Deal]:
    if stage is not None and stage not in DEAL_STAGES:
        raise DealError(f"unknown stage {stage!r}; one of {', '.join(DEAL_STAGES)}")
    return deals_store.all(txn, agent=_phone(agent, "the agent") if agent else None, stage=stage)


def show_deal(txn: Txn, deal_id: str) -> DealView:
    """A deal with its commission lines (their ids are what `commission approve` takes)."""
    deal = get_deal(txn, deal_id)
    return DealView(deal, tuple(entries(txn, ledger_store.of_deal(txn, deal.id))))


def get_deal(txn: Txn, deal_id: str) -> Deal:
    deal = deals_store.get(txn, deal_id) if isinstance(deal_id, str) else None
    if deal is None:
        raise DealError(f"no deal {deal_id!r} (deal ids look like D-000001; `deal list` shows them)")
    return deal


def entries(txn: Txn, lines) -> list[Entry]:
    """Lines with their current status."""
    return [Entry(line, ledger_store.status(txn, line)) for line in lines]


def deal_json(deal: Deal) -> dict:
    return {"id": deal.id, "customer": deal.customer, "agent": deal.agent, "property": deal.property,
            "type": deal.property_type, "transaction": deal.transaction, "price": str(deal.price),
            "project": deal.project, "stage": deal.stage, "created_ts": deal.created_ts,
            "history": [{"at": c.at, "by": c.by, "from": c.from_stage, "to": c.to_stage, "reason": c.reason}
                        for c in deal.history]}


def _reverse(txn: Txn, deal: Deal, by: str, now: float, reason: str) -> Entry | None:
    """Undo the deal's standing commission: a clawback if it counted, else withdraw it (nothing was earned)."""
    standing = ledger.live_earned(entries(txn, ledger_store.of_deal(txn, deal.id)))
    if standing is None:
        return None
    claw = ledger.clawback_line(ledger_store.new_id(txn), standing, now, by, reason)
    if claw is None:
        ledger_store.set_status(txn, standing.line.id, ledger.WITHDRAWN, now, by, reason)
        return Entry(standing.line, ledger.WITHDRAWN)
    ledger_store.append(txn, claw)
    return Entry(claw, claw.status)


def _require_agent(txn: Txn, agent: str) -> None:
    if agents_store.get(txn, agent) is None:
        raise DealError(f"{agent} is not a registered agent (whitecaves agent add {agent} --name NAME)")


def _phone(raw: str, who: str) -> str:
    try:
        return phone.normalize(raw)
    except phone.BadPhone as e:
        raise DealError(f"{who}: {e}") from None


def _type(property_type: str) -> str:
    if not isinstance(property_type, str) or not property_type.strip():
        raise DealError("the property type is required (villa, apartment, townhouse, office, land, ...)")
    return property_type.strip().lower()


def _today(now: float, tz: str) -> dt.date:
    return dt.datetime.fromtimestamp(now, ZoneInfo(tz)).date()
