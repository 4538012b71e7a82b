"""`agents report [--period month|year|all]`: the funnel per agent (agents/funnel.py), its commission
taken from the ledger by deals/accounts.py's rule for earnings (earned less clawbacks, by the agent's share)."""
from __future__ import annotations

import time

from agents.funnel import Funnel, funnel
from deals.accounts import PERIODS, earnings, period_start
from deals.book import DEFAULT_TZ
from deals.errors import DealError
from storage import agents as agents_store
from storage import deals as deals_store
from storage import leads as leads_store
from storage.env import Txn


def agents_report(txn: Txn, period: str = "month", now: float | None = None, tz: str = DEFAULT_TZ) -> list[Funnel]:
    """One funnel per registered agent over this month, this year or all time."""
    if period not in PERIODS:
        raise DealError(f"unknown period {period!r}; one of {', '.join(PERIODS)}")
    now = now or time.time()
    since = period_start(period, now, tz)
    leads, deals = leads_store.all(txn), deals_store.all(txn)
    out = []
    for a in agents_store.all(txn):
        got = earnings(txn, a.phone, period, now, tz)
        out.append(funnel(a.phone, leads, deals, got.earned - got.clawbacks, since, now + 1))
    return out
