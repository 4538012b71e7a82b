"""What a customer's message means for leads: the first one opens a lead, later ones are relayed.

conversations/inbound.py calls `on_customer_message` (through `Rules.leads`,
which the session sets: conversations/ sits below agents/ and does not import
it) inside the session's one write transaction, after the message is stored.
So the lead, its offer and the outbox entries commit with the message, or
none of them does.

- The customer's first message to any master (the conversation is new) that
  is not a command opens a lead, offered at once (agents/desk.py); no agent
  on duty: the admins are told and the lead waits. An agency with no agents
  registered at all does not use leads: nothing is opened (and the admins
  are not told about every customer).
- Once an agent accepted the customer's lead, each message (text, or a
  media placeholder such as "[photo] caption") goes to that agent, prefixed
  with the customer's name or number; before the accept, messages wait in
  the conversation and go with the lead message.
"""
from __future__ import annotations

from agents import desk, relay
from agents.notify import queue_moved, queue_relay
from runtime.config import Leads as LeadSettings
from storage import agents as agents_store
from storage import conversations
from storage.env import Txn


def on_customer_message(txn: Txn, master: str, customer: str, msg: conversations.Message, first: bool,
                        now: float, settings: LeadSettings = LeadSettings(), name: str | None = None) -> int:
    """Open a lead or relay `msg` (already stored); answers how many outbox entries were queued."""
    if msg.text.strip().startswith("!"):
        return 0    # a command, answered by the chat dispatch
    lead = relay.agent_for(txn, customer)
    if lead is not None:
        body = relay.forward_text(customer, name, _with_media(msg))
        return int(queue_relay(txn, lead.agent, customer, body, key=f"relay:{master}:{msg.message_id}"))
    if first and agents_store.any_agent(txn):
        return queue_moved(txn, desk.on_first_message(txn, customer, master, msg.text, now, settings))
    return 0


def on_media_stored(txn: Txn, customer: str, message_id: str, path: str) -> int:
    """A relayed customer's file is now stored: tell the agent where (the placeholder went before)."""
    lead = relay.agent_for(txn, customer)
    if lead is None or not path:
        return 0
    body = relay.forward_text(customer, None, f"[file stored: {path}]")
    return int(queue_relay(txn, lead.agent, customer, body, key=f"relay-file:{customer}:{message_id}"))


def _with_media(msg: conversations.Message) -> str:
    return f"{msg.text} [file: {msg.media}]" if msg.media else msg.text
