"""`whitecaves agents report`: the funnel per agent (deals/report.py), run in the admin gateway.

Here rather than in agents/commands.py because the commission column comes
from the ledger (deals/), which agents/ does not import.
"""
from __future__ import annotations

from commands.registry import CommandError, command
from deals.commands import commission_settings
from deals.errors import DealError
from deals.report import agents_report


@command("agents.report")
def report(gw, period: str = "month"):
    """Per agent: leads assigned, accepted, median time to accept and to first reply, deals, closed, commission"""
    try:
        with gw.store.read() as txn:
            rows = agents_report(txn, period)
    except DealError as e:
        raise CommandError(str(e), code=2) from None
    return {"period": period, "currency": commission_settings(gw.cfg).currency,
            "agents": [f.as_json() for f in rows]}
