"""The health commands: alerts, the health report, the HA monitor's live status, the dashboard.

Each is one function registered with `@command` (commands/registry.py); they
run in the admin gateway, reading the store or asking the HA monitor.
"""
from __future__ import annotations

import time

from balancing.quality import load_shares
from commands.registry import CommandError, command
from health import record
from storage import events, masters

MAX_ALERTS = 1000


@command("alerts.list")
def alerts_list(gw, since_s=None, limit=MAX_ALERTS):
    """Alerts of the last `since_s` seconds (all kept when None), oldest first"""
    if since_s is not None and (not isinstance(since_s, (int, float)) or since_s < 0):
        raise CommandError(f"since must be a duration >= 0, got {since_s!r}", code=2)
    since_ts = time.time() - since_s if since_s is not None else 0.0
    with gw.store.read() as txn:
        return record.alerts_since(txn, since_ts, limit=max(1, min(int(limit), MAX_ALERTS)))


def _health_reply(data) -> str:
    lines = [f"Health {data['score']:.0f}/100 ({data['grade']})"]
    for m in data.get("masters", []):
        up = m.get("uptime_pct")
        lines.append(f"{m['phone']}: uptime {'-' if up is None else f'{up:.1f}%'}, "
                     f"failovers {m.get('failovers', 0)}, restarts {m.get('restarts', 0)}")
    return "\n".join(lines)


@command("health.report", chat="health", reply=_health_reply, ack="Computing the health report…")
def health_report(gw):
    """The health report: score, grade, uptime and failovers per master"""
    with gw.store.read() as txn:
        return record.health_report(txn, time.time())


@command("health.status")
def health_status(gw):
    """The HA monitor's live view: health and heartbeat age of every master"""
    def then(status):
        if status is None:
            raise CommandError("the HA monitor did not answer; it may be restarting, try again")
        return status
    return gw.monitor_status(then)


@command("health.dashboard")
def health_dashboard(gw, events_limit=8):
    """One frame of `whitecaves dashboard`: masters, load shares, outbox depth, latest events"""
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
    return gw.monitor_status(then)
