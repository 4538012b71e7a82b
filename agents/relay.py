"""Relay bookkeeping: which agent a customer's messages go to, and whom an agent's `!r` answers.

From the moment an agent accepts a lead, the customer's messages (text and
media) are forwarded to that agent, prefixed with the customer's name or
number; before that they wait in the conversation and go with the lead
message. `!r +C TEXT` or `!r L-000001 TEXT` is sent to the customer from the
master (the agent's own number is never shown). Sending is the caller's
(through the outbox); these functions only say to whom.
"""
from __future__ import annotations

from agents.errors import LeadError
from runtime import phone
from storage import leads as leads_store
from storage.env import Txn
from storage.leads import Lead


def agent_for(txn: Txn, customer: str) -> Lead | None:
    """The customer's accepted lead, whose agent gets their messages (None: nobody yet, they wait)."""
    return next((lead for lead in reversed(leads_store.of_customer(txn, customer))
                 if lead.status == "accepted" and lead.agent), None)


def split_reply(args: str) -> tuple[str, str]:
    """"+971501234567 Hello there" or "L-000001 Hello" → (target, text); an empty text is refused."""
    target, _, text = (args or "").strip().partition(" ")
    if not target or not text.strip():
        raise LeadError("usage: !r +CUSTOMER TEXT or !r LEAD-ID TEXT")
    return target, text.strip()


def resolve(txn: Txn, agent: str, target: str) -> Lead:
    """The accepted lead of `agent` that `target` (a lead id or the customer's number) names."""
    if leads_store.key(target) is not None:
        lead = leads_store.get(txn, target)
        if lead is None:
            raise LeadError(f"no lead {target!r} (`!leads` lists yours)")
    else:
        try:
            customer = phone.normalize(target)
        except phone.BadPhone:
            raise LeadError(f"{target!r} is neither a lead id (L-000001) nor a customer's number") from None
        lead = agent_for(txn, customer)
        if lead is None:
            raise LeadError(f"{customer} has no accepted lead; accept one first (`!leads`)")
    if lead.status != "accepted" or lead.agent != agent:
        raise LeadError(f"lead {lead.id} ({lead.customer}) is not yours to answer"
                        + ("" if lead.agent == agent else " (it is another agent's)"))
    return lead


def forward_text(customer: str, name: str | None, text: str) -> str:
    """A customer's message as the agent reads it: who wrote, then what."""
    who = f"{name} ({customer})" if name else customer
    return f"{who}: {text}"
