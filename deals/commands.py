"""The deals commands the CLI sends (`whitecaves deal|commission|payout|agent ...`), run in the admin gateway.

Each is a thin function over deals/book.py or deals/accounts.py inside ONE
Store transaction: a refusal (DealError) rolls that transaction back, so
nothing changes, and comes back to the CLI as one line with its exit status
(2: the input is wrong; 1: the input is fine but the deal or ledger refuses
it now, e.g. paying twice). The CLI is the home's owner: it may do
everything, admin operations included; what it did is recorded as by "cli".
Answers are plain JSON-ready data: amounts are decimal strings ("40000.00").
The chat side of the same operations is deals/chat_commands.py.
"""
from __future__ import annotations

import datetime as dt

from commands.registry import CommandError, command
from deals import accounts, book, settings
from deals.errors import DealError, LedgerError, StageError
from deals.ledger import entry_json
from deals.rules import rule_json

BY = "cli"


def refused(e: DealError) -> CommandError:
    """A DealError as the CLI's error: 1 when the state refuses it, 2 when the input is wrong."""
    return CommandError(str(e), code=1 if isinstance(e, (LedgerError, StageError)) else 2)


def commission_settings(cfg) -> settings.CommissionSettings:
    """The `[commission]` section of a runtime Config (None: the defaults) as Decimal settings."""
    if cfg is None:
        return settings.CommissionSettings()
    return settings.parse({"vat_pct": cfg.commission.vat_pct, "currency": cfg.commission.currency})


def _write(gw, fn):
    try:
        return gw.store.write(fn)
    except DealError as e:
        raise refused(e) from None


def _read(gw, fn):
    try:
        with gw.store.read() as txn:
            return fn(txn)
    except DealError as e:
        raise refused(e) from None


def outcome_json(gw, outcome: book.Outcome) -> dict:
    """A stage change's answer: the deal, whether anything changed, the commission line it wrote or found."""
    return {"deal": book.deal_json(outcome.deal), "changed": outcome.changed,
            "line": entry_json(outcome.line) if outcome.line else None,
            "currency": commission_settings(gw.cfg).currency}


def _id(value) -> str:
    return str(value or "").strip().upper()


# --- agents -------------------------------------------------------------------------------------

@command("agent.add")
def agent_add(gw, phone: str, name: str, kind: str = "employee", brn: str = "", brn_expiry: str = "",
              regions=(), specialties=(), plan: str = ""):
    """Register an agent, who may then use the deal chat commands (agents/registry.py checks the fields)"""
    added = _write(gw, lambda txn: book.add_agent_checked(txn, phone, name, kind=kind, brn=brn,
                                                         brn_expiry=brn_expiry, regions=regions,
                                                         specialties=specialties, plan=plan))
    agent = added.agent
    return {"phone": agent.phone, "name": agent.name, "added_ts": agent.added_ts, "kind": agent.kind,
            "warnings": list(added.warnings)}


# --- deals --------------------------------------------------------------------------------------

@command("deal.new")
def deal_new(gw, agent: str, customer: str, property: str, property_type: str, transaction: str, price: str,
             project: str | None = None, override: bool = False):
    """Record a new deal at stage lead; its id is D-000001 (`override`: past another agent's first touch)"""
    days = gw.cfg.leads.protection_days if getattr(gw, "cfg", None) is not None else 30
    deal = _write(gw, lambda txn: book.new_deal(txn, agent, customer, property, property_type, transaction,
                                                price, project=project, by=BY, override=bool(override),
                                                protection_days=days))
    return book.deal_json(deal)


@command("deal.stage")
def deal_stage(gw, deal_id: str, stage: str, reason: str = ""):
    """Move a deal to a stage (closed and cancelled go through the ledger)"""
    vat = commission_settings(gw.cfg).vat_pct
    outcome = _write(gw, lambda txn: book.set_stage(txn, _id(deal_id), stage, by=BY, reason=reason, vat_pct=vat))
    return outcome_json(gw, outcome)


@command("deal.close")
def deal_close(gw, deal_id: str, as_referral: bool = False):
    """Close a deal and write its one earned commission line; closing again changes nothing"""
    vat = commission_settings(gw.cfg).vat_pct
    return outcome_json(gw, _write(gw, lambda txn: book.close(txn, _id(deal_id), by=BY, vat_pct=vat,
                                                              as_referral=bool(as_referral))))


@command("deal.cancel")
def deal_cancel(gw, deal_id: str, reason: str):
    """Cancel a deal; a closed one's commission is clawed back"""
    return outcome_json(gw, _write(gw, lambda txn: book.cancel(txn, _id(deal_id), reason, by=BY)))


@command("deal.reopen")
def deal_reopen(gw, deal_id: str, reason: str = ""):
    """Reopen a closed or cancelled deal at approval; a closed one's commission is clawed back"""
    return outcome_json(gw, _write(gw, lambda txn: book.reopen(txn, _id(deal_id), by=BY, reason=reason)))


@command("deal.list")
def deal_list(gw, agent: str | None = None, stage: str | None = None):
    """The deals, oldest first, optionally of one agent or at one stage"""
    return [book.deal_json(d) for d in _read(gw, lambda txn: book.list_deals(txn, agent=agent, stage=stage))]


@command("deal.show")
def deal_show(gw, deal_id: str):
    """One deal with its history and its commission lines"""
    view = _read(gw, lambda txn: book.show_deal(txn, _id(deal_id)))
    return {**book.deal_json(view.deal), "lines": [entry_json(e) for e in view.lines]}


# --- commission ---------------------------------------------------------------------------------

@command("commission.rules_import")
def rules_import(gw, text: str):
    """Validate a commission rules file whole and put it in force"""
    ruleset = _write(gw, lambda txn: book.import_rules(txn, text, by=BY))
    return {"rules": [r.name for r in ruleset.rules]}


@command("commission.rules")
def rules_list(gw):
    """The commission rules in force"""
    return [rule_json(r) for r in _read(gw, book.rules_in_force).rules]


@command("commission.calc")
def commission_calc(gw, price: str, property_type: str, transaction: str, agent: str | None = None,
                    project: str | None = None, date: str | None = None):
    """The commission a deal would earn under the rules in force"""
    on = None
    if date:
        try:
            on = dt.date.fromisoformat(date)
        except ValueError:
            raise CommandError(f"--date must be YYYY-MM-DD, got {date!r}", code=2) from None
    s = commission_settings(gw.cfg)
    result = _read(gw, lambda txn: book.calc(txn, price, property_type, transaction, agent=agent,
                                             project=project, date=on, vat_pct=s.vat_pct))
    return {**result.as_json(), "currency": s.currency}


@command("commission.approve")
def commission_approve(gw, ref: str):
    """Approve a pending commission (its line id, or its deal's id)"""
    return entry_json(_write(gw, lambda txn: accounts.approve(txn, _id(ref), by=BY)))


@command("commission.reject")
def commission_reject(gw, ref: str, reason: str):
    """Reject a pending commission with a reason; it never counts"""
    return entry_json(_write(gw, lambda txn: accounts.reject(txn, _id(ref), reason, by=BY)))


@command("commission.earnings")
def commission_earnings(gw, agent: str, period: str = "all"):
    """An agent's approved commission minus clawbacks minus paid, with the lines behind it"""
    earnings = _read(gw, lambda txn: accounts.earnings(txn, agent, period))
    return {**earnings.as_json(), "period": period, "currency": commission_settings(gw.cfg).currency}


@command("commission.ledger")
def commission_ledger(gw, agent: str | None = None):
    """Every ledger line, oldest first, with its status now"""
    return [entry_json(e) for e in _read(gw, lambda txn: accounts.ledger_lines(txn, agent))]


@command("commission.export")
def commission_export(gw):
    """The ledger as rows for the accountant's CSV"""
    return {"columns": list(accounts.EXPORT_COLUMNS), "rows": _read(gw, accounts.export_rows)}


# --- payouts ------------------------------------------------------------------------------------

@command("payout.request")
def payout_request(gw, agent: str):
    """Put an agent's approved, unpaid commission into one payout request"""
    return accounts.payout_json(_write(gw, lambda txn: accounts.request_payout(txn, agent, by=BY)))


@command("payout.pay")
def payout_pay(gw, payout_id: str):
    """Mark a payout request paid; paying again is refused"""
    return accounts.payout_json(_write(gw, lambda txn: accounts.pay(txn, _id(payout_id), by=BY)))


@command("payout.list")
def payout_list(gw, agent: str | None = None):
    """The payout requests, oldest first"""
    return [accounts.payout_json(p) for p in _read(gw, lambda txn: accounts.payouts(txn, agent))]
