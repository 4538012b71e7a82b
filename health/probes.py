"""Probes of the tree's permanent actors: the pure part of watching the balancer, the admin
gateway, the masters supervisor and the sim like the sessions (issue 13, fault 4).

Those actors send no heartbeats; the HA monitor probes them instead (a `Ping`
every half heartbeat, which every SupervisedActor answers from its message
loop). One that has not answered for `failed_after` heartbeats plus the grace
is hung: it is reported once per process, and the monitor asks its supervisor
to kill and restart it. Half-heartbeat probes put that at 3.25 heartbeats after
its last answer, so a hang is found and mended within 3.5 heartbeats.

No actors, no clock: the caller passes `now` (any monotonic clock) and keeps
the addresses; an actor is identified here by its id and its current address
(a new address is a new process, probed afresh).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

from health.policy import HealthPolicy


@dataclass(frozen=True)
class Hung:
    """`actor` (its process at `address`) has not answered a probe for `silent_s`."""
    actor: str
    address: Any
    pid: int | None
    silent_s: float


@dataclass
class _Probed:
    address: Any
    since: float                       # when this process was first probed
    last_answer: float | None = None
    pid: int | None = None
    excused_s: float = 0.0             # the monitor's own stalls since the last answer
    reported: bool = False


@dataclass
class ProbeBook:
    policy: HealthPolicy
    actors: dict[str, _Probed] = field(default_factory=dict)
    last_probe: float | None = None

    @property
    def every_s(self) -> float:
        return self.policy.heartbeat_s / 2

    @property
    def hung_after_s(self) -> float:
        return self.policy.failed_after * self.policy.heartbeat_s + self.policy.grace_s

    def sync(self, addresses: dict[str, Hashable], now: float) -> None:
        """Probe exactly these actors (id → current address); a changed address starts afresh."""
        for actor in set(self.actors) - set(addresses):
            del self.actors[actor]
        for actor, address in addresses.items():
            known = self.actors.get(actor)
            if known is None or known.address != address:
                self.actors[actor] = _Probed(address, since=now)

    def due(self, now: float) -> bool:
        """True (and the probe counts as sent) when it is time to ping every actor."""
        if self.last_probe is not None and now - self.last_probe < self.every_s:
            return False
        self.last_probe = now
        return True

    def answered(self, actor: str, address: Hashable, pid: int, now: float) -> None:
        probed = self.actors.get(actor)
        if probed is None or probed.address != address:
            return   # an answer from a process no longer (or not yet) tracked
        probed.last_answer, probed.pid, probed.excused_s = now, pid, 0.0

    def excuse(self, seconds: float) -> None:
        """The monitor itself was stalled for `seconds`: silence meanwhile is not a hang."""
        for probed in self.actors.values():
            probed.excused_s += max(0.0, seconds)

    def hung(self, now: float) -> list[Hung]:
        """Actors silent for longer than hung_after_s, each process reported once."""
        out = []
        for actor, probed in sorted(self.actors.items()):
            reference = probed.last_answer if probed.last_answer is not None else probed.since
            silent = now - reference - probed.excused_s
            if silent > self.hung_after_s and not probed.reported:
                probed.reported = True
                out.append(Hung(actor, probed.address, probed.pid, round(silent, 3)))
        return out
