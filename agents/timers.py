"""The leads' clocks, run by the admin gateway's timers (actors/gateway.py): accept timeouts and licence alerts.

`expire_due` hands every offer not accepted within `[leads] accept_timeout_s`
to the next agent and queues what that says; `next_in` is when to look
again: at the earliest deadline, and at least every accept_timeout_s (an offer
made in a session, which cannot reach the gateway's timer, is then never late
by more than that). `licence_due` queues to every admin the licence alerts due
today (30 and 7 days before a card expires, each once: agents/licence.py).
"""
from __future__ import annotations

from agents import desk, registry
from agents.notify import queue_moved
from runtime.config import Leads
from storage import admins as admins_store
from storage import outbox
from storage.env import Txn

DAY_S = 86400.0
MIN_WAIT_S = 0.05


def expire_due(txn: Txn, now: float, settings: Leads = Leads()) -> int:
    """Hand on the offers that timed out; answers how many outbox entries were queued."""
    return queue_moved(txn, desk.expire(txn, now, settings))


def next_in(txn: Txn, now: float, settings: Leads = Leads()) -> float:
    """Seconds until the accept timer should fire again."""
    deadline = desk.next_deadline(txn, settings)
    wait = settings.accept_timeout_s if deadline is None else min(settings.accept_timeout_s, deadline - now)
    return max(MIN_WAIT_S, wait)


def licence_due(txn: Txn, now: float) -> int:
    """Queue today's licence alerts to the admins; answers how many messages were queued."""
    queued = 0
    for agent, days, text in registry.licence_alerts(txn, now):
        for admin in admins_store.all(txn):
            _, new = outbox.enqueue(txn, admin.phone, text, kind="alert",
                                    key=f"licence:{agent.phone}:{agent.brn_expiry}:{days}:{admin.phone}")
            queued += int(new)
    return queued
