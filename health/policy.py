"""Health of one master from its heartbeats and device states (docs/architecture.md, "Device states").

States: unknown (no heartbeat yet) → healthy; degraded after `degraded_after`
missed heartbeats, failed after `failed_after`, where
missed = floor((now − last heartbeat − grace_s) / heartbeat_s). A dead device
state (logged_out, banned, outdated) or the supervisor giving up fails the
master at once.

Failed is sticky: only a heartbeat while the device is 'connected' brings it
back to healthy (a recovery). A transient device state (disconnected,
connecting, replaced, pairing) leaves health alone — the session is alive and
reconnecting; routing should still look at the device state for `can_send`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from runtime import vocabulary

UNKNOWN, HEALTHY, DEGRADED, FAILED = vocabulary.HEALTH_STATES
HEALTH_STATES = vocabulary.HEALTH_STATES

# The monitor also hears "supervisor_gave_up": the session's restarts ran out (not a device state).
GAVE_UP = "supervisor_gave_up"
DEVICE_STATES = vocabulary.DEVICE_STATES + (GAVE_UP,)
DEAD_DEVICE_STATES = frozenset(vocabulary.DEAD_DEVICE_STATES + (GAVE_UP,))

# What recovery_action() answers.
NONE, RESTART, WAIT, MANUAL = "none", "restart", "wait", "manual"


@dataclass(frozen=True)
class HealthPolicy:
    heartbeat_s: float = 5.0
    degraded_after: int = 1
    failed_after: int = 3
    max_recovery_attempts: int = 5
    grace_s: float = 0.0   # slack before a heartbeat counts as missed (absorbs jitter)

    def __post_init__(self) -> None:
        if not self.heartbeat_s > 0:
            raise ValueError("heartbeat_s must be > 0")
        if not 1 <= self.degraded_after <= self.failed_after:
            raise ValueError("need 1 <= degraded_after <= failed_after")
        if self.max_recovery_attempts < 0 or self.grace_s < 0:
            raise ValueError("max_recovery_attempts and grace_s must be >= 0")


@dataclass(frozen=True)
class Transition:
    phone: str
    old: str
    new: str
    reason: str
    ts: float


class HealthTracker:
    """The health state machine of one master. Every input returns the transitions it caused.

    `since`: when tracking started. If given, a master that never heartbeats is
    declared failed after `failed_after` heartbeats of silence from then (a
    session hung at start-up); if None it stays unknown until its first heartbeat.
    """

    def __init__(self, phone: str, policy: HealthPolicy = HealthPolicy(),
                 since: float | None = None) -> None:
        self.phone = phone
        self.policy = policy
        self.since = since
        self.state = UNKNOWN
        self.reason = "no heartbeat yet"
        self.changed_at = since
        self.device: str | None = None          # last reported device state
        self.last_heartbeat: float | None = None
        self.recovery_attempts = 0
        self.excused_s = 0.0   # time the monitor itself was stalled since the last heartbeat (excuse)

    def heartbeat(self, now: float, device: str | None = None) -> list[Transition]:
        """A heartbeat arrived (optionally carrying the device state, set first)."""
        if device is not None:
            _check_device(device)
            self.device = device
        if self.last_heartbeat is None or now > self.last_heartbeat:
            self.last_heartbeat = now
            self.excused_s = 0.0
        if self.device in DEAD_DEVICE_STATES:
            return self._move(FAILED, f"device {self.device}", now)
        if self.state == FAILED:
            if self.device != "connected":
                return []
            self.recovery_attempts = 0
            return self._move(HEALTHY, "recovered: heartbeat with the device connected", now)
        return self._settle(now)

    def device_state(self, state: str, now: float) -> list[Transition]:
        """The session reported its device state. A dead one fails the master at once."""
        _check_device(state)
        self.device = state
        if state in DEAD_DEVICE_STATES:
            return self._move(FAILED, f"device {state}", now)
        return []   # recovery waits for a heartbeat; transient states leave health alone

    def tick(self, now: float) -> list[Transition]:
        """Re-evaluate from the heartbeat age (call it periodically)."""
        if self.state == FAILED:
            return []
        return self._settle(now)

    def missed(self, now: float) -> int:
        """Heartbeats missed by `now` (since the last one, or since `since` before the first)."""
        reference = self.last_heartbeat if self.last_heartbeat is not None else self.since
        if reference is None:
            return 0
        age = now - reference - self.policy.grace_s - self.excused_s
        return max(0, math.floor(age / self.policy.heartbeat_s))

    def excuse(self, seconds: float) -> None:
        """The monitor itself did not run for `seconds` (stopped, starved): heartbeats sent
        meanwhile wait unread in its queue, so that time does not count as missed ones."""
        self.excused_s += max(0.0, seconds)

    def heartbeat_age(self, now: float) -> float | None:
        return None if self.last_heartbeat is None else max(0.0, now - self.last_heartbeat)

    def recovery_action(self) -> str:
        """What to do about this master now; 'restart' counts an attempt.

        'none' (not failed), 'wait' (banned: dead until its expiry), 'manual'
        (logged out or outdated — needs a relink/update — or attempts used up),
        'restart' (hung or crashed: ask the supervisor to kill and restart it).
        Attempts reset on recovery.
        """
        if self.state != FAILED:
            return NONE
        if self.device == "banned":
            return WAIT
        if self.device in ("logged_out", "outdated"):
            return MANUAL
        if self.recovery_attempts >= self.policy.max_recovery_attempts:
            return MANUAL
        self.recovery_attempts += 1
        return RESTART

    def to_dict(self) -> dict:
        return {"phone": self.phone, "since": self.since, "state": self.state, "reason": self.reason,
                "changed_at": self.changed_at, "device": self.device,
                "last_heartbeat": self.last_heartbeat, "recovery_attempts": self.recovery_attempts}

    @classmethod
    def from_dict(cls, data: dict, policy: HealthPolicy = HealthPolicy()) -> "HealthTracker":
        tracker = cls(data["phone"], policy, data.get("since"))
        tracker.state = data.get("state", UNKNOWN)
        tracker.reason = data.get("reason", "")
        tracker.changed_at = data.get("changed_at")
        tracker.device = data.get("device")
        tracker.last_heartbeat = data.get("last_heartbeat")
        tracker.recovery_attempts = int(data.get("recovery_attempts", 0))
        return tracker

    def _settle(self, now: float) -> list[Transition]:
        """Move to the state the heartbeat age says (never out of FAILED: see heartbeat)."""
        missed = self.missed(now)
        if self.last_heartbeat is None:
            if self.since is not None and missed >= self.policy.failed_after:
                return self._move(FAILED, f"no heartbeat in {missed} intervals since start", now)
            return []
        if missed >= self.policy.failed_after:
            return self._move(FAILED, f"{missed} missed heartbeats", now)
        if missed >= self.policy.degraded_after:
            return self._move(DEGRADED, f"{missed} missed heartbeat{'s' if missed > 1 else ''}", now)
        return self._move(HEALTHY, "heartbeat", now)

    def _move(self, new: str, reason: str, now: float) -> list[Transition]:
        if new == self.state:
            return []
        transition = Transition(self.phone, self.state, new, reason, now)
        self.state, self.reason, self.changed_at = new, reason, now
        return [transition]


def _check_device(state: str) -> None:
    if state not in DEVICE_STATES:
        raise ValueError(f"unknown device state {state!r}; valid: {', '.join(DEVICE_STATES)}")
