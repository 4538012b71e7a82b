"""Schema version and migrations.

`MIGRATIONS[n]` upgrades a store from version n-1 to n inside one write
transaction. A store newer than this code is refused rather than guessed at.
"""
from __future__ import annotations

from collections.abc import Callable

from storage import codec

CURRENT = 1
MIGRATIONS: dict[int, Callable] = {
    1: lambda txn: None,  # the first schema: nothing to convert
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
