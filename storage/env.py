"""The LMDB environment of one home.

Open it in the process that uses it, after thespian has forked that process
(docs/architecture.md, "Storage"): an LMDB handle must not cross a fork. Actors that
create children must not hold a Store open while they do (the child would
inherit the handle), so supervisors open, read and close.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import lmdb
import structlog

from storage import codec, counters, faults

log = structlog.get_logger("storage")
T = TypeVar("T")

DATABASES = (
    "meta", "masters", "conversations", "messages", "outbox", "outbox_keys", "outbox_lanes", "dedupe",
    "events", "metrics", "admins", "campaigns", "quarantine", "pairing",
    "deals", "ledger", "ledger_status", "ledger_index", "payouts", "commission_rules", "agents",
    "handover_notes",
    "leads", "lead_index", "lead_state",
    "media_pending",
)
INITIAL_MAP_SIZE = 64 << 20
MAX_MAP_SIZE = 64 << 30


class CorruptRecord(Exception):
    def __init__(self, db: str, key: bytes, reason: str):
        super().__init__(f"corrupt record in {db!r} at key {key!r}: {reason}")
        self.db, self.key, self.reason = db, key, reason


@dataclass
class Quarantined:
    """A record set aside, in the `quarantine` database at "DB\\0KEY" (storage/quarantine.py)."""
    db: str
    key: bytes
    raw: bytes
    reason: str
    ts: float = field(default_factory=time.time)
    alerted: bool = False


def quarantine_key(db: str, key: bytes) -> bytes:
    return db.encode() + b"\0" + key


def quarantine_put(txn: "Txn", db: str, key: bytes, raw: bytes, reason: str) -> None:
    txn.raw.put(quarantine_key(db, key), codec.encode(Quarantined(db, key, raw, reason)),
                db=txn.store.dbs["quarantine"])


class Txn:
    """One LMDB transaction with the named databases at hand.

    Decoding goes through `get`/`scan`, which set aside a record that does
    not decode (reported with its database and key) instead of raising.
    """

    def __init__(self, store: "Store", txn: lmdb.Transaction, write: bool):
        self.store, self.raw, self.write = store, txn, write

    def get(self, db: str, key: bytes, cls: type[T] | None = None) -> T | None:
        raw = self.raw.get(key, db=self.store.dbs[db])
        if raw is None:
            return None
        return self._decode(db, key, raw, cls)

    def put(self, db: str, key: bytes, record: Any, overwrite: bool = True) -> bool:
        return self.raw.put(key, codec.encode(record), db=self.store.dbs[db], overwrite=overwrite)

    def delete(self, db: str, key: bytes) -> bool:
        return self.raw.delete(key, db=self.store.dbs[db])

    def scan(self, db: str, cls: type[T] | None = None, prefix: bytes = b"",
             start: bytes | None = None, reverse: bool = False) -> Iterator[tuple[bytes, T]]:
        """(key, record) pairs in key order, skipping (and reporting) corrupt ones."""
        with self.raw.cursor(db=self.store.dbs[db]) as cur:
            if reverse:
                ok = cur.last() if start is None else cur.set_range(start)
                if start is not None:
                    if not ok:
                        ok = cur.last()
                    elif cur.key() != start:
                        ok = cur.prev()
                items = cur.iterprev(keys=True, values=True) if ok else iter(())
            else:
                first = start if start is not None else prefix
                ok = cur.set_range(first) if first else cur.first()
                items = cur.iternext(keys=True, values=True) if ok else iter(())
            for key, raw in items:
                if prefix and not key.startswith(prefix):
                    if reverse and key > prefix:
                        continue  # still above the prefix range
                    break
                value = self._decode(db, key, raw, cls)
                if value is not None:
                    yield key, value

    def nested(self, fn: Callable[["Txn"], T]) -> T:
        """Run fn in a write transaction nested in this one: its writes join this
        transaction if fn returns, and are dropped if it raises. A chat command run
        inside the inbound transaction uses it, so a refusal half-way changes nothing
        while the inbound message itself still commits."""
        child = self.store.env.begin(write=True, parent=self.raw)
        try:
            result = fn(Txn(self.store, child, write=True))
        except BaseException:
            child.abort()
            raise
        child.commit()
        return result

    def count(self, db: str) -> int:
        return self.raw.stat(self.store.dbs[db])["entries"]

    def next_seq(self, name: str = "seq") -> int:
        """A sequence number unique across processes (LMDB has one writer at a time).

        A counter that is not 8 bytes (truncated, overwritten) is set aside and
        repaired past every number in use (storage/counters.py), never raised
        on every write: a session would crash-loop on it."""
        key = b"seq:" + name.encode()
        raw = self.raw.get(key, db=self.store.dbs["meta"])
        if raw is not None and len(raw) != 8:
            value, reason = counters.repair(self, name, bytes(raw))
            quarantine_put(self, "meta", key, bytes(raw), reason)
            self.store.report("meta", key, reason)
            raw = codec.u64(value)
        n = (codec.from_u64(raw) if raw else 0) + 1
        self.raw.put(key, codec.u64(n), db=self.store.dbs["meta"])
        return n

    def _decode(self, db: str, key: bytes, raw: bytes, cls):
        try:
            return codec.decode(raw, cls)
        except codec.DecodeError as e:
            self.store.set_aside(db, key, bytes(raw), str(e))
            return None


class Store:
    """The environment of one home: `read()` and `write(fn)`."""

    def __init__(self, home: str, readonly: bool = False):
        self.path = os.path.join(home, "store")
        os.makedirs(self.path, exist_ok=True)
        self.env = lmdb.open(self.path, map_size=INITIAL_MAP_SIZE, max_dbs=len(DATABASES) + 2,
                             subdir=True, readonly=False, max_readers=256, lock=True,
                             mode=0o600)  # data.mdb, lock.mdb: customers' messages
        self._grow_to_file_size()
        self.dbs = {name: self.env.open_db(name.encode()) for name in DATABASES}
        self._aside: list[tuple[str, bytes, bytes, str]] = []
        self.home = home
        self._full_said = False   # a full disk is said once until a write succeeds again
        self._file_id = faults.file_id(self.path)
        from storage import schema
        try:
            schema.migrate(self)
            faults.check_marker(home, self._store_id())
        except BaseException:
            self.env.close()
            raise
        faults.reserve(home)

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def read(self) -> Iterator[Txn]:
        for attempt in range(2):
            try:
                txn = self.env.begin(write=False)
                break
            except lmdb.MapResizedError:  # another process grew the map
                self.env.set_mapsize(0)
        try:
            yield Txn(self, txn, write=False)
        finally:
            txn.abort()
        self._flush_aside()

    def write(self, fn: Callable[[Txn], T]) -> T:
        """Run fn in one write transaction; commit, or roll back if it raises.

        A full map is grown (doubled) and fn run again from the start, so a
        user never sees MDB_MAP_FULL. fn must therefore not have side effects
        outside the transaction.
        """
        if faults.file_id(self.path) != self._file_id:
            self._fault(faults.StoreReplaced(
                f"the store {self.path} was deleted or replaced under the running daemon; "
                f"refusing to write into it (stop the daemon and start it again)"))
        while True:
            try:
                with self.env.begin(write=True) as raw:
                    result = fn(Txn(self, raw, write=True))
                break
            except lmdb.MapFullError:
                self._grow()
            except lmdb.MapResizedError:
                self.env.set_mapsize(0)
            except lmdb.Error as e:   # a full disk shows as EIO or ENOSPC at commit
                if not self._disk_full():
                    raise
                self._fault(faults.StoreFull(
                    f"the disk of {self.path} is full ({self._free_bytes()} bytes free): "
                    f"nothing of this change was written ({e})"))
        if self._full_said:
            self._full_said = False
            faults.emergency(self.home, f"store_room_again: writes to {self.path} succeed again")
            log.warning("store_room_again", path=self.path)
        self._flush_aside()
        return result

    def set_aside(self, db: str, key: bytes, raw: bytes, reason: str) -> None:
        self.report(db, key, reason)
        self._aside.append((db, key, raw, reason))

    def report(self, db: str, key: bytes, reason: str) -> None:
        """A record that does not fit its type: logged here, alerted by the HA monitor."""
        log.error("corrupt_record", db=db, key=key.hex(), reason=reason)

    def _flush_aside(self) -> None:
        """Move records that did not decode into `quarantine` (outside the failed txn).

        A key rewritten meanwhile (the transaction that found the bad record
        replaced it) keeps its new value: only the bad bytes leave."""
        if not self._aside:
            return
        pending, self._aside = self._aside, []

        def move(txn: Txn) -> None:
            for db, key, raw, reason in pending:
                quarantine_put(txn, db, key, raw, reason)
                if txn.raw.get(key, db=self.dbs[db]) == raw:
                    txn.raw.delete(key, db=self.dbs[db])
        self.write(move)

    def _fault(self, error: Exception):
        """Log a store fault where it still gets out, then raise it to the caller.

        A full disk is said once: an actor holding its writes tries again every
        second (actors/store_room.py), and each try would say it again."""
        if isinstance(error, faults.StoreFull):
            if self._full_said:
                raise error
            self._full_said = True
        faults.emergency(self.home, f"store_fault {type(error).__name__}: {error}")
        log.critical("store_fault", fault=type(error).__name__, error=str(error))
        raise error

    def _free_bytes(self) -> int:
        return faults.free_bytes(self.path)

    def _disk_full(self) -> bool:
        return self._free_bytes() < faults.FULL_BELOW

    def _store_id(self) -> bytes:
        with self.read() as txn:
            known = txn.raw.get(faults.STORE_ID_KEY, db=self.dbs["meta"])
        if known is None:
            known = faults.new_store_id()
            with self.env.begin(write=True) as raw:
                raw.put(faults.STORE_ID_KEY, known, db=self.dbs["meta"])
        return bytes(known)

    def _grow(self) -> None:
        size = self.env.info()["map_size"]
        if size >= MAX_MAP_SIZE:
            self._fault(faults.StoreFull(f"the store {self.path} reached its maximum size "
                                         f"({MAX_MAP_SIZE >> 30} GiB): nothing of this change was written"))
        self.env.set_mapsize(min(size * 2, MAX_MAP_SIZE))
        log.info("store_grown", map_size=size * 2)

    def _grow_to_file_size(self) -> None:
        data = os.path.join(self.path, "data.mdb")
        if os.path.exists(data) and os.path.getsize(data) > self.env.info()["map_size"]:
            self.env.set_mapsize(os.path.getsize(data))
