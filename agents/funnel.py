"""The funnel per agent over a period: from leads offered to commission (`agents report`).

Pure over stored records: the leads (storage/leads.py), the deals
(storage/deals.py) and the agent's commission in the period, which the
caller takes from the ledger (deals/report.py does, since what counts as
earned is the ledger's rule, deals/ledger.py).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from decimal import Decimal

from runtime.money import show
from storage.deals import Deal
from storage.leads import Lead

OFFERED = ("assigned", "reassigned")


@dataclass(frozen=True)
class Funnel:
    agent: str
    leads_assigned: int            # leads offered (or given by an admin) to the agent in the period
    accepted: int                  # of those, taken by the agent
    median_accept_s: float | None  # offer → accept
    median_first_reply_s: float | None   # accept → the agent's first relayed answer
    deals: int                     # deals the agent made in the period
    closed: int                    # deals of the agent that closed in the period (and are closed now)
    commission: Decimal            # the agent's share earned in the period, less clawbacks

    def as_json(self) -> dict:
        return {"agent": self.agent, "leads_assigned": self.leads_assigned, "accepted": self.accepted,
                "median_accept_s": self.median_accept_s, "median_first_reply_s": self.median_first_reply_s,
                "deals": self.deals, "closed": self.closed, "commission": show(self.commission)}


def funnel(agent: str, leads: list[Lead], deals: list[Deal], commission: Decimal, since: float,
           until: float) -> Funnel:
    """The agent's funnel over leads and deals in [since, until)."""
    def within(ts: float | None) -> bool:
        return ts is not None and since <= ts < until

    offered = [lead for lead in leads
               if any(h.agent == agent and h.why in OFFERED and within(h.at) for h in lead.history)]
    taken = [lead for lead in offered if lead.agent == agent and lead.accepted_ts is not None]
    accept_s = [lead.accepted_ts - _offered_at(lead, agent) for lead in taken]
    reply_s = [lead.first_reply_ts - lead.accepted_ts for lead in taken if lead.first_reply_ts is not None]
    mine = [d for d in deals if d.agent == agent]
    closed = [d for d in mine if d.stage == "closed"
              and any(c.to_stage == "closed" and within(c.at) for c in d.history)]
    return Funnel(agent=agent, leads_assigned=len(offered), accepted=len(taken),
                  median_accept_s=_median(accept_s), median_first_reply_s=_median(reply_s),
                  deals=sum(1 for d in mine if within(d.created_ts)), closed=len(closed), commission=commission)


def _offered_at(lead: Lead, agent: str) -> float:
    """The last time the lead was offered to `agent` before they accepted it."""
    return max(h.at for h in lead.history if h.agent == agent and h.why in OFFERED)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
