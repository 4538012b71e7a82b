"""The lead operations the commands and actors call, each inside one Store transaction.

    notices = store.write(lambda t: desk.on_first_message(t, "+97150...", master, "Hi, a villa in JVC?",
                                                          now, cfg.leads))

Moves are agents/leads.py's, the choice of agent agents/assign.py's. An
operation returns the `Notice`s to send (to an agent, or to the admins when
`to` is None); the caller queues them in the outbox in the same transaction,
so a lead is never offered without its message, nor twice.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from agents import assign, leads, protection, relay
from agents.errors import LeadError
from agents.registry import get_agent, phone_of
from runtime import phone
from runtime.config import Leads as LeadSettings
from runtime.vocabulary import LEAD_STATUSES
from storage import admins as admins_store
from storage import agents as agents_store
from storage import conversations
from storage import leads as leads_store
from storage.env import Txn
from storage.leads import Lead

HELD = ("assigned", "accepted")


@dataclass(frozen=True)
class Notice:
    to: str | None      # an agent's phone; None: every admin
    text: str


@dataclass(frozen=True)
class Moved:
    lead: Lead
    notices: tuple[Notice, ...] = ()


def on_first_message(txn: Txn, customer: str, master: str, text: str, now: float,
                     settings: LeadSettings = LeadSettings()) -> Moved | None:
    """A customer's first message (not a command) to a master: a new lead, offered at once.

    None when the sender is not a customer (an agent or an admin) or already
    has a live lead. conversations/inbound.py calls it when the message opened
    the conversation.
    """
    if agents_store.get(txn, customer) is not None or admins_store.is_admin(txn, customer):
        return None
    if _live(txn, customer) is not None:
        return None
    return _create(txn, customer, master, text, now, settings, source="message")


def open_lead(txn: Txn, customer: str, master: str = "", text: str = "", by: str = "", now: float | None = None,
              settings: LeadSettings = LeadSettings()) -> Moved:
    """`lead open +C`: a lead for a customer who wrote before (refused while one is live)."""
    customer = _customer(customer)
    live = _live(txn, customer)
    if live is not None:
        raise LeadError(f"{customer} already has lead {live.id} ({live.status}" +
                        (f", {live.agent})" if live.agent else ")"))
    conv = conversations.get(txn, customer)
    return _create(txn, customer, master or (conv.master if conv else ""), text, now or time.time(), settings,
                   source="opened", by=by)


def accept(txn: Txn, lead_id: str, agent: str, now: float | None = None) -> Lead:
    """`!accept ID`: the offered agent takes the lead; the customer's messages go to them from now on."""
    lead = leads.accept(_lead(txn, lead_id), phone_of(agent), now or time.time())
    leads_store.put(txn, lead)
    return lead


def pass_lead(txn: Txn, lead_id: str, agent: str, now: float | None = None,
              settings: LeadSettings = LeadSettings()) -> Moved:
    """`!pass ID`: the lead goes to the next agent on duty (or waits)."""
    now = now or time.time()
    lead = leads.decline(_lead(txn, lead_id), phone_of(agent), now, "passed")
    return _offer(txn, lead, now, settings)


def expire(txn: Txn, now: float | None = None, settings: LeadSettings = LeadSettings()) -> list[Moved]:
    """Every offered lead not accepted within accept_timeout_s goes to the next agent. A timer calls it."""
    now = now or time.time()
    moved = []
    for lead in leads_store.all(txn, status="assigned"):
        if leads.timed_out(lead, now, settings.accept_timeout_s):
            moved.append(_offer(txn, leads.decline(lead, lead.agent, now, "timeout"), now, settings))
    return moved


def next_deadline(txn: Txn, settings: LeadSettings = LeadSettings()) -> float | None:
    """The earliest moment an offered lead times out: when the timer should call `expire` next."""
    times = [d for lead in leads_store.all(txn, status="assigned")
             if (d := leads.deadline(lead, settings.accept_timeout_s)) is not None]
    return min(times, default=None)


def offer_waiting(txn: Txn, now: float | None = None, settings: LeadSettings = LeadSettings()) -> list[Moved]:
    """Waiting leads offered again (an agent came on duty): call after `agent duty +A on`."""
    now = now or time.time()
    moved = [_offer(txn, lead, now, settings) for lead in leads_store.all(txn, status="waiting")]
    return [m for m in moved if m.lead.status == "assigned"]


def assign_customer(txn: Txn, customer: str, agent: str, by: str = "", now: float | None = None) -> Lead:
    """`lead assign +C +A` (admins): the customer's lead given to `agent`, accepted; protection moves to them."""
    customer, agent = _customer(customer), get_agent(txn, agent).phone
    now = now or time.time()
    live = _live(txn, customer)
    if live is None:
        conv = conversations.get(txn, customer)
        live = Lead(id=leads_store.new_id(txn), customer=customer, master=conv.master if conv else "", text="",
                    created_ts=now, source="assigned")
    lead = leads.reassign(live, agent, by, now)
    leads_store.put(txn, lead)
    return lead


def register(txn: Txn, customer: str, agent: str, now: float | None = None,
             settings: LeadSettings = LeadSettings()) -> Lead:
    """`!register-lead +C`: the agent claims a customer they found; refused when another agent holds them."""
    customer, agent = _customer(customer), get_agent(txn, agent).phone
    now = now or time.time()
    why = protection.may_deal(leads_store.of_customer(txn, customer), agent, customer, now, settings.protection_days)
    live = _live(txn, customer)
    if why is None and live is not None and live.status in HELD and live.agent != agent:
        why = f"{customer} is lead {live.id}, {live.status} by {live.agent}"
    if why:
        raise LeadError(why)
    if live is not None and live.status == "accepted":
        return live
    base = live or Lead(id=leads_store.new_id(txn), customer=customer, master="", text="", created_ts=now,
                        source="registered")
    lead = leads.reassign(base, agent, agent, now)
    leads_store.put(txn, lead)
    return lead


def may_deal(txn: Txn, agent: str, customer: str, now: float | None = None,
             settings: LeadSettings = LeadSettings()) -> str | None:
    """Whether `agent` may make a deal for `customer` now: None, or the reason (who, until YYYY-MM-DD)."""
    return protection.may_deal(leads_store.of_customer(txn, customer), agent, customer, now or time.time(),
                               settings.protection_days)


def converted(txn: Txn, customer: str, agent: str, deal: str, now: float | None = None, by: str = "") -> Lead | None:
    """A deal was made: the customer's live lead held by `agent` becomes `converted` (the funnel counts it)."""
    live = _live(txn, customer)
    if live is None or live.agent != agent or live.status != "accepted":
        return None
    lead = leads.convert(live, deal, now or time.time(), by)
    leads_store.put(txn, lead)
    return lead


def replied(txn: Txn, agent: str, target: str, now: float | None = None) -> Lead:
    """`!r TARGET TEXT`: the lead answered (whose customer gets the text); its first reply time is kept."""
    lead = leads.replied(relay.resolve(txn, phone_of(agent), target), now or time.time())
    leads_store.put(txn, lead)
    return lead


def list_leads(txn: Txn, agent: str | None = None, status: str | None = None) -> list[Lead]:
    if status is not None and status not in LEAD_STATUSES:
        raise LeadError(f"unknown status {status!r}; one of {', '.join(LEAD_STATUSES)}")
    return leads_store.all(txn, agent=phone_of(agent) if agent else None, status=status)


def lead_json(lead: Lead) -> dict:
    """`leads --json`: {"id", "customer", "master", "agent", "status", "created", "accepted"}."""
    return {"id": lead.id, "customer": lead.customer, "master": lead.master, "agent": lead.agent,
            "status": lead.status, "created": lead.created_ts, "accepted": lead.accepted_ts}


def _create(txn: Txn, customer: str, master: str, text: str, now: float, settings: LeadSettings,
            source: str, by: str = "") -> Moved:
    lead = Lead(id=leads_store.new_id(txn), customer=customer, master=master, text=text or "", created_ts=now,
                source=source)
    return _offer(txn, lead, now, settings, by)


def _offer(txn: Txn, lead: Lead, now: float, settings: LeadSettings, by: str = "") -> Moved:
    """Offer the lead to the next agent by strategy, or let it wait and tell the admins."""
    on_duty = [a for a in agents_store.all(txn) if a.on_duty]
    counts: dict[str, int] = {}
    for other in leads_store.all(txn):
        if other.status in HELD and other.agent:
            counts[other.agent] = counts.get(other.agent, 0) + 1
    agent = assign.choose(settings.strategy, on_duty, lead.text, counts, leads_store.last_assigned(txn), lead.declined)
    if agent is None:
        if lead.status == "waiting":
            return Moved(lead)
        lead = leads.offer(lead, None, now, by=by)
        leads_store.put(txn, lead)
        return Moved(lead, (Notice(None, f"Lead {lead.id} from {lead.customer} waits: no agent on duty "
                                         "can take it (`whitecaves lead assign` gives it to one)."),))
    lead = leads.offer(lead, agent, now, by=by)
    leads_store.put(txn, lead)
    leads_store.set_last_assigned(txn, agent)
    waiting = [m.text for m in conversations.messages(txn, lead.customer)
               if m.direction == "in" and m.ts >= lead.created_ts]
    return Moved(lead, (Notice(agent, leads.lead_message(lead, waiting, settings.accept_timeout_s)),))


def _live(txn: Txn, customer: str) -> Lead | None:
    return next((lead for lead in reversed(leads_store.of_customer(txn, customer)) if lead.status in leads.LIVE),
                None)


def _lead(txn: Txn, lead_id: str) -> Lead:
    lead = leads_store.get(txn, lead_id)
    if lead is None:
        raise LeadError(f"no lead {lead_id!r} (lead ids look like L-000001; `!leads` lists yours)")
    return lead


def _customer(raw: str) -> str:
    try:
        return phone.normalize(raw)
    except phone.BadPhone as e:
        raise LeadError(f"the customer: {e}") from None
