"""Agents: the agency's brokers, keyed by E.164 phone (the minimal registry of issue 16).

The agents issue extends the record (kind, licence, regions, plan, duty);
codec ignores fields it does not know, so records written now stay readable.
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


def add(txn: Txn, agent: Agent) -> bool:
    """False when the phone is already an agent (nothing changed)."""
    return txn.put("agents", text(agent.phone), agent, overwrite=False)


def get(txn: Txn, phone: str) -> Agent | None:
    return txn.get("agents", text(phone), Agent)


def all(txn: Txn) -> list[Agent]:  # noqa: A001
    return [a for _, a in txn.scan("agents", Agent)]
