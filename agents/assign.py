"""Which agent on duty a lead is offered to: round_robin, least_open or region ([leads] strategy).

Pure: given the agents on duty (storage/agents.py records), the customer's
message, how many leads each holds, the round robin's cursor and who already
declined this lead, `choose` names an agent or None (nobody left: the lead
waits and the caller tells the admins).
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from runtime.vocabulary import LEAD_STRATEGIES
from storage.agents import Agent

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text or "")]


def matches(agent: Agent, text: str) -> bool:
    """True when one of the agent's regions or specialties appears in the message as whole words
    ("Dubai Marina" matches "a flat in dubai marina?", "JVC" matches "jvc", "lease" does not match "leased")."""
    said = words(text)
    for phrase in list(agent.regions) + list(agent.specialties):
        want = words(phrase)
        if want and any(said[i:i + len(want)] == want for i in range(len(said) - len(want) + 1)):
            return True
    return False


def choose(strategy: str, on_duty: list[Agent], text: str, open_counts: Mapping[str, int],
           cursor: str = "", declined: tuple[str, ...] = ()) -> str | None:
    """The agent to offer the lead to (their phone), or None when no one on duty is left to ask."""
    if strategy not in LEAD_STRATEGIES:
        raise ValueError(f"unknown lead strategy {strategy!r}; one of {', '.join(LEAD_STRATEGIES)}")
    candidates = sorted((a for a in on_duty if a.on_duty and a.phone not in declined), key=lambda a: a.phone)
    if not candidates:
        return None
    if strategy == "region":
        matching = [a for a in candidates if matches(a, text)]
        candidates = matching or candidates
    if strategy == "least_open":
        fewest = min(open_counts.get(a.phone, 0) for a in candidates)
        candidates = [a for a in candidates if open_counts.get(a.phone, 0) == fewest]
    return next_after([a.phone for a in candidates], cursor)


def next_after(phones: list[str], cursor: str) -> str:
    """Round robin over sorted phones: the first after `cursor`, wrapping around."""
    return next((p for p in phones if p > cursor), phones[0])
