"""Who is paid what of a closing deal's commission: the agent's licence and plan (issue 17).

deals/book.py's `close` calls `divide` once, before the earned line is
written. A broker (employee, freelancer) needs a BRN valid on the close date
(agents/licence.py), else the close is refused with the reason, unless an
admin closes it `--as-referral`; a referrer is always paid as a referral.
The agent's part of the commission is split with the agency by the agent's
plan, the agency's share within its yearly cap (agents/plans.py), counting
what the agency already had from this agent in the plan year (deals/ledger.py
`agency_share`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from agents import licence, plans
from agents.registry import start_of
from deals.commission import Result
from deals.errors import CommissionError
from deals.ledger import Entry, agency_share
from deals.rules import RuleSet
from storage.agents import Agent
from storage.deals import Deal


@dataclass(frozen=True)
class Payee:
    agent_amount: Decimal
    agency_amount: Decimal
    plan: str
    referral: bool
    note: str = ""


def divide(deal: Deal, agent: Agent, result: Result, rules: RuleSet, agent_lines: Callable[[], list[Entry]],
           now: float, tz: str, as_referral: bool = False) -> Payee:
    """The agent's and the agency's shares of `result`; CommissionError when the agent cannot be paid."""
    on = dt.datetime.fromtimestamp(now, ZoneInfo(tz)).date()
    plan = plans.named(rules.plans, agent.plan)
    if plan is None:
        raise CommissionError(f"deal {deal.id} cannot close: {agent.phone}'s plan {agent.plan!r} is not in the "
                              "commission rules in force (import rules with it, or change the agent's plan)")
    part = result.share_of("agent")
    part = result.commission if part is None else part
    if as_referral or not licence.needs_licence(agent):
        paid = min(plans.referral(result.commission, plan).agent, part)
        return Payee(paid, part - paid, plan.name, True, f"referral {plan.referral_pct}%")
    why = licence.check(agent, on)
    if why is not None:
        raise CommissionError(f"deal {deal.id} cannot close: {why}; an admin can close it --as-referral "
                              f"to pay the referral share ({plan.referral_pct}%) instead")
    if plan.agency_cap_per_year is None:   # no cap: the year's history does not matter (and is not read)
        share = plans.split(part, plan)
    else:
        start = plans.year_start(plan, start_of(agent, tz), on)
        since = dt.datetime.combine(start, dt.time(), ZoneInfo(tz)).timestamp()
        share = plans.split(part, plan, agency_share(agent_lines(), since, now + 1e-6))
    return Payee(share.agent, share.agency, plan.name, False)
