"""Storage against real LMDB files: crash safety, concurrency, corrupt records, growth."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

import pytest

from storage import Store, conversations, events, masters, outbox
from storage.codec import u64


def _writer(home: str, ready) -> None:
    """Commit records 0, 1, 2, ... forever, each a pair that must appear together."""
    store = Store(home)
    ready.set()
    n = 0
    while True:
        def commit(txn, n=n):
            txn.put("metrics", b"a%08d" % n, {"n": n, "pad": "x" * 200})
            txn.put("metrics", b"b%08d" % n, {"n": n})
        store.write(commit)
        n += 1


def test_sigkill_mid_stream_leaves_only_whole_commits(tmp_path):
    home = str(tmp_path)
    Store(home).close()
    ready = mp.get_context("fork").Event()
    proc = mp.get_context("fork").Process(target=_writer, args=(home, ready))
    proc.start()
    try:
        assert ready.wait(10)
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(5)
    finally:
        if proc.is_alive():
            proc.kill()
    with Store(home) as store, store.read() as txn:
        a = {v["n"] for _, v in txn.scan("metrics", prefix=b"a")}
        b = {v["n"] for _, v in txn.scan("metrics", prefix=b"b")}
    assert len(a) > 10, "the writer should have committed plenty before the kill"
    assert a == b, "a commit was torn: one half of a pair is missing"
    assert a == set(range(len(a))), "committed records are missing from the middle"


def _incrementer(home: str, rounds: int) -> None:
    store = Store(home)
    for _ in range(rounds):
        def bump(txn):
            for key in (b"x", b"y"):
                txn.put("metrics", key, (txn.get("metrics", key) or 0) + 1)
        store.write(bump)
    store.close()


def test_three_processes_updating_the_same_records_lose_no_update(tmp_path):
    home = str(tmp_path)
    Store(home).close()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_incrementer, args=(home, 300)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(home) as store, store.read() as txn:
        assert txn.get("metrics", b"x") == 900
        assert txn.get("metrics", b"y") == 900


def test_a_corrupt_value_is_reported_set_aside_and_skipped(tmp_path, capsys):
    home = str(tmp_path)
    with Store(home) as store:
        store.write(lambda txn: [masters.put(txn, masters.Master(phone=p, name=p))
                                 for p in ("+971500000001", "+971500000002", "+971500000003")])
        store.write(lambda txn: txn.raw.put(b"+971500000002", b"\xc1garbage", db=store.dbs["masters"]))
        with store.read() as txn:
            phones = [m.phone for m in masters.all(txn)]
        assert phones == ["+971500000001", "+971500000003"]
        with store.read() as txn:
            aside = list(txn.scan("quarantine"))
            assert masters.get(txn, "+971500000002") is None
        assert len(aside) == 1
        assert aside[0][1]["db"] == "masters" and aside[0][1]["key"] == b"+971500000002"
    err = capsys.readouterr()
    assert "corrupt_record" in err.out + err.err


def test_a_record_of_the_wrong_shape_is_set_aside_too(tmp_path):
    with Store(str(tmp_path)) as store:
        store.write(lambda txn: txn.put("masters", b"+971500000009", {"phone": "+971500000009"}))  # no name
        with store.read() as txn:
            assert masters.all(txn) == []


def test_the_map_grows_by_itself(tmp_path):
    with Store(str(tmp_path)) as store:
        start = store.env.info()["map_size"]
        blob = "x" * 100_000
        for i in range(0, 1200, 100):
            store.write(lambda txn, i=i: [txn.put("metrics", u64(j), blob) for j in range(i, i + 100)])
        assert store.env.info()["map_size"] > start
        with store.read() as txn:
            assert txn.count("metrics") == 1200


def test_a_failed_write_changes_nothing(tmp_path):
    with Store(str(tmp_path)) as store:
        def half_then_fail(txn):
            masters.put(txn, masters.Master(phone="+971500000001", name="a"))
            raise RuntimeError("boom")
        with pytest.raises(RuntimeError):
            store.write(half_then_fail)
        with store.read() as txn:
            assert masters.all(txn) == []


def test_outbox_idempotency_key_and_dead_letter(tmp_path):
    with Store(str(tmp_path)) as store:
        first, new = store.write(lambda txn: outbox.enqueue(txn, "+971501111111", "hi", key="k1"))
        again, new2 = store.write(lambda txn: outbox.enqueue(txn, "+971501111111", "hi", key="k1"))
        assert new and not new2 and again.id == first.id
        store.write(lambda txn: outbox.delivered(txn, first.id, "wamid-1", "+971500000001"))
        after, new3 = store.write(lambda txn: outbox.enqueue(txn, "+971501111111", "hi", key="k1"))
        assert not new3 and after["message_id"] == "wamid-1"
        e, _ = store.write(lambda txn: outbox.enqueue(txn, "+971501111111", "x", key="k2"))
        for _ in range(3):
            store.write(lambda txn: outbox.failed(txn, e.id, "nope", 0.0, max_attempts=3))
        with store.read() as txn:
            assert outbox.get(txn, e.id).state == "dead"
            assert outbox.pending(txn) == []
        store.write(lambda txn: outbox.retry(txn, e.id))
        with store.read() as txn:
            assert [x.id for x in outbox.pending(txn)] == [e.id]


def test_events_newest_first_and_conversation_messages(tmp_path):
    with Store(str(tmp_path)) as store:
        for i in range(5):
            store.write(lambda txn, i=i: events.append(txn, "tick", None, i=i))
        with store.read() as txn:
            assert [e.data["i"] for e in events.recent(txn, limit=3)] == [4, 3, 2]
        for i in range(3):
            store.write(lambda txn, i=i: conversations.add_message(txn, conversations.Message(
                customer="+971501111111", master="+971500000001", direction="in", text=str(i), ts=float(i))))
        with store.read() as txn:
            conv = conversations.get(txn, "+971501111111")
            assert conv.messages == 3 and conv.master == "+971500000001"
            assert [m.text for m in conversations.messages(txn, "+971501111111")] == ["0", "1", "2"]


def test_schema_migrations_run_once_in_order_and_a_newer_store_is_refused(tmp_path, monkeypatch):
    from storage import schema
    home = str(tmp_path)
    Store(home).close()  # the current version
    now = schema.CURRENT
    ran = []

    def to_next(txn):
        ran.append(now + 1)
        txn.put("metrics", b"migrated", now + 1)

    monkeypatch.setattr(schema, "CURRENT", now + 1)
    monkeypatch.setitem(schema.MIGRATIONS, now + 1, to_next)
    for _ in range(2):
        with Store(home) as store, store.read() as txn:
            assert schema.version(txn) == now + 1 and txn.get("metrics", b"migrated") == now + 1
    assert ran == [now + 1], "a migration runs once"

    monkeypatch.setattr(schema, "CURRENT", now)
    with pytest.raises(schema.SchemaTooNew):
        Store(home)
