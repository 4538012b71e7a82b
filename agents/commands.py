"""The agents and leads commands the CLI sends (`whitecaves agent|leads|lead ...`), run in the admin gateway.

Each is one Store transaction over agents/registry.py or agents/desk.py: a
refusal (AgentError) rolls it back, so nothing changes, and comes back to the
CLI as one line (exit 2: the input is wrong; 1: the state refuses it, e.g.
removing an agent who still holds leads). What a move says to agents and
admins is queued in the outbox in the same transaction (agents/notify.py),
then the balancer is told and the accept timer re-armed (actors/gateway.py).
"""
from __future__ import annotations

import time

import structlog

from agents import desk, registry, timers
from agents.errors import AgentError, LeadError
from agents.notify import queue_moved
from commands.registry import CommandError, UsageError, command
from runtime.config import Leads

BY = "cli"
log = structlog.get_logger("agents")


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


def _given(**values) -> dict:
    """The fields an edit changes: those given (None: not given; "" clears a BRN, plan, regions)."""
    return {k: v for k, v in values.items() if v is not None}


def _check_edit(txn, phone: str, **values) -> None:
    """Before anything runs: the agent exists, something is to change, each value passes `agent add`'s checks."""
    try:
        record = registry.get_agent(txn, phone)
        changes = _given(**values)
        if not changes:
            raise AgentError("nothing to change: give --name, --kind, --brn, --brn-expiry, --regions, "
                             "--specialties or --plan")
        registry.edit_fields(txn, record, changes)
    except AgentError as e:
        raise UsageError(str(e)) from None


@command("agent.edit", check=_check_edit)
def agent_edit(gw, phone: str, name: str | None = None, kind: str | None = None, brn: str | None = None,
               brn_expiry: str | None = None, regions=None, specialties=None, plan: str | None = None):
    """Change an agent's name, kind, BRN and expiry, regions, specialties or plan; the rest stays"""
    changes = _given(name=name, kind=kind, brn=brn, brn_expiry=brn_expiry, regions=regions,
                     specialties=specialties, plan=plan)

    def edit(txn):
        old = registry.get_agent(txn, phone)
        edited = registry.edit_agent(txn, phone, by=BY, **changes)
        # A new card or kind is checked at once, not at the next daily check: an alert due now goes now.
        alerts = timers.licence_due(txn, time.time()) if {"brn", "brn_expiry", "kind"} & set(changes) else 0
        return edited, registry.differences(old, edited.agent), alerts
    edited, changed, alerts = _write(gw, edit)
    if alerts:
        gw.poke_balancer("licence alert")
    if changed:
        log.info("agent_edited", agent=edited.agent.phone, by=BY, changes=changed)
    return {**registry.agent_json(edited.agent), "changed": changed, "warnings": list(edited.warnings)}


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

