"""Admin commands of the health area (health report, alerts, HA status, dashboard).

Registered with `@handler` from actors/admin.py; imported at the end of that module.
"""
from __future__ import annotations

import time

from actors.admin import CommandError, handler
from actors.balancer.quality import load_shares
from actors.health import record
from actors.messages import AdminRequest
from storage import events, masters

MAX_ALERTS = 1000


@handler("alerts.list")
def alerts_list(gw, since_s=None, limit=MAX_ALERTS):
    """Alerts of the last `since_s` seconds (all kept when None), oldest first."""
    if since_s is not None and (not isinstance(since_s, (int, float)) or since_s < 0):
        raise CommandError(f"since must be a duration >= 0, got {since_s!r}", code=2)
    since_ts = time.time() - since_s if since_s is not None else 0.0
    with gw.store.read() as txn:
        return record.alerts_since(txn, since_ts, limit=max(1, min(int(limit), MAX_ALERTS)))


@handler("health.report")
def health_report(gw):
    with gw.store.read() as txn:
        return record.health_report(txn, time.time())


def _monitor_status(gw, then):
    """Ask the HA monitor for its live view (heartbeat ages); `then(status or None)`."""
    def answered(answer):
        return then(answer.data if answer is not None and getattr(answer, "ok", False) else None)
    try:
        return gw.ask_peer("ha-monitor", lambda ref: AdminRequest("ha.status", ref=ref), answered, timeout=3.0)
    except CommandError:
        return then(None)   # the monitor is restarting: show what LMDB knows


@handler("health.status")
def health_status(gw):
    def then(status):
        if status is None:
            raise CommandError("the HA monitor did not answer; it may be restarting, try again")
        return status
    return _monitor_status(gw, then)


@handler("health.dashboard")
def health_dashboard(gw, events_limit=8):
    """One frame of `whitecaves dashboard`: masters, load shares, outbox depth, latest events."""
    def then(status):
        live = (status or {}).get("masters", {})
        with gw.store.read() as txn:
            records = masters.all(txn)
            counts = record.conversation_counts(txn)
            shares = load_shares({m.phone: counts.get(m.phone, 0) for m in records})
            rows = [{"phone": m.phone, "name": m.name, "desired": m.desired, "device_state": m.device_state,
                     "health": m.health, "conversations": counts.get(m.phone, 0),
                     "share_pct": round(shares.get(m.phone, 0.0), 1),
                     "heartbeat_age_s": live.get(m.phone, {}).get("heartbeat_age_s"),
                     "reason": live.get(m.phone, {}).get("reason")} for m in records]
            latest = [{"ts": e.ts, "kind": e.kind, "master": e.master, "data": e.data}
                      for e in events.recent(txn, limit=max(1, min(int(events_limit), 50)))]
            depth = record.queue_depth(txn)
        return {"ts": time.time(), "masters": rows, "outbox_depth": depth, "events": latest,
                "monitor": status is not None}
    return _monitor_status(gw, then)
