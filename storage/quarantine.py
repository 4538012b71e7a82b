"""Records set aside because they do not fit their type, and the check of every record.

A record that does not decode against its type (storage/shapes.py) is moved
here with its database, key and reason (storage/env.py `Txn._decode`); the
HA monitor alerts each one once (`unalerted` / `mark_alerted`), and
`whitecaves store check|delete|restore` (cli_commands/store.py) lets a person
see, drop or put one back.
"""
from __future__ import annotations

from storage import admins, agents, campaigns, codec, conversations, events, masters, outbox, pairing
from storage.env import Quarantined, quarantine_key, quarantine_put

# database → the type each of its records must have (None: any msgpack value)
TYPES = {
    "masters": masters.Master, "conversations": conversations.Conversation,
    "messages": conversations.Message, "outbox": outbox.OutboxEntry, "outbox_keys": outbox.KeyRecord,
    "events": events.Event, "campaigns": campaigns.Campaign, "admins": admins.Admin,
    "agents": agents.Agent, "pairing": pairing.Pairing,
}


def add(txn, db: str, key: bytes, raw: bytes, reason: str) -> None:
    quarantine_put(txn, db, key, raw, reason)


def all(txn) -> list[Quarantined]:  # noqa: A001 - reads as quarantine.all(txn)
    out = []
    with txn.raw.cursor(db=txn.store.dbs["quarantine"]) as cur:
        for _, raw in cur.iternext():
            try:
                out.append(codec.decode(raw, Quarantined))
            except codec.DecodeError:
                continue   # not ours to judge: the quarantine only holds what we wrote
    return out


def unalerted(txn) -> list[Quarantined]:
    return [q for q in all(txn) if not q.alerted]


def mark_alerted(txn, records: list[Quarantined]) -> None:
    for q in records:
        q.alerted = True
        txn.raw.put(quarantine_key(q.db, q.key), codec.encode(q), db=txn.store.dbs["quarantine"])


def get(txn, db: str, key: bytes) -> Quarantined | None:
    raw = txn.raw.get(quarantine_key(db, key), db=txn.store.dbs["quarantine"])
    return None if raw is None else codec.decode(raw, Quarantined)


def delete(txn, db: str, key: bytes) -> bool:
    """Drop a quarantined record for good, or (if not quarantined) an invalid live record."""
    if txn.raw.delete(quarantine_key(db, key), db=txn.store.dbs["quarantine"]):
        return True
    if db == "meta":
        return False   # a counter deleted would count again from 0: a bad one is repaired on use
    raw = txn.raw.get(key, db=txn.store.dbs[db]) if db in txn.store.dbs else None
    if raw is not None and invalid_reason(db, key, raw) is not None:
        return txn.raw.delete(key, db=txn.store.dbs[db])
    return False


def restore(txn, db: str, key: bytes, as_is: bool = False) -> str | None:
    """Put a quarantined record back where it was; None when done, else why not.

    Refused while it still does not fit its type (it would only be set aside
    again) unless `as_is`, and when the key holds a newer record."""
    q = get(txn, db, key)
    if q is None:
        return f"nothing quarantined in {db!r} at key {show_key(key)}"
    why = invalid_reason(db, key, q.raw)
    if why is not None and not as_is:
        return f"it still does not fit its type ({why})"
    if txn.raw.get(key, db=txn.store.dbs[db]) is not None:
        return f"{db!r} holds a newer record at key {show_key(key)}; delete that first"
    txn.raw.put(key, q.raw, db=txn.store.dbs[db])
    txn.raw.delete(quarantine_key(db, key), db=txn.store.dbs["quarantine"])
    return None


def invalid_reason(db: str, key: bytes, raw: bytes) -> str | None:
    """Why the live record `raw` of `db` does not fit its type, or None."""
    if db == "meta" and key.startswith(b"seq:"):
        return None if len(raw) == 8 else f"counter is {len(raw)} bytes, not 8"
    if db in ("meta", "quarantine"):
        return None
    try:
        codec.decode(raw, _type_of(db, key))
    except codec.DecodeError as e:
        return str(e)
    return None


def _type_of(db: str, key: bytes):
    if db == "metrics":   # shared with storage/health.py's records; counters are the rest
        return None if key.startswith((b"health_", b"alert_gate", b"queue_depth")) else int
    return TYPES.get(db)


def check(txn) -> list[dict]:
    """Every quarantined record and every live record that does not fit its type:
    [{"db", "key", "reason", "state": quarantined|invalid}]."""
    rows = [{"db": q.db, "key": show_key(q.key), "reason": q.reason, "state": "quarantined"} for q in all(txn)]
    for db, handle in txn.store.dbs.items():
        if db == "quarantine":
            continue
        with txn.raw.cursor(db=handle) as cur:
            for key, raw in cur.iternext():
                why = invalid_reason(db, bytes(key), bytes(raw))
                if why is not None:
                    rows.append({"db": db, "key": show_key(bytes(key)), "reason": why, "state": "invalid"})
    return rows


def show_key(key: bytes) -> str:
    """A key as a person types it back: its text when printable, else `hex:…`."""
    try:
        s = key.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + key.hex()
    return s if s.isprintable() else "hex:" + key.hex()


def parse_key(s: str) -> bytes:
    return bytes.fromhex(s[4:]) if s.startswith("hex:") else s.encode("utf-8")
