"""Which master sends which pending outbox entry now: the balancer's pick, as a pure function.

Rules, per entry, oldest first:
- `via` (the sender insisted on a master): that master or nothing.
- an owner (the entry's master, else the conversation's): the owner while it
  is usable; while it is only reconnecting (`hold`) the entry waits for it,
  because a customer should keep hearing from the same number; an owner that
  is down, stopped or gone no longer holds it, and a master is picked. An
  alert never waits for its owner: it may be about that very master.
- no owner (a first message, a campaign): a pick by strategy among usable
  masters whose rate limiter lets this entry go now; masters that recovered
  from a failover (`recovering`) take new conversations first.
A customer's hand-over note goes before its other pending entries. A `paced`
note (balancing/notes.py) counts against the campaign limits (nobody asked
for it), except once that customer has something else pending — they wrote
again — when it goes at once, just before the reply: a reply is never held
behind a note the limits are still pacing.
A master never gets more than `window` entries in flight, and one whose rate
limiter says "not yet" is skipped, never overrun. Each entry handed out is
recorded in that master's limiter at once.
"""
from __future__ import annotations

import math

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from balancing.ratelimit import RateLimiter
from balancing.strategies import MasterView, RoundRobinState, pick

# outbox kind → rate limiter kind
LIMIT_KIND = {"reply": "reply", "campaign": "campaign", "alert": "alert",
              "handover": "handover", "manual": "direct"}


@dataclass
class DispatchPlan:
    per_master: dict[str, list[int]] = field(default_factory=dict)
    moves: dict[int, str] = field(default_factory=dict)     # entry id → newly assigned master
    held: int = 0                                           # waiting for their owner or a limit
    next_in: float = math.inf                               # seconds until a rate limit lets the next one go


def plan_dispatch(entries, views: list[MasterView], owner_of: Callable[[str], str | None],
                  hold: set[str], in_flight: dict[int, str], window: int,
                  limiters: dict[str, RateLimiter], strategy: str, rr: RoundRobinState,
                  now: float, recovering: set[str] = frozenset(),
                  fresh: dict[str, str] | None = None) -> DispatchPlan:
    plan = DispatchPlan()
    fresh = {} if fresh is None else fresh
    usable = {v.phone: v for v in views if v.healthy}
    load: dict[str, int] = {}
    for master in in_flight.values():
        load[master] = load.get(master, 0) + 1

    busy = {e.to for e in entries if e.kind != "handover"}   # customers with something else pending

    def limit_kind(entry) -> str:
        if entry.kind == "handover":
            return "reply" if entry.to in busy else "campaign"
        return LIMIT_KIND.get(entry.kind, "direct")

    def can_take(phone: str, entry) -> bool:
        if phone not in usable or load.get(phone, 0) >= window:
            return False
        limiter = limiters.get(phone)
        if limiter is None:
            return True
        wait = limiter.check(limit_kind(entry), entry.to, now)
        if wait > 0:
            plan.next_in = min(plan.next_in, wait)
        return wait == 0

    # A customer handed over hears the note from the new master before anything else from it.
    noted = {e.to for e in entries if e.kind == "handover"}
    released = {e.to for e in entries if e.kind == "handover" and e.id in in_flight}
    for entry in entries:
        if entry.id in in_flight:
            continue
        if entry.to in noted and entry.kind != "handover" and entry.to not in released:
            plan.held += 1
            continue
        target = None
        if entry.via:
            target = entry.via if can_take(entry.via, entry) else None
        else:
            owner = entry.master or owner_of(entry.to) or fresh.get(entry.to)
            # An alert never waits for a master that is down: it may be the one it is about.
            if owner is not None and (owner in usable or owner in hold and entry.kind != "alert"):
                target = owner if can_take(owner, entry) else None
            else:
                target = _pick_new(entry, views, usable, can_take, strategy, rr, recovering)
                if target is not None:
                    fresh[entry.to] = target
        if target is None:
            plan.held += 1
            continue
        load[target] = load.get(target, 0) + 1
        limiter = limiters.get(target)
        if limiter is not None:
            limiter.record(limit_kind(entry), entry.to, now)
        if entry.kind == "handover":
            released.add(entry.to)
        plan.per_master.setdefault(target, []).append(entry.id)
        if target != entry.master:
            plan.moves[entry.id] = target
    return plan


def _pick_new(entry, views, usable, can_take, strategy, rr, recovering) -> str | None:
    candidates = [dataclasses.replace(v, can_send=can_take(v.phone, entry))
                  for v in views if v.phone in usable]
    first = [v for v in candidates if v.phone in recovering and v.can_send]
    return pick(strategy, first or candidates, entry.to, rr)
