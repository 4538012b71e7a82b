"""Agents: the agency's brokers and referrers, keyed by E.164 phone.

Issue 16 wrote the minimal record (phone, name, added_ts); the agents issue
adds the rest with defaults, and codec ignores fields it does not know, so a
record written by either version reads back in the other. agents/registry.py
checks the values on the way in; this module only stores them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from storage.codec import text
from storage.env import Txn


@dataclass
class Agent:
    phone: str
    name: str
    added_ts: float = field(default_factory=time.time)
    kind: str = "employee"            # runtime/vocabulary.py AGENT_KINDS
    brn: str = ""                     # RERA broker card number; "" = none
    brn_expiry: str = ""              # YYYY-MM-DD; "" = none
    regions: list[str] = field(default_factory=list)
    specialties: list[str] = field(default_factory=list)
    plan: str = ""                    # a [[plan]] of the commission rules; "" = keeps 100 %
    on_duty: bool = True
    start_date: str = ""              # YYYY-MM-DD; "" = the day it was added
    brn_alerts: list[str] = field(default_factory=list)   # "EXPIRY:DAYS" alerts already sent


def add(txn: Txn, agent: Agent) -> bool:
    """False when the phone is already an agent (nothing changed)."""
    return txn.put("agents", text(agent.phone), agent, overwrite=False)


def put(txn: Txn, agent: Agent) -> None:
    """Write an existing agent's changed record."""
    txn.put("agents", text(agent.phone), agent)


def remove(txn: Txn, phone: str) -> bool:
    return txn.delete("agents", text(phone))


def get(txn: Txn, phone: str) -> Agent | None:
    return txn.get("agents", text(phone), Agent)


def all(txn: Txn) -> list[Agent]:  # noqa: A001
    return [a for _, a in txn.scan("agents", Agent)]


def any_agent(txn: Txn) -> bool:
    """Whether any agent is registered (agents/inbound.py: an agency without agents opens no leads)."""
    return txn.count("agents") > 0
