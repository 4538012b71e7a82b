"""Masters: the business's WhatsApp accounts, keyed by E.164 phone."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from storage.codec import text
from storage.env import Txn

from runtime.vocabulary import ROLES  # noqa: E402,F401 - the one definition
DESIRED = ("running", "stopped")


@dataclass
class Master:
    phone: str
    name: str
    role: str = "primary"
    priority: int = 0          # lower runs first
    weight: float = 1.0
    region: str | None = None  # ISO country code, e.g. "AE"
    desired: str = "running"   # survives a daemon restart
    device_state: str = "unlinked"
    created_ts: float = field(default_factory=time.time)
    failover_paused: bool = False
    health: str = "unknown"    # written by the HA monitor
    pid: int = 0               # the session process, written by the session


def get(txn: Txn, phone: str) -> Master | None:
    return txn.get("masters", text(phone), Master)


def put(txn: Txn, master: Master) -> None:
    txn.put("masters", text(master.phone), master)


def delete(txn: Txn, phone: str) -> bool:
    return txn.delete("masters", text(phone))


def all(txn: Txn) -> list[Master]:  # noqa: A001 - reads as masters.all(txn)
    return [m for _, m in txn.scan("masters", Master)]


def update(txn: Txn, phone: str, **changes) -> Master | None:
    master = get(txn, phone)
    if master is None:
        return None
    for k, v in changes.items():
        setattr(master, k, v)
    put(txn, master)
    return master
