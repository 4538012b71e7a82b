"""How a lead moves, as pure functions of the lead and the time `now`.

    open ─assign→ assigned ─accept→ accepted ─deal→ converted
                     │  pass / timeout → the next agent (assigned) or waiting
    waiting ─assign→ assigned                (an agent comes on duty, or an admin assigns)
    any but converted ─lose→ lost

Each move returns the changed lead with the step recorded in its history;
refusals raise LeadError with a message for the agent or admin.
"""
from __future__ import annotations

from dataclasses import replace

from agents.errors import LeadError
from storage.leads import Hand, Lead

LIVE = ("open", "assigned", "accepted", "waiting")    # a customer has at most one live lead


def offer(lead: Lead, agent: str | None, now: float, why: str = "assigned", by: str = "") -> Lead:
    """Give the lead to `agent` to accept (None: nobody is on duty, it waits)."""
    if agent is None:
        return replace(lead, status="waiting", agent=None, assigned_ts=None,
                       history=lead.history + (Hand(at=now, agent=None, why="waiting", by=by),))
    return replace(lead, status="assigned", agent=agent, assigned_ts=now,
                   history=lead.history + (Hand(at=now, agent=agent, why=why, by=by),))


def accept(lead: Lead, agent: str, now: float) -> Lead:
    if lead.status == "accepted" and lead.agent == agent:
        raise LeadError(f"you already accepted lead {lead.id}")
    if lead.status != "assigned" or lead.agent != agent:
        raise LeadError(f"lead {lead.id} is not offered to you" + (f" (it is {lead.status})" if lead.agent != agent
                                                                    else f" any more (it is {lead.status})"))
    return replace(lead, status="accepted", accepted_ts=now,
                   history=lead.history + (Hand(at=now, agent=agent, why="accepted", by=agent),))


def decline(lead: Lead, agent: str, now: float, why: str) -> Lead:
    """The agent passed (`!pass ID`) or let the accept time run out: it is not offered to them again."""
    if lead.status != "assigned" or lead.agent != agent:
        raise LeadError(f"lead {lead.id} is not offered to you (it is {lead.status})")
    return replace(lead, declined=lead.declined + (agent,),
                   history=lead.history + (Hand(at=now, agent=agent, why=why, by=agent if why == "passed" else ""),))


def timed_out(lead: Lead, now: float, accept_timeout_s: float) -> bool:
    return lead.status == "assigned" and lead.assigned_ts is not None and now - lead.assigned_ts >= accept_timeout_s


def deadline(lead: Lead, accept_timeout_s: float) -> float | None:
    """When an offered lead times out (None: it is not waiting for an accept)."""
    return lead.assigned_ts + accept_timeout_s if lead.status == "assigned" and lead.assigned_ts else None


def reassign(lead: Lead, agent: str, by: str, now: float) -> Lead:
    """An admin gives the lead to `agent`, accepted at once (`lead assign +C +A`)."""
    if lead.status in ("converted", "lost"):
        raise LeadError(f"lead {lead.id} is {lead.status}; open a new one (`lead open {lead.customer}`)")
    return replace(lead, status="accepted", agent=agent, assigned_ts=now, accepted_ts=now, first_reply_ts=None,
                   history=lead.history + (Hand(at=now, agent=agent, why="reassigned", by=by),))


def convert(lead: Lead, deal: str, now: float, by: str = "") -> Lead:
    return replace(lead, status="converted", deal=deal,
                   history=lead.history + (Hand(at=now, agent=lead.agent, why="converted", by=by),))


def lose(lead: Lead, now: float, by: str = "") -> Lead:
    if lead.status == "converted":
        raise LeadError(f"lead {lead.id} became deal {lead.deal}; cancel the deal instead")
    return replace(lead, status="lost", history=lead.history + (Hand(at=now, agent=lead.agent, why="lost", by=by),))


def replied(lead: Lead, now: float) -> Lead:
    """The agent's first relayed answer (the funnel's time to first reply); later ones change nothing."""
    return lead if lead.first_reply_ts is not None else replace(lead, first_reply_ts=now)


def lead_message(lead: Lead, waiting: list[str], accept_timeout_s: float) -> str:
    """What the agent gets: the customer, the message(s), the id and how to answer."""
    said = "\n".join(f"> {t}" for t in ([lead.text] + [t for t in waiting if t != lead.text]) if t)
    minutes = max(1, round(accept_timeout_s / 60))
    return (f"New lead {lead.id} from {lead.customer}:\n{said}\n"
            f"Reply !accept {lead.id} to take it (within {minutes} min) or !pass {lead.id}. "
            f"Once accepted, answer with !r {lead.id} TEXT.")
