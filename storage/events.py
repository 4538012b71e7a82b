"""The append-only audit log: failovers, health transitions, restarts, admin actions."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from storage.codec import u64
from storage.env import Txn


@dataclass
class Event:
    kind: str
    master: str | None = None
    data: dict = field(default_factory=dict)
    ts: float = field(default_factory=time.time)
    seq: int = 0


def append(txn: Txn, kind: str, master: str | None = None, **data) -> Event:
    event = Event(kind=kind, master=master, data=data, seq=txn.next_seq("event"))
    txn.put("events", u64(event.seq), event)
    return event


def recent(txn: Txn, limit: int = 50, kinds: tuple[str, ...] = (), master: str | None = None,
           since_ts: float = 0.0) -> list[Event]:
    """Newest first."""
    out = []
    for _, ev in txn.scan("events", Event, reverse=True):
        if ev.ts < since_ts:
            break
        if (not kinds or ev.kind in kinds) and (master is None or ev.master == master):
            out.append(ev)
            if len(out) >= limit:
                break
    return out
