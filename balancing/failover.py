"""Failover and restore as LMDB transactions, without actors.

`run_failover` applies a hand-over plan (handover.py) inside ONE write
transaction: conversations change owner, the failed master's pending outbox
entries follow their customers, a `failover` event is written and a hand-over
note is queued to every moved customer from its new master. The caller runs
it through `Store.write`, so an exception anywhere before the commit leaves
nothing moved (LMDB aborts the transaction).

`BalancerState` is what the balancer must not forget across its own restart:
the failover gate (locks, history, pauses), failovers waiting for a healthy
sibling, masters it considers down, and the strategy chosen at run time.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from balancing.handover import FailoverGate, plan_handover
from balancing.notes import PACED, note_mode
from balancing.strategies import MasterView
from masters.fields import routing_fields
from runtime.vocabulary import DEAD_DEVICE_STATES
from storage import conversations, events, handover_notes, masters, outbox
from storage import balancer as balancer_store
from storage.env import Txn

DEAD_STATES = DEAD_DEVICE_STATES


@dataclass
class FailoverResult:
    failed: str
    status: str                       # completed | waiting (no healthy sibling) | failed
    reason: str
    targets: dict[str, int] = field(default_factory=dict)
    moved: int = 0
    retargeted: int = 0
    notes: int = 0
    waiting: int = 0                  # conversations still owned by the failed master
    duration_s: float = 0.0
    event: int = 0
    error: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


DEPTH_SCAN, CAMPAIGN_DEPTH_SCAN = 5000, 500


def master_views(txn: Txn, usable: Callable[[masters.Master], bool],
                 refused: Callable[[tuple[str, str, str]], None] | None = None) -> list[MasterView]:
    """Every registered master with its owned conversations and pending outbox depth.

    A stored routing field that would not pass `master add` today (a NaN weight, an unknown
    role) is routed on a safe value instead, and `refused((phone, field, why))` is told: one bad
    record must not make the balancer raise on every message."""
    owned = conversations.count_by_master(txn)
    depth: dict[str, int] = {}
    # What the balancer's dispatch window sees (actors/balancer.py): a queued campaign of 100,000
    # is not read in full every second; a master's depth counts its first 500 campaign entries.
    for entry in outbox.pending(txn, limit=DEPTH_SCAN, campaign_limit=CAMPAIGN_DEPTH_SCAN):
        if entry.master:
            depth[entry.master] = depth.get(entry.master, 0) + 1
    views = []
    for m in masters.all(txn):
        fields, bad = routing_fields(m)
        for field_name, why in bad:
            if refused is not None:
                refused((m.phone, field_name, why))
        views.append(MasterView(phone=m.phone, **fields, healthy=usable(m),
                                conversations=owned.get(m.phone, 0), outbox_depth=depth.get(m.phone, 0)))
    return views


def note_text(template: str, master: masters.Master | None, phone: str) -> str:
    name = master.name if master is not None else phone
    try:
        return template.format(name=name, phone=phone)
    except (KeyError, IndexError, ValueError):
        return template   # a template with a stray brace is sent as written


def run_failover(txn: Txn, failed: str, views: list[MasterView], reason: str, note_template: str,
                 to: str | None = None, started: float | None = None,
                 before_commit: Callable[[], None] | None = None,
                 notes_mode: str = PACED) -> FailoverResult:
    """Move `failed`'s conversations and outbox to healthy siblings, in this transaction.

    Without a healthy sibling nothing moves and the result is `waiting`; the
    outbox entries stay where they are (nothing is dropped). `before_commit`
    is a test hook: raising there must leave the store untouched. `notes_mode`
    (balancing/notes.py): `paced` queues the notes now, `on_next_message` leaves
    one waiting per customer; after a ban always the latter.
    """
    started = time.time() if started is None else started
    owned = [(c.customer, c.master) for c in conversations.all(txn, master=failed)]
    plan = plan_handover(failed, owned, views, to=to)
    result = FailoverResult(failed, "completed", reason, targets=plan.targets,
                            moved=len(plan.moves), waiting=len(plan.unplaced))
    if plan.unplaced:
        result.status = "waiting"
        result.moved, result.targets = 0, {}
    else:
        names = {phone: masters.get(txn, phone) for phone in plan.targets}
        for customer, target in plan.moves.items():
            conv = conversations.get(txn, customer)
            conv.master, conv.handed_from = target, failed
            conversations.put(txn, conv)
        result.retargeted = outbox.retarget(txn, plan.moves, failed)
        seq = balancer_store.next_failover_seq(txn)
        paced = note_mode(notes_mode, reason) == PACED
        for customer, target in plan.moves.items():
            body = note_text(note_template, names[target], target)
            if paced:
                outbox.enqueue(txn, customer, body, kind="handover",
                               key=f"handover:{seq}:{customer}", master=target)
            else:   # one note per customer: a cascade's newer owner replaces the older one
                handover_notes.put(txn, handover_notes.WaitingNote(customer, target, body, failed))
        result.notes = len(plan.moves) if paced else 0
    if before_commit is not None:
        before_commit()
    result.duration_s = round(time.time() - started, 6)
    result.event = events.append(txn, "failover", failed, status=result.status, reason=reason,
                                 targets=result.targets, count=result.moved,
                                 retargeted=result.retargeted, waiting=result.waiting,
                                 duration_s=result.duration_s).seq
    return result


def record_failed(txn: Txn, failed: str, reason: str, error: str, started: float) -> FailoverResult:
    """A failover that rolled back: only the event is written (in a fresh transaction)."""
    result = FailoverResult(failed, "failed", reason, error=error,
                            duration_s=round(time.time() - started, 6))
    result.event = events.append(txn, "failover", failed, status="failed", reason=reason,
                                 error=error, targets={}, count=0,
                                 duration_s=result.duration_s).seq
    return result


def handed_over(txn: Txn, recovered: str) -> list[tuple[str, str]]:
    """(customer, current owner) of the conversations a failover took from `recovered`."""
    return [(c.customer, c.master) for c in conversations.all(txn)
            if c.handed_from == recovered and c.master != recovered]


def run_restore(txn: Txn, recovered: str, note_template: str, customers: set[str] | None = None) -> dict:
    """`failover restore`: conversations a failover took from `recovered` go back to it.

    Those of `customers` (all when None); their pending outbox entries follow them.
    No note: the customer is back with the number they wrote to, and a second
    unsolicited message is what gets an account banned (balancing/notes.py); a
    hand-over note still waiting or queued is dropped. The balancer calls it once
    per batch of a RestorePlan, so they flow back gradually. (`note_template` is
    kept for the callers.)
    """
    back = [c for c in conversations.all(txn) if c.handed_from == recovered and c.master != recovered
            and (customers is None or c.customer in customers)]
    by_owner: dict[str, dict[str, str]] = {}
    for conv in back:
        by_owner.setdefault(conv.master, {})[conv.customer] = recovered
        conv.master, conv.handed_from = recovered, None
        conversations.put(txn, conv)
    retargeted = sum(outbox.retarget(txn, moves, owner, only_moved=True) for owner, moves in by_owner.items())
    customers_back = {conv.customer for conv in back}
    for customer in customers_back:
        handover_notes.drop(txn, customer)
    for entry in outbox.pending(txn):   # a paced note not sent yet is not owed any more:
        if entry.kind == "handover" and entry.to in customers_back:   # closed, no message id
            outbox.delivered(txn, entry.id, "", recovered)
    sources = {owner: len(moves) for owner, moves in sorted(by_owner.items())}
    events.append(txn, "failover_restore", recovered, count=len(back), sources=sources,
                  retargeted=retargeted)
    return {"restored": recovered, "count": len(back), "sources": sources, "retargeted": retargeted}


# ------------------------------------------------------------------ persisted state

@dataclass
class BalancerState:
    gate: FailoverGate
    waiting: dict[str, dict] = field(default_factory=dict)   # phone → {"reason", "since", "to"}
    down: set[str] = field(default_factory=set)              # failed over, not back yet
    strategy: str = ""

    def to_dict(self) -> dict:
        return {"gate": self.gate.to_dict(), "waiting": self.waiting, "down": sorted(self.down),
                "strategy": self.strategy}


def load_state(txn: Txn, lock_timeout_s: float, max_failovers: int, window_s: float,
               default_strategy: str) -> BalancerState:
    data = balancer_store.get_failover(txn)
    gate = FailoverGate.from_dict(data.get("gate", {}), lock_timeout_s=lock_timeout_s,
                                  max_failovers=max_failovers, window_s=window_s)
    return BalancerState(gate, dict(data.get("waiting", {})), set(data.get("down", [])),
                         data.get("strategy") or default_strategy)


def save_state(txn: Txn, state: BalancerState) -> None:
    balancer_store.put_failover(txn, state.to_dict())


def read_state(txn: Txn) -> dict:
    """The persisted state as plain data (admin reads it without the actor)."""
    return balancer_store.get_failover(txn)
