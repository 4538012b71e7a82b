"""First-touch protection: the agent who accepted a customer's lead (or registered the customer with
`!register-lead +C`) is the only one who may make a deal for that customer for `[leads] protection_days`.

Pure over the customer's leads (storage/leads.py). The newest touch wins, so
an admin's reassignment (`lead assign +C +A`) moves the protection with it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from storage.leads import Lead

DAY_S = 86400
TOUCHED = ("accepted", "converted")
DEFAULT_TZ = "Asia/Dubai"


@dataclass(frozen=True)
class Protection:
    agent: str
    until: float          # the moment it ends
    lead: str

    def until_date(self, tz: str = DEFAULT_TZ) -> str:
        """The day the protection ends (YYYY-MM-DD, the agency's time zone): the moment it ends falls in it."""
        return dt.datetime.fromtimestamp(self.until, ZoneInfo(tz)).date().isoformat()


def protection(leads: list[Lead], now: float, days: int) -> Protection | None:
    """Who holds the customer now, if anyone: the newest touch still within `days`."""
    touched = [lead for lead in leads if lead.status in TOUCHED and lead.agent and lead.accepted_ts is not None]
    if not touched or days <= 0:
        return None
    newest = max(touched, key=lambda lead: lead.accepted_ts)
    until = newest.accepted_ts + days * DAY_S
    return Protection(newest.agent, until, newest.id) if now < until else None


def may_deal(leads: list[Lead], agent: str, customer: str, now: float, days: int,
             tz: str = DEFAULT_TZ) -> str | None:
    """None when `agent` may make a deal for `customer` at `now`; else why not, naming who and until when."""
    held = protection(leads, now, days)
    if held is None or held.agent == agent:
        return None
    return (f"{customer} is protected for {held.agent} (first touch, lead {held.lead}) until "
            f"{held.until_date(tz)}; an admin can reassign the customer (lead assign {customer} {agent}) "
            "or override (deal new ... --override)")
