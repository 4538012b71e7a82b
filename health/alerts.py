"""Alerts to the admins: levels and kinds per docs/architecture.md, "Facts about the parts", de-duplication
(the same kind for the same master at most once per `repeat_s`, the next one
carrying how many were held back), and the short text sent over WhatsApp."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

from health.policy import DEGRADED, FAILED, HEALTHY, Transition

CRITICAL, WARNING, INFO = "critical", "warning", "info"
LEVELS = (CRITICAL, WARNING, INFO)

KINDS: dict[str, str] = {
    "master_failed": CRITICAL,
    "failover_started": CRITICAL,
    "failover_failed": CRITICAL,
    "failover_paused": CRITICAL,    # too many failovers of one master: an admin must resume it
    "all_masters_down": CRITICAL,
    "queue_critical": CRITICAL,
    "record_quarantined": CRITICAL,  # a record did not fit its type (health/storage_alerts.py)
    "store_full": CRITICAL,          # the disk or the store's map is full: writes are refused
    "actor_hung": CRITICAL,         # a permanent actor stopped answering its probes: killed and restarted
    "master_degraded": WARNING,
    "stored_value_refused": WARNING,  # a stored master field fails its check: routed on a safe value
    "queue_warning": WARNING,
    "load_imbalance": WARNING,
    "offline_backlog": WARNING,    # messages that arrived while a master was away: nobody answered them
    "uptime_low": WARNING,
    "licence_expiring": WARNING,   # an agent's RERA card expires in 30 or 7 days (agents/timers.py)
    "master_recovered": INFO,
    "failover_completed": INFO,
    "rebalance": INFO,
    "store_room_again": INFO,      # writes succeed again after store_full: what was held is written
}

_TITLES = {kind: kind.replace("_", " ").capitalize() for kind in KINDS}
_ICONS = {CRITICAL: "\U0001F534", WARNING: "\U0001F7E0", INFO: "\U0001F7E2"}   # red, orange, green


@dataclass(frozen=True)
class Alert:
    ts: float
    level: str
    kind: str
    master: str | None   # None for daemon-wide alerts (queue, all masters down, imbalance)
    text: str
    repeats: int = 0     # same alerts held back by the gate since the last one sent
    subject: str | None = None   # what a daemon-wide alert is about (an actor): its own gate slot

    def to_dict(self) -> dict:
        return asdict(self)


def make_alert(kind: str, master: str | None, text: str, ts: float, subject: str | None = None) -> Alert:
    """An alert of `kind` with its level from the table; `subject` names what a daemon-wide
    alert is about (e.g. the hung actor), so two subjects are not one de-duplication slot."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}; valid: {', '.join(KINDS)}")
    return Alert(ts, KINDS[kind], kind, master, text, subject=subject)


class AlertGate:
    """Lets an alert through at most once per `repeat_s` per (kind, master, subject).

    A held-back alert is counted; the next one let through for that key
    carries the count in `repeats`. Times are the alerts' own `ts`; one older
    than the last sent one (a clock step back) is held back too.
    """

    def __init__(self, repeat_s: float = 300.0) -> None:
        self.repeat_s = repeat_s
        self.last_sent: dict[tuple[str, str | None, str | None], float] = {}
        self.held: dict[tuple[str, str | None, str | None], int] = {}

    def offer(self, alert: Alert) -> Alert | None:
        """The alert to send (with `repeats` set), or None when it is held back."""
        key = (alert.kind, alert.master, alert.subject)
        last = self.last_sent.get(key)
        if last is not None and alert.ts - last < self.repeat_s:
            self.held[key] = self.held.get(key, 0) + 1
            return None
        self.last_sent[key] = alert.ts
        return replace(alert, repeats=self.held.pop(key, 0))

    def to_dict(self) -> dict:
        return {"repeat_s": self.repeat_s,
                "keys": [[kind, master, ts, self.held.get((kind, master, subject), 0), subject]
                         for (kind, master, subject), ts in self.last_sent.items()]}

    @classmethod
    def from_dict(cls, data: dict) -> "AlertGate":
        gate = cls(float(data.get("repeat_s", 300.0)))
        for kind, master, ts, held, *subject in data.get("keys", []):   # no subject: stored before it
            key = (kind, master, subject[0] if subject else None)
            gate.last_sent[key] = float(ts)
            if held:
                gate.held[key] = int(held)
        return gate


def queue_alerts(depth: int, ts: float, warning_at: int = 1000,
                 critical_at: int = 5000) -> list[Alert]:
    """The outbox-depth alert for `depth`: critical at ≥ critical_at, warning at ≥ warning_at."""
    if depth >= critical_at:
        return [make_alert("queue_critical", None, f"outbox holds {depth} messages (≥ {critical_at})", ts)]
    if depth >= warning_at:
        return [make_alert("queue_warning", None, f"outbox holds {depth} messages (≥ {warning_at})", ts)]
    return []


def transition_alerts(transition: Transition) -> list[Alert]:
    """Alerts for a health transition: →failed, →degraded, failed/degraded→healthy."""
    t = transition
    if t.new == FAILED:
        return [make_alert("master_failed", t.phone, t.reason, t.ts)]
    if t.new == DEGRADED:
        return [make_alert("master_degraded", t.phone, t.reason, t.ts)]
    if t.new == HEALTHY and t.old in (FAILED, DEGRADED):
        return [make_alert("master_recovered", t.phone, f"back from {t.old}", t.ts)]
    return []


def all_down_alert(health: Mapping[str, str], ts: float) -> Alert | None:
    """Critical when no master is healthy or degraded and at least one has failed
    (all still 'unknown' is a start-up, not an outage)."""
    states = set(health.values())
    if FAILED in states and not states & {HEALTHY, DEGRADED}:
        return make_alert("all_masters_down", None,
                          f"no master can send ({len(health)} failed or unknown); messages wait in the outbox", ts)
    return None


def imbalance_alert(quality: float, ts: float, below: float = 70.0) -> Alert | None:
    if quality < below:
        return make_alert("load_imbalance", None, f"balance quality {quality:.0f} (< {below:.0f})", ts)
    return None


def uptime_alert(phone: str, uptime_pct: float | None, ts: float, below: float = 99.0) -> Alert | None:
    if uptime_pct is not None and uptime_pct < below:
        return make_alert("uptime_low", phone, f"uptime {uptime_pct:.2f}% (< {below:g}%)", ts)
    return None


def format_alert(alert: Alert) -> str:
    """One short line for WhatsApp, e.g.
    '🔴 CRITICAL · Master failed · +971505760056: 3 missed heartbeats (+4 repeats held back)'."""
    head = f"{_ICONS.get(alert.level, '')} {alert.level.upper()} · {_TITLES.get(alert.kind, alert.kind)}"
    if alert.master:
        head += f" · {alert.master}"
    text = f"{head}: {alert.text}" if alert.text else head
    if alert.repeats:
        text += f" (+{alert.repeats} repeat{'s' if alert.repeats > 1 else ''} held back)"
    return text.strip()
