"""Poison records in a real daemon's LMDB file: set aside, alerted, and the service goes on.

The bad bytes are written with lmdb itself into the running daemon's store
(LMDB lets several processes share one environment), never through the
record modules, which would refuse to write them.
"""
from __future__ import annotations

import json
import os

import lmdb
import msgpack
import pytest

from daemon_support import poll

pytestmark = pytest.mark.slow   # a real daemon end to end: `pytest -m "not slow"` skips it

MASTER, OTHER = "+971505760056", "+971553633595"
ALICE, BOB, CAROL = "+447700900001", "+447700900002", "+447700900003"


def put_raw(home: str, db: str, key: bytes, raw: bytes) -> None:
    env = lmdb.open(os.path.join(home, "store"), max_dbs=64, map_size=1 << 30)
    try:
        with env.begin(write=True) as txn:
            txn.put(key, raw, db=env.open_db(db.encode(), txn=txn))
    finally:
        env.close()


def ping(d, sender, word):
    """`sender` sends !ping WORD to MASTER; waits for the pong."""
    d.cli("sim", "send", "--from", sender, "--to", MASTER, f"!ping {word}")
    return poll(f"pong {word} to {sender}", lambda: any(
        m["text"] == f"pong {word}" for m in json.loads(d.cli("sim", "inbox", sender, "--json").stdout)),
        timeout=20)


@pytest.fixture
def served(daemon):
    for phone, name in ((MASTER, "Sales"), (OTHER, "Rentals")):
        daemon.cli("master", "add", phone, "--name", name)
        daemon.cli("link", "master", phone)
    ping(daemon, ALICE, "a1")
    ping(daemon, BOB, "b1")
    return daemon


def quarantined(d) -> list[dict]:
    r = d.cli("store", "check", "--json", check=False)
    return json.loads(r.stdout)


def test_wrong_typed_conversation_and_truncated_counter_are_set_aside_and_customers_answered(served):
    d = served
    put_raw(d.home, "conversations", ALICE.encode(),
            msgpack.packb({"customer": ALICE, "master": MASTER, "messages": "many", "last_ts": "yesterday"}))
    put_raw(d.home, "meta", b"seq:message", b"\x00\x07")
    ping(d, ALICE, "a2")            # the poisoned customer is answered
    ping(d, BOB, "b2")              # and the others
    ping(d, CAROL, "c1")            # and a new one
    rows = poll("the two records in `store check`", lambda: (lambda r: r if len(r) >= 2 else None)(quarantined(d)))
    found = {(r["db"], r["key"]): r for r in rows}
    assert "Conversation.messages: expected int" in found[("conversations", ALICE)]["reason"]
    assert "counter 'message' is 2 bytes" in found[("meta", "seq:message")]["reason"]
    assert all(r["state"] == "quarantined" for r in rows), rows
    alerts = poll("the quarantine alert", lambda: [a for a in d.json("alerts") if a["kind"] == "record_quarantined"])
    assert f"conversations key {ALICE}" in alerts[0]["text"] and "meta key seq:message" in alerts[0]["text"]
    # no actor crash-looped: sessions of both masters are still the same processes' healthy selves
    masters = {m["phone"]: m for m in d.json("masters")}
    assert masters[MASTER]["device_state"] == masters[OTHER]["device_state"] == "connected"
    # a person drops the bad conversation for good; the counter stays (it was repaired)
    d.cli("store", "delete", "conversations", ALICE)
    assert [(r["db"], r["key"]) for r in quarantined(d)] == [("meta", "seq:message")]
    ping(d, ALICE, "a3")


def test_bad_master_records_do_not_stop_the_daemon_and_can_be_restored(served):
    d = served
    d.stop()
    third = "+971500000777"
    put_raw(d.home, "masters", third.encode(), msgpack.packb({"phone": third, "name": "Leasing", "priority": "high"}))
    put_raw(d.home, "masters", b"+971500000778", b"\xc1 not msgpack")
    check = d.cli("store", "check", "--json", check=False)
    assert check.returncode == 1
    invalid = {r["key"]: r for r in json.loads(check.stdout)}
    assert invalid[third]["state"] == "invalid" and "Master.priority: expected int" in invalid[third]["reason"]
    assert "not msgpack" in invalid["+971500000778"]["reason"]
    d.start()
    ping(d, ALICE, "a2")             # the daemon starts and serves
    ping(d, BOB, "b2")
    alerts = poll("the quarantine alert", lambda: [a for a in d.json("alerts") if a["kind"] == "record_quarantined"])
    assert f"masters key {third}" in " ".join(a["text"] for a in alerts)
    assert {m["phone"] for m in d.json("masters")} == {MASTER, OTHER}
    # restoring it as it is would only set it aside again: refused, nothing changed
    refused = d.cli("store", "restore", "masters", third, check=False)
    assert refused.returncode == 1 and "still does not fit" in refused.stderr
    d.cli("store", "delete", "masters", "+971500000778")
    left = quarantined(d)
    assert [(r["db"], r["key"], r["state"]) for r in left] == [("masters", third, "quarantined")]
    bad = d.cli("store", "delete", "nosuchdb", "x", check=False)
    assert bad.returncode == 2 and "unknown database" in bad.stderr
