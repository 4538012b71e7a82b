"""What the HA monitor keeps in LMDB, and the reports read back from it.

Functions of one transaction (no actors): the HA monitor calls them inside
its writes; the admin gateway and the metrics endpoint read with them.

Kept per master, in the metrics database: its health tracker (to rebuild the
monitor after a restart), its health changes (ts, state) for uptime/MTTR,
trimmed to KEEP_S; counters restarts:master:+PHONE and
failovers:+PHONE:{started,completed,failed}; messages_in/out:+PHONE (written
by the sessions). Daemon-wide: the alert gate and the downsampled queue depth.
Every transition and every alert is also an event (storage/events.py).
"""
from __future__ import annotations

from balancing.quality import balance_quality, load_shares
from health import report
from health.alerts import Alert, AlertGate, format_alert
from health.policy import DEGRADED, FAILED, HealthTracker, Transition
from storage import admins, conversations, events, masters, metrics, outbox
from storage import health as health_store
from storage.env import Txn

DAY_S = 86400.0
MIN_OBSERVED_FOR_UPTIME_S = 3600.0   # uptime_low needs an hour of history
KEEP_S = 8 * DAY_S            # a little more than the 7-day report window
QUEUE_HISTORY_CAPACITY = 720  # buckets: bounded, whatever the uptime
FAILOVER_STATUSES = ("started", "completed", "failed")


# ------------------------------------------------------------------ writes (HA monitor)

def save_tracker(txn: Txn, tracker: HealthTracker) -> None:
    health_store.put_tracker(txn, tracker.phone, tracker.to_dict())


def load_trackers(txn: Txn) -> list[dict]:
    return health_store.all_trackers(txn)


def record_transition(txn: Txn, t: Transition, tracker: HealthTracker | None) -> None:
    """The new health on the master's record, an event, a change for uptime, the tracker."""
    masters.update(txn, t.phone, health=t.new)
    events.append(txn, "health", t.phone, old=t.old, new=t.new, reason=t.reason)
    note_state(txn, t.phone, t.new, t.ts)
    if tracker is not None:
        save_tracker(txn, tracker)


def note_state(txn: Txn, phone: str, state: str, ts: float) -> None:
    """Add (ts, state) to the master's change history unless it is the state in force.

    The monitor notes `unknown` when the daemon stops (no data while it is down,
    not uptime) and the restored state when it starts again."""
    changes = health_store.get_changes(txn, phone)
    if (changes[-1][1] if changes else "unknown") == state:
        return
    changes.append((ts, state))
    health_store.put_changes(txn, phone, report.trim_changes(changes, KEEP_S, ts))


def record_alert(txn: Txn, alert: Alert) -> int:
    """Store the alert and queue it to every admin; answers how many messages were queued.

    No `via`: the balancer routes it like any message, only through a master
    it can use (never a failed one, whose health is written before this);
    with none, it waits in the outbox."""
    event = events.append(txn, "alert", alert.master, level=alert.level, alert=alert.kind,
                          text=alert.text, repeats=alert.repeats)
    body = format_alert(alert)
    queued = 0
    for admin in admins.all(txn):
        _, new = outbox.enqueue(txn, admin.phone, body, kind="alert",
                                key=f"alert:{event.seq}:{admin.phone}")
        queued += int(new)
    return queued


def save_gate(txn: Txn, gate: AlertGate) -> None:
    health_store.put_alert_gate(txn, gate.to_dict())


def load_gate(txn: Txn, repeat_s: float) -> AlertGate:
    data = health_store.get_alert_gate(txn)
    gate = AlertGate.from_dict(data) if data else AlertGate(repeat_s)
    gate.repeat_s = repeat_s
    return gate


def save_queue_history(txn: Txn, history: report.HealthHistory) -> None:
    health_store.put_queue_depth(txn, history.to_dict())


def load_queue_history(txn: Txn, bucket_s: float) -> report.HealthHistory:
    data = health_store.get_queue_depth(txn)
    return (report.HealthHistory.from_dict(data) if data
            else report.HealthHistory(QUEUE_HISTORY_CAPACITY, bucket_s))


def count_failover(txn: Txn, phone: str | None, kind: str) -> None:
    status = kind.removeprefix("failover_")
    if phone and status in FAILOVER_STATUSES:
        metrics.incr(txn, f"failovers:{phone}:{status}")


# ------------------------------------------------------------------ reads (reports, metrics)

def alerts_since(txn: Txn, since_ts: float, limit: int = 1000) -> list[dict]:
    """Oldest first: [{"ts", "level", "kind", "master", "text", "repeats"}]."""
    out = [{"ts": e.ts, "level": e.data.get("level"), "kind": e.data.get("alert"), "master": e.master,
            "text": e.data.get("text", ""), "repeats": e.data.get("repeats", 0)}
           for e in events.recent(txn, limit=limit, kinds=("alert",), since_ts=since_ts)]
    return list(reversed(out))


def conversation_counts(txn: Txn) -> dict[str, int]:
    return conversations.count_by_master(txn)


def failover_counts(txn: Txn, phone: str) -> dict[str, int]:
    return {s: metrics.get(txn, f"failovers:{phone}:{s}") for s in FAILOVER_STATUSES}


def health_report(txn: Txn, now: float) -> dict:
    """{"score", "grade", "masters": [{"phone", "uptime_pct", "uptime_pct_7d", "mttr_s",
    "failovers", "restarts"}]} (the issue's formula; uptime None when never observed)."""
    records = [m for m in masters.all(txn) if m.desired == "running"]
    rows, completed, failed_fo = [], 0, 0
    for m in records:
        changes = health_store.get_changes(txn, m.phone)
        up24 = report.uptime_pct(changes, DAY_S, now)
        up7 = report.uptime_pct(changes, 7 * DAY_S, now)
        mttr = report.mttr_s(changes, 7 * DAY_S, now)
        fo = failover_counts(txn, m.phone)
        completed, failed_fo = completed + fo["completed"], failed_fo + fo["failed"]
        rows.append({"phone": m.phone, "health": m.health,
                     "uptime_pct": None if up24 is None else round(up24, 3),
                     "uptime_pct_7d": None if up7 is None else round(up7, 3),
                     "mttr_s": None if mttr is None else round(mttr, 3),
                     "failovers": fo["started"], "restarts": metrics.get(txn, f"restarts:master:{m.phone}")})
    counts = conversation_counts(txn)
    # Among the masters that can serve: a failed master already costs 20 points.
    serving = [m.phone for m in records if m.health != FAILED]
    quality = balance_quality(load_shares({p: counts.get(p, 0) for p in serving}).values())
    failed_pct = 100.0 * failed_fo / (completed + failed_fo) if completed + failed_fo else 0.0
    value = report.score(sum(1 for m in records if m.health == FAILED),
                         sum(1 for m in records if m.health == DEGRADED), quality, failed_pct)
    return {"score": round(value, 1), "grade": report.grade(value), "balance_quality": round(quality, 1),
            "failed_failover_pct": round(failed_pct, 1), "masters": rows}


def queue_depth(txn: Txn) -> int:
    return outbox.depth(txn)


MIN_CONVERSATIONS_FOR_BALANCE = 20   # below this, shares say nothing about the balancer


def periodic_alerts(txn: Txn, health: dict[str, str], now: float) -> list[Alert]:
    """Uptime below 99 % (24 h) per master, and load imbalance among the masters that can serve."""
    from health.alerts import imbalance_alert, uptime_alert
    out = []
    for phone in health:
        changes = health_store.get_changes(txn, phone)
        if not changes or now - changes[0][0] < MIN_OBSERVED_FOR_UPTIME_S:
            continue   # a master seen for minutes: one blip is not "uptime below 99 %"
        alert = uptime_alert(phone, report.uptime_pct(changes, DAY_S, now), now)
        if alert is not None:
            out.append(alert)
    serving = [p for p, h in health.items() if h in report.UP_STATES]
    counts = conversation_counts(txn)
    if len(serving) >= 2 and sum(counts.get(p, 0) for p in serving) >= MIN_CONVERSATIONS_FOR_BALANCE:
        alert = imbalance_alert(balance_quality(load_shares({p: counts.get(p, 0) for p in serving}).values()), now)
        if alert is not None:
            out.append(alert)
    return out
