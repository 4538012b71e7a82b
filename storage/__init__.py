"""LMDB + msgpack persistence: one environment per home, one module per record kind.

Callers use `Store` (storage/env.py) for transactions and the record modules
(masters, conversations, outbox, ...) for typed reads and writes; nobody else
sees raw bytes. A write is one function run inside one LMDB write
transaction, so a failover that touches several record kinds commits all or
nothing.
"""
from storage.env import Store, Txn, CorruptRecord  # noqa: F401
