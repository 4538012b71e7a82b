"""Failover as pure plans: who takes a failed master's conversations, how they
go back after `failover restore`, and when a failover may run at all.

The balancer actor applies a `HandoverPlan` in one LMDB write transaction; the
plan itself decides nothing about storage, so it can be checked exhaustively.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from balancing.strategies import MasterView, rank


@dataclass(frozen=True)
class HandoverPlan:
    """Where each conversation of `failed` goes. `unplaced` had no healthy sibling:
    they stay with `failed` until a sibling is healthy and a new plan places them."""
    failed: str
    moves: dict[str, str] = field(default_factory=dict)   # customer → new owner
    unplaced: tuple[str, ...] = ()                          # customers, sorted

    @property
    def targets(self) -> dict[str, int]:
        """New owner → number of conversations it receives, in phone order."""
        counts: dict[str, int] = {}
        for phone in self.moves.values():
            counts[phone] = counts.get(phone, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def complete(self) -> bool:
        return not self.unplaced


def plan_handover(failed: str, conversations: Iterable[tuple[str, str]],
                  siblings: Iterable[MasterView], to: str | None = None) -> HandoverPlan:
    """Move every conversation owned by `failed` to healthy siblings.

    `conversations` are (customer, owner) pairs; only those owned by `failed`
    move. Siblings: healthy, not `failed` (and only `to` when given: a manual
    `failover run --to`). Rate limits do not matter here: owning is not sending,
    and the hand-over notes wait in the outbox like any message.

    Placement: the best tier (primary, then lower priority number) takes them
    all; inside it they fill up the least loaded masters first so that owned
    conversations per weight end up level — each receiving master ends within
    one conversation of its weighted share, and a master already above that
    level receives none. Customers are assigned in sorted order, in blocks
    per master in phone order: the same input always gives the same plan.
    """
    mine = sorted({customer for customer, owner in conversations if owner == failed})
    candidates = [s for s in siblings
                  if s.healthy and s.phone != failed and (to is None or s.phone == to)]
    if not mine:
        return HandoverPlan(failed)
    if not candidates:
        return HandoverPlan(failed, {}, tuple(mine))
    best = min(rank(s) for s in candidates)
    tier = sorted((s for s in candidates if rank(s) == best), key=lambda s: s.phone)
    counts = apportion(len(mine), tier)
    moves: dict[str, str] = {}
    queue = iter(mine)
    for sibling in tier:
        for _ in range(counts.get(sibling.phone, 0)):
            moves[next(queue)] = sibling.phone
    return HandoverPlan(failed, moves)


def apportion(n: int, masters: list[MasterView]) -> dict[str, int]:
    """Split n new conversations so that (owned + new) / weight is as level as possible.

    Water-filling in exact fractions: the level is (owned + n) / total weight
    over the masters that stay at or below it (a master above the level gets
    nothing and leaves the pool, which raises the level for the rest); each
    remaining master's real share is level·weight − owned, rounded down, and
    the leftover units go to the largest remainders (phone order on ties).
    """
    pool = list(masters)
    while True:
        total_weight = sum(Fraction(m.weight) for m in pool)
        level = (sum(m.conversations for m in pool) + n) / total_weight
        below = [m for m in pool if m.conversations <= level * Fraction(m.weight)]
        if len(below) == len(pool):
            break
        pool = below   # never empty: the least loaded per weight is always below the mean
    share = {m.phone: level * Fraction(m.weight) - m.conversations for m in pool}
    counts = {phone: math.floor(s) for phone, s in share.items()}
    leftover = n - sum(counts.values())
    by_remainder = sorted(share, key=lambda phone: (-(share[phone] - counts[phone]), phone))
    for phone in by_remainder[:leftover]:
        counts[phone] += 1
    return counts


@dataclass(frozen=True)
class RestorePlan:
    """Give-back of handed-over conversations to `recovered`, one batch per step.

    Batch k is due `k * step_s` seconds after the restore starts. Each batch
    maps customer → the owner it leaves; all move to `recovered`.
    """
    recovered: str
    batches: tuple[dict[str, str], ...] = ()
    step_s: float = 30.0

    @property
    def total(self) -> int:
        return sum(len(batch) for batch in self.batches)

    def due(self, elapsed_s: float) -> int:
        """How many batches should have been applied `elapsed_s` after the start."""
        if elapsed_s < 0:
            return 0
        return min(len(self.batches), math.floor(elapsed_s / self.step_s) + 1)


def plan_restore(recovered: str, handed_over: Iterable[tuple[str, str]],
                 batch_size: int = 10, step_s: float = 30.0) -> RestorePlan:
    """Plan moving conversations back to `recovered`, gradually.

    `handed_over` are (customer, current owner) pairs for the conversations that
    a failover took from `recovered` (pairs already owned by it are skipped).
    Batches of at most `batch_size`, `step_s` apart; each batch takes from
    every current owner in turn, so no sibling is emptied first.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not step_s > 0:
        raise ValueError("step_s must be > 0")
    by_owner: dict[str, list[str]] = {}
    for customer, owner in sorted(set(handed_over)):
        if owner != recovered:
            by_owner.setdefault(owner, []).append(customer)
    order: list[tuple[str, str]] = []
    queues = [(owner, customers) for owner, customers in sorted(by_owner.items())]
    for i in range(max((len(c) for _, c in queues), default=0)):
        order.extend((customers[i], owner) for owner, customers in queues if i < len(customers))
    batches = tuple(dict(order[i:i + batch_size]) for i in range(0, len(order), batch_size))
    return RestorePlan(recovered, batches, step_s)


@dataclass(frozen=True)
class GateDecision:
    allowed: bool
    reason: str   # 'ok' | 'stale-lock' (allowed: took over an expired lock) | 'running' | 'paused'


class FailoverGate:
    """Admission of failovers: one per master at a time, and a brake on flapping.

    - The lock of a master's failover expires after `lock_timeout_s` (the actor
      that held it died mid-way): the next acquire takes it over.
    - More than `max_failovers` automatic failovers of one master within
      `window_s` pause automatic failover for it until `resume` (an admin).
      Manual failovers (`failover run`) ignore the pause and are not counted.

    Times come from `clock` (wall time by default, so `to_dict` survives a restart).
    """

    def __init__(self, lock_timeout_s: float = 30.0, max_failovers: int = 3,
                 window_s: float = 3600.0, clock: Callable[[], float] = time.time) -> None:
        if max_failovers < 1:
            raise ValueError("max_failovers must be at least 1")
        self.lock_timeout_s = lock_timeout_s
        self.max_failovers = max_failovers
        self.window_s = window_s
        self.clock = clock
        self.locks: dict[str, float] = {}        # phone → when its running failover started
        self.history: dict[str, list[float]] = {}  # phone → starts of automatic failovers
        self.paused_set: set[str] = set()

    def acquire(self, phone: str, automatic: bool = True) -> GateDecision:
        now = self.clock()
        stale = False
        if phone in self.locks:
            if now - self.locks[phone] < self.lock_timeout_s:
                return GateDecision(False, "running")
            stale = True
        if automatic:
            recent = [t for t in self.history.get(phone, []) if now - t < self.window_s]
            self.history[phone] = recent
            if phone in self.paused_set or len(recent) >= self.max_failovers:
                self.paused_set.add(phone)
                return GateDecision(False, "paused")
            recent.append(now)
        self.locks[phone] = now
        return GateDecision(True, "stale-lock" if stale else "ok")

    def release(self, phone: str) -> None:
        self.locks.pop(phone, None)

    def running(self, phone: str) -> bool:
        started = self.locks.get(phone)
        return started is not None and self.clock() - started < self.lock_timeout_s

    def paused(self, phone: str) -> bool:
        return phone in self.paused_set

    def resume(self, phone: str) -> None:
        """An admin's `failover resume`: automatic failover again, with a fresh window."""
        self.paused_set.discard(phone)
        self.history.pop(phone, None)

    def to_dict(self) -> dict:
        return {"locks": dict(self.locks), "history": {p: list(t) for p, t in self.history.items()},
                "paused": sorted(self.paused_set)}

    @classmethod
    def from_dict(cls, data: dict, **settings) -> "FailoverGate":
        gate = cls(**settings)
        gate.locks = {str(p): float(t) for p, t in data.get("locks", {}).items()}
        gate.history = {str(p): [float(t) for t in ts] for p, ts in data.get("history", {}).items()}
        gate.paused_set = set(data.get("paused", []))
        return gate
