"""Schema version and migrations.

`MIGRATIONS[n]` upgrades a store from version n-1 to n inside one write
transaction. A store newer than this code is refused rather than guessed at.
"""
from __future__ import annotations

from collections.abc import Callable

from storage import codec, outbox_lanes

CURRENT = 2


def _lanes_and_campaign_counters(txn) -> None:
    """2: the outbox's lane index and each campaign's sent/dead counters (issue 18)."""
    # Raw records: the record modules import storage.env, which runs this (no cycle).
    outbox_lanes.rebuild(txn)
    for key, record in txn.scan("campaigns", prefix=b"campaign:"):
        sent = dead = 0
        for _, known in txn.scan("outbox_keys", prefix=codec.text(f"campaign:{record['name']}:")):
            if known.get("state") == "delivered":
                sent += 1
            else:
                entry = txn.get("outbox", codec.u64(known["id"]))
                dead += entry is not None and entry.get("state") == "dead"
        txn.put("campaigns", key, {**record, "sent": sent, "dead": dead})


MIGRATIONS: dict[int, Callable] = {
    1: lambda txn: None,  # the first schema: nothing to convert
    2: _lanes_and_campaign_counters,
}


class SchemaTooNew(RuntimeError):
    pass


def version(txn) -> int:
    raw = txn.raw.get(b"schema", db=txn.store.dbs["meta"])
    return codec.from_u64(raw) if raw else 0


def migrate(store) -> None:
    with store.read() as txn:
        have = version(txn)
    if have == CURRENT:
        return
    if have > CURRENT:
        raise SchemaTooNew(f"store schema {have} in {store.path} is newer than this program's {CURRENT}: "
                           f"run the newer whitecaves that wrote it, or start from a backup")

    def run(txn):
        for n in range(version(txn) + 1, CURRENT + 1):
            MIGRATIONS[n](txn)
            txn.raw.put(b"schema", codec.u64(n), db=txn.store.dbs["meta"])
    store.write(run)
