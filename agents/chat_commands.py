"""The agents' chat commands: leads offered, taken, passed and answered over WhatsApp.

    !leads · !accept ID · !pass ID · !r +C TEXT (or !r ID TEXT) · !register-lead +C · !duty on|off · !my-deals

They run in the session, inside the inbound message's write transaction
(commands/registry.py, `runs_in="session"`), each operation in a nested
transaction: a refusal drops its writes and the sender reads why. They are
for registered agents and admins; a stranger is refused, and the attempt is
stored as an `agent_denied` event. What a move says to other people (the next
agent, the admins) is queued in the outbox in the same transaction
(agents/notify.py). An agent's answer (`!r`) goes to the customer from the
master that owns the conversation, never from the agent's own number, and is
recorded in the conversation as author `human` by the agent.
"""
from __future__ import annotations

import time

import structlog

from agents import desk, registry, relay
from agents.errors import AgentError
from agents.notify import master_of, queue_moved
from commands.registry import command
from runtime.config import Chat, Leads
from runtime.money import show
from storage import agents as agents_store
from storage import conversations, events, outbox
from storage import deals as deals_store

log = structlog.get_logger("agents")

AGENTS_ONLY = "This command is for the agency's agents."
MAX_LISTED = 15


def agents_only(call, word: str) -> str | None:
    """None when the sender may use agent commands, else the refusal (stored as an event)."""
    if call.is_admin or agents_store.get(call.txn, call.sender) is not None:
        return None
    log.warning("agent_command_denied", sender=call.sender, command=word, master=call.master)
    events.append(call.txn, "agent_denied", call.master, sender=call.sender, command=word)
    return AGENTS_ONLY


def _run(call, fn) -> tuple[object, str | None]:
    try:
        return call.txn.nested(fn), None
    except AgentError as e:
        return None, f"Not done: {e}"


def _settings(call) -> Leads:
    return call.config.leads if call.config is not None else Leads()


def _chat(call) -> Chat:
    return call.config.chat if call.config is not None else Chat()


def _lead_line(lead) -> str:
    return f"{lead.id} {lead.status}: {lead.customer}" + (f" ({lead.text[:60]})" if lead.text else "")


@command("lead.chat.list", runs_in="session", chat="leads", admin=False, usage="!leads")
def chat_leads(call) -> str:
    """Your leads offered or accepted (admins: every live lead)"""
    if (no := agents_only(call, "leads")) is not None:
        return no
    mine = desk.list_leads(call.txn, agent=None if call.is_admin else call.sender)
    live = [lead for lead in mine if lead.status in ("assigned", "accepted", "waiting")]
    if not live:
        return "No leads for you now."
    shown = list(reversed(live))[:MAX_LISTED]
    return "\n".join(_lead_line(lead) for lead in shown)


@command("lead.chat.accept", runs_in="session", chat="accept", admin=False, usage="!accept LEAD-ID")
def chat_accept(call, lead_id: str) -> str:
    """Take a lead offered to you: the customer's messages come to you from now on"""
    if (no := agents_only(call, "accept")) is not None:
        return no
    lead, no = _run(call, lambda txn: desk.accept(txn, lead_id.strip().upper(), call.sender))
    if no:
        return no
    said = [m.text for m in conversations.messages(call.txn, lead.customer)
            if m.direction == "in" and m.ts >= lead.created_ts and m.text != lead.text]
    since = "".join(f"\n> {t}" for t in said[-MAX_LISTED:])
    return (f"Lead {lead.id} is yours: {lead.customer}.{(' Since then:' + since) if since else ''}\n"
            f"Answer with !r {lead.id} TEXT (the customer sees the agency's number, not yours).")


@command("lead.chat.pass", runs_in="session", chat="pass", admin=False, usage="!pass LEAD-ID")
def chat_pass(call, lead_id: str) -> str:
    """Hand a lead offered to you to the next agent on duty"""
    if (no := agents_only(call, "pass")) is not None:
        return no

    def move(txn):
        moved = desk.pass_lead(txn, lead_id.strip().upper(), call.sender, settings=_settings(call))
        queue_moved(txn, moved)
        return moved
    moved, no = _run(call, move)
    if no:
        return no
    where = f"offered to {moved.lead.agent}" if moved.lead.status == "assigned" else "waiting for an agent"
    return f"Passed {moved.lead.id}: it is {where}."


@command("lead.chat.reply", runs_in="session", chat="r", admin=False, usage="!r +CUSTOMER TEXT or !r LEAD-ID TEXT")
def chat_reply(call, text: str) -> str:
    """Answer your lead's customer; it goes from the agency's number"""
    if (no := agents_only(call, "r")) is not None:
        return no
    try:
        target, body = relay.split_reply(text)
    except AgentError as e:
        return f"{str(e)[:1].upper()}{str(e)[1:]}"

    def send(txn):
        now = time.time()
        lead = desk.replied(txn, call.sender, target.upper() if target[:1].isalpha() else target, now)
        master = master_of(txn, lead.customer, lead.master) or call.master
        outbox.enqueue(txn, lead.customer, body, kind="relay", master=master)
        conv = conversations.add_message(txn, conversations.Message(
            customer=lead.customer, master=master, direction="out", text=body, ts=now, author="human",
            by=call.sender))
        conv.human_until = max(conv.human_until, now + _chat(call).human_mute_s)   # a person answers: bot quiet
        conversations.put(txn, conv)
        return lead
    lead, no = _run(call, send)
    return no or f"Sent to {lead.customer} ({lead.id})."


@command("lead.chat.register", runs_in="session", chat="register-lead", admin=False, usage="!register-lead +CUSTOMER")
def chat_register(call, customer: str) -> str:
    """Claim a customer you found yourself: first-touch protection is yours"""
    if (no := agents_only(call, "register-lead")) is not None:
        return no
    lead, no = _run(call, lambda txn: desk.register(txn, customer, call.sender, settings=_settings(call)))
    if no:
        return no
    days = _settings(call).protection_days
    return f"{lead.customer} is registered to you as lead {lead.id}; protected for {days} days."


@command("agent.chat.duty", runs_in="session", chat="duty", admin=False, usage="!duty on|off")
def chat_duty(call, state: str) -> str:
    """Go on or off duty (leads are offered to agents on duty)"""
    if (no := agents_only(call, "duty")) is not None:
        return no

    def change(txn):
        agent = registry.set_duty(txn, call.sender, state)
        if agent.on_duty:
            queue_moved(txn, desk.offer_waiting(txn, settings=_settings(call)))
        return agent
    agent, no = _run(call, change)
    return no or f"You are {'on' if agent.on_duty else 'off'} duty."


@command("agent.chat.deals", runs_in="session", chat="my-deals", admin=False, usage="!my-deals")
def chat_my_deals(call) -> str:
    """Your deals, newest first"""
    if (no := agents_only(call, "my-deals")) is not None:
        return no
    deals = deals_store.all(call.txn, agent=call.sender)
    if not deals:
        return "No deals yet. Record one with !new-deal."
    shown = list(reversed(deals))[:MAX_LISTED]
    return "\n".join(f"{d.id} {d.stage}: {d.property}, {d.property_type} {d.transaction} {show(d.price)}" for d in shown)
