"""The RERA broker card (BRN): who needs one, whether it holds on a day, and when the admins are warned.

In Dubai a broker must hold a valid card to be paid commission; a referrer
(or anyone closed `--as-referral`) is paid only the referral share. The
functions are pure over the agent record (storage/agents.py).
"""
from __future__ import annotations

import datetime as dt

from storage.agents import Agent

LICENSED_KINDS = ("employee", "freelancer")
EXPIRING_WITHIN_DAYS = 30
ALERT_DAYS = (30, 7)          # the admins are told this many days before a card expires, once each


def needs_licence(agent: Agent) -> bool:
    return agent.kind in LICENSED_KINDS


def check(agent: Agent, on: dt.date) -> str | None:
    """None when `agent` may be paid commission on a deal closing on `on`; else the reason."""
    if not needs_licence(agent):
        return f"{agent.phone} is a {agent.kind}: only a referral share can be paid (close it --as-referral)"
    if not agent.brn:
        return f"{agent.phone} ({agent.name}) has no BRN (RERA broker card) on record"
    expiry = expiry_date(agent)
    if expiry is None:
        return f"{agent.phone} ({agent.name}) has BRN {agent.brn} but no expiry date on record"
    if expiry < on:
        return (f"{agent.phone} ({agent.name}): BRN {agent.brn} expired on {expiry.isoformat()}, "
                f"before the close date {on.isoformat()}")
    return None


def expiry_date(agent: Agent) -> dt.date | None:
    try:
        return dt.date.fromisoformat(agent.brn_expiry) if agent.brn_expiry else None
    except ValueError:
        return None


def days_left(agent: Agent, today: dt.date) -> int | None:
    expiry = expiry_date(agent)
    return None if expiry is None or not agent.brn else (expiry - today).days


def expiring(agents: list[Agent], today: dt.date, within: int = EXPIRING_WITHIN_DAYS) -> list[tuple[Agent, int]]:
    """Licensed agents whose card expires within `within` days (0 = today), soonest first, with the days left."""
    out = []
    for a in agents:
        left = days_left(a, today)
        if needs_licence(a) and left is not None and 0 <= left <= within:
            out.append((a, left))
    return sorted(out, key=lambda pair: (pair[1], pair[0].phone))


def alert_due(agent: Agent, today: dt.date, thresholds: tuple[int, ...] = ALERT_DAYS) -> int | None:
    """The alert to send now (30 or 7: the days-before it stands for), or None.

    Each threshold is sent once per expiry date (a renewed card is warned about
    afresh): `agent.brn_alerts` holds "EXPIRY:DAYS" for those sent. When a check
    finds several due at once (the daemon was down), only the nearest is sent.
    """
    left = days_left(agent, today)
    if not needs_licence(agent) or left is None or left < 0:
        return None
    due = [t for t in thresholds if left <= t and _mark(agent, t) not in agent.brn_alerts]
    if not due:
        return None
    return min(due)


def alerted(agent: Agent, days: int, thresholds: tuple[int, ...] = ALERT_DAYS) -> list[str]:
    """`brn_alerts` after the `days` alert was sent: it and every farther threshold count as sent."""
    marks = [_mark(agent, t) for t in thresholds if t >= days]
    return list(agent.brn_alerts) + [m for m in marks if m not in agent.brn_alerts]


def alert_text(agent: Agent, today: dt.date) -> str:
    left = days_left(agent, today)
    return (f"the BRN {agent.brn} of {agent.name} ({agent.phone}) expires on {agent.brn_expiry}, "
            f"in {left} day{'s' if left != 1 else ''}; deals closed after that pay no commission until it is renewed.")


def _mark(agent: Agent, days: int) -> str:
    return f"{agent.brn_expiry}:{days}"
