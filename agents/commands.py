"""The agents and leads commands the CLI sends (`whitecaves agent|leads|lead ...`), run in the admin gateway.

Each is one Store transaction over agents/registry.py or agents/desk.py: a
refusal (AgentError) rolls it back, so nothing changes, and comes back to the
CLI as one line (exit 2: the input is wrong; 1: the state refuses it, e.g.
removing an agent who still holds leads). What a move says to agents and
admins is queued in the outbox in the same transaction (agents/notify.py),
then the balancer is told and the accept timer re-armed (actors/gateway.py).
"""
from __future__ import annotations

from agents import desk, registry
from agents.errors import AgentError, LeadError
from agents.notify import queue_moved
from commands.registry import CommandError, command
from runtime.config import Leads

BY = "cli"


def _refused(e: AgentError) -> CommandError:
    """State refusals (held leads, a live lead, not offered) exit 1; wrong input exits 2."""
    state = isinstance(e, LeadError) or "still holds" in str(e)
    return CommandError(str(e), code=1 if state else 2)


def _write(gw, fn, moved: bool = False):
    try:
        result = gw.store.write(fn)
    except AgentError as e:
        raise _refused(e) from None
    if moved:   # notices were queued, a lead may wait for an accept now
        gw.poke_balancer("lead notices")
        getattr(gw, "arm_leads", lambda: None)()
    return result


def _read(gw, fn):
    try:
        with gw.store.read() as txn:
            return fn(txn)
    except AgentError as e:
        raise _refused(e) from None


def _settings(gw) -> Leads:
    return gw.cfg.leads if getattr(gw, "cfg", None) is not None else Leads()


@command("agent.list")
def agent_list(gw):
    """The agents, with their licence's days left (expiring within 30 days marked)"""
    return [registry.agent_json(a) for a in _read(gw, registry.list_agents)]


@command("agent.show")
def agent_show(gw, phone: str):
    """One agent, with the leads they hold"""
    def show(txn):
        a = registry.get_agent(txn, phone)
        held = [desk.lead_json(lead) for lead in desk.list_leads(txn, agent=a.phone)
                if lead.status in desk.HELD]
        return {**registry.agent_json(a), "leads": held}
    return _read(gw, show)


@command("agent.remove")
def agent_remove(gw, phone: str):
    """Remove an agent (refused while they hold leads or open deals, naming them)"""
    return {"phone": _write(gw, lambda txn: registry.remove_agent(txn, phone)).phone}


@command("agent.duty")
def agent_duty(gw, phone: str, state: str):
    """Put an agent on or off duty; on duty, waiting leads are offered again"""
    def change(txn):
        agent = registry.set_duty(txn, phone, state)
        offered = desk.offer_waiting(txn, settings=_settings(gw)) if agent.on_duty else []
        queue_moved(txn, offered)
        return {"phone": agent.phone, "on_duty": agent.on_duty, "offered": [m.lead.id for m in offered]}
    return _write(gw, change, moved=True)


@command("lead.list")
def lead_list(gw, agent: str | None = None, status: str | None = None):
    """The leads, oldest first: [{"id", "customer", "master", "agent", "status", "created", "accepted"}]"""
    return [desk.lead_json(lead) for lead in _read(gw, lambda txn: desk.list_leads(txn, agent, status))]


@command("lead.open")
def lead_open(gw, customer: str, text: str = ""):
    """Open a lead for a customer who wrote before, offered at once"""
    def open_(txn):
        moved = desk.open_lead(txn, customer, text=text, by=BY, settings=_settings(gw))
        queue_moved(txn, moved)
        return desk.lead_json(moved.lead)
    return _write(gw, open_, moved=True)


@command("lead.assign")
def lead_assign(gw, customer: str, agent: str):
    """Give a customer's lead to an agent, accepted; first-touch protection moves to them"""
    return desk.lead_json(_write(gw, lambda txn: desk.assign_customer(txn, customer, agent, by=BY), moved=True))

