"""The leads' clocks, run by the admin gateway's timers (actors/gateway.py): accept timeouts and licence alerts.

`expire_due` hands every offer not accepted within `[leads] accept_timeout_s`
to the next agent and queues what that says; `next_in` is when to look
again: at the earliest deadline, and at least every accept_timeout_s (an offer
made in a session, which cannot reach the gateway's timer, is then never late
by more than that). `licence_due` records the licence alerts due today (30 and 7
days before a card expires, each once: agents/licence.py) as alerts of the
HA monitor's history, queued to every admin.
"""
from __future__ import annotations

import structlog

from agents import desk, registry
from agents.notify import queue_moved
from health.alerts import make_alert
from health.record import record_alert
from runtime.config import Leads
from storage.env import Txn

log = structlog.get_logger("agents")
LICENCE_ALERT = "licence_expiring"   # health/alerts.py KINDS

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
    """Record today's licence alerts and queue them to the admins; answers how many messages were queued.

    Each is a `licence_expiring` alert stored as the HA monitor stores its own
    (health/record.py record_alert: an `alert` event, so `whitecaves alerts`
    lists it, and one outbox message per admin), in the same transaction that
    marks it sent, so it goes once. Not through the monitor's de-duplication
    gate: the marks already make each alert go once per expiry date.
    """
    queued = 0
    for agent, days, text in registry.licence_alerts(txn, now):
        queued += record_alert(txn, make_alert(LICENCE_ALERT, None, text, now, subject=agent.phone))
        log.warning("alert", alert_level="warning", kind=LICENCE_ALERT, agent=agent.phone, days=days, text=text)
    return queued
