"""The deals chat commands: agents record and move their deals, admins approve and pay, over WhatsApp.

They run in the session, inside the inbound message's write transaction
(commands/registry.py, `runs_in="session"`): deal operations are store writes,
and the session knows who sent the message, which the operation records as
`by`. Each operation runs in a nested transaction (storage Txn.nested): a
refusal half-way drops its writes, the inbound message still commits, and
the sender reads why (the DealError's message).

Who may: the agent commands are for registered agents (storage/agents.py,
`whitecaves agent add`) and admins; an agent works on their own deals only.
`!approve`, `!reject` and `!pay` are for admins (`admin=True`). A stranger
is refused, and the attempt is stored as an `agent_denied` event.
"""
from __future__ import annotations

import shlex


from agents.chat_commands import agents_only   # the one agents-only check
from commands.registry import UsageError, command
from deals import accounts, book
from deals.commands import commission_settings
from deals.errors import DealError
from deals.money import show


MAX_LISTED = 15
# Phones type curly quotes; shlex only knows straight ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
NEW_DEAL_KEYS = ("price", "type", "transaction", "customer", "property", "project", "agent")
CALC_KEYS = ("price", "type", "transaction", "project", "agent")


def key_values(text: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, str]:
    """`price=2000000 property="Villa 12, Palm"` → {"price": "2000000", "property": "Villa 12, Palm"}.

    UsageError names the word that is not key=value, an unknown key, or a missing one."""
    try:
        words = shlex.split(text.translate(_QUOTES))
    except ValueError as e:   # an unclosed quote
        raise UsageError(f"{e}: close the quotes") from None
    found: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        key = key.strip().lower()
        if not eq or not key:
            raise UsageError(f"{word!r} is not key=value")
        if key not in allowed:
            raise UsageError(f"unknown key {key!r}; known: {', '.join(allowed)}")
        if key in found:
            raise UsageError(f"{key} given twice")
        found[key] = value.strip()
    missing = [k for k in required if not found.get(k)]
    if missing:
        raise UsageError(f"missing {', '.join(missing)}")
    return found


def _run(call, fn) -> tuple[object, str | None]:
    """fn(txn) in a nested transaction: (its result, None), or (None, why it was refused)."""
    try:
        return call.txn.nested(fn), None
    except DealError as e:
        return None, f"Not done: {e}"


def _own_deal(txn, call, deal_id: str) -> str:
    """The deal id, upper-cased; DealError when an agent (not an admin) names another agent's deal."""
    deal = book.get_deal(txn, deal_id.strip().upper())
    if not call.is_admin and deal.agent != call.sender:
        raise DealError(f"deal {deal.id} is not yours")
    return deal.id


def _deal_line(d) -> str:
    project = f" ({d.project})" if d.project else ""
    return f"{d.id} {d.stage}: {d.property}{project}, {d.property_type} {d.transaction} {show(d.price)}"


def _currency(call) -> str:
    return commission_settings(call.config).currency


def _protection_days(call) -> int:
    return call.config.leads.protection_days if call.config is not None else 30


def _vat(call):
    return commission_settings(call.config).vat_pct


# --- agents (and admins) ------------------------------------------------------------------------

@command("deal.chat.new", runs_in="session", chat="new-deal", admin=False,
         usage='!new-deal price=2000000 type=villa transaction=sale customer=+C property="Villa 12, Palm" '
               '[project=NAME]')
def chat_new_deal(call, text: str = "") -> str:
    """Record a new deal (agents)"""
    if (no := agents_only(call, "new-deal")) is not None:
        return no
    kv = key_values(text, NEW_DEAL_KEYS, ("price", "type", "transaction", "customer", "property"))
    if kv.get("agent") and not call.is_admin:
        raise UsageError("agent= is for admins; your deals are your own")
    agent = kv.get("agent") or call.sender
    deal, no = _run(call, lambda txn: book.new_deal(txn, agent, kv["customer"], kv["property"], kv["type"],
                                                    kv["transaction"], kv["price"], project=kv.get("project"),
                                                    by=call.sender, protection_days=_protection_days(call)))
    return no or f"Deal {deal.id} recorded at stage lead: {_deal_line(deal)}, {_currency(call)}"


@command("deal.chat.list", runs_in="session", chat="deals", admin=False, usage="!deals")
def chat_deals(call) -> str:
    """Your deals (admins: every deal), newest first"""
    if (no := agents_only(call, "deals")) is not None:
        return no
    deals = book.list_deals(call.txn, agent=None if call.is_admin else call.sender)
    if not deals:
        return "No deals yet. Record one with !new-deal."
    shown = list(reversed(deals))[:MAX_LISTED]
    more = f"\n… and {len(deals) - len(shown)} older (whitecaves deal list)" if len(deals) > len(shown) else ""
    return "\n".join(_deal_line(d) for d in shown) + more


@command("deal.chat.stage", runs_in="session", chat="stage", admin=False, usage="!stage ID STAGE [REASON]")
def chat_stage(call, deal_id: str, stage: str, text: str = "") -> str:
    """Move your deal to a stage (lead, interested, offer, negotiation, inspection, approval, closed, cancelled)"""
    if (no := agents_only(call, "stage")) is not None:
        return no
    outcome, no = _run(call, lambda txn: book.set_stage(txn, _own_deal(txn, call, deal_id), stage.lower(),
                                                        by=call.sender, reason=text, vat_pct=_vat(call)))
    return no or _outcome_text(call, outcome)


@command("deal.chat.close", runs_in="session", chat="close-deal", admin=False, usage="!close-deal ID")
def chat_close(call, deal_id: str) -> str:
    """Close your deal: its commission is calculated and recorded once"""
    if (no := agents_only(call, "close-deal")) is not None:
        return no
    outcome, no = _run(call, lambda txn: book.close(txn, _own_deal(txn, call, deal_id), by=call.sender,
                                                    vat_pct=_vat(call)))
    return no or _outcome_text(call, outcome)


def _outcome_text(call, outcome: book.Outcome) -> str:
    deal, line, cur = outcome.deal, outcome.line, _currency(call)
    if not outcome.changed:
        already = f"; its commission line {line.line.id} stands ({line.status})" if line else ""
        return f"Deal {deal.id} was already {deal.stage}: nothing changed{already}."
    text = f"Deal {deal.id} is now {deal.stage}."
    if line is not None and line.line.kind == "earned" and line.status != "withdrawn":
        text += (f" Commission {line.line.id}: {show(line.line.commission)} {cur} + VAT {show(line.line.vat)}"
                 f" ({line.line.rule}), {line.status.replace('_', ' ')}.")
    elif line is not None and line.line.kind == "clawback":
        text += f" Commission clawed back: {line.line.id} {show(line.line.agent_amount)} {cur}."
    elif line is not None:
        text += f" Its pending commission {line.line.id} was withdrawn."
    return text


@command("deal.chat.calc", runs_in="session", chat="calc", admin=False,
         usage="!calc price=2000000 type=villa transaction=sale [project=NAME]")
def chat_calc(call, text: str = "") -> str:
    """What a deal would earn under the rules in force"""
    if (no := agents_only(call, "calc")) is not None:
        return no
    kv = key_values(text, CALC_KEYS, ("price", "type", "transaction"))
    agent = kv.get("agent") or (None if call.is_admin else call.sender)
    result, no = _run(call, lambda txn: book.calc(txn, kv["price"], kv["type"], kv["transaction"], agent=agent,
                                                  project=kv.get("project"), vat_pct=_vat(call)))
    if no:
        return no
    cur = _currency(call)
    lines = [f"{result.rule}: commission {show(result.commission)} {cur} + VAT {show(result.vat)} = "
             f"{show(result.total)} {cur}"]
    lines += [f"  {to}: {show(amount)}" for to, amount in result.splits]
    if result.needs_approval:
        lines.append("Above the rule's threshold: an admin approves it.")
    return "\n".join(lines)


@command("deal.chat.earnings", runs_in="session", chat="my-earnings", admin=False,
         usage="!my-earnings [month|year|all]")
def chat_earnings(call, period: str = "all") -> str:
    """Your approved commission minus clawbacks minus paid"""
    if (no := agents_only(call, "my-earnings")) is not None:
        return no
    e, no = _run(call, lambda txn: accounts.earnings(txn, call.sender, period.lower()))
    if no:
        return no
    cur = _currency(call)
    lines = [f"Your earnings ({period.lower()}): earned {show(e.earned)} {cur}, clawed back {show(e.clawbacks)}, "
             f"paid {show(e.paid)}; balance {show(e.balance)} {cur}."]
    lines += [f"  {x.line.id} {x.line.kind} {x.line.deal or x.line.payout or ''} {show(x.line.agent_amount)} "
              f"{x.status}" for x in e.lines[-MAX_LISTED:]]
    return "\n".join(lines)


@command("deal.chat.request", runs_in="session", chat="request-payment", admin=False, usage="!request-payment")
def chat_request_payment(call) -> str:
    """Ask to be paid your approved, unpaid commission"""
    if (no := agents_only(call, "request-payment")) is not None:
        return no
    p, no = _run(call, lambda txn: accounts.request_payout(txn, call.sender, by=call.sender))
    return no or (f"Payout request {p.id}: {show(p.amount)} {_currency(call)} for {len(p.lines)} line(s) "
                  f"({', '.join(p.lines)}). An admin pays it with !pay {p.id}.")


# --- admins -------------------------------------------------------------------------------------

@command("deal.chat.approve", runs_in="session", chat="approve", usage="!approve ID")
def chat_approve(call, ref: str) -> str:
    """Approve a pending commission (its line id or its deal's id)"""
    e, no = _run(call, lambda txn: accounts.approve(txn, ref.strip().upper(), by=call.sender))
    return no or (f"Approved {e.line.id} (deal {e.line.deal}, {e.line.agent}): "
                  f"{show(e.line.commission)} {_currency(call)} + VAT {show(e.line.vat)}.")


@command("deal.chat.reject", runs_in="session", chat="reject", usage="!reject ID REASON")
def chat_reject(call, ref: str, text: str) -> str:
    """Reject a pending commission, with a reason"""
    e, no = _run(call, lambda txn: accounts.reject(txn, ref.strip().upper(), text, by=call.sender))
    return no or f"Rejected {e.line.id} (deal {e.line.deal}, {e.line.agent}): {text.strip()}."


@command("deal.chat.pay", runs_in="session", chat="pay", usage="!pay ID")
def chat_pay(call, payout_id: str) -> str:
    """Mark a payout request paid (once)"""
    p, no = _run(call, lambda txn: accounts.pay(txn, payout_id.strip().upper(), by=call.sender))
    return no or f"Paid {p.id}: {show(p.amount)} {_currency(call)} to {p.agent} (ledger line {p.payout_line})."
