"""The outbox's lanes (storage/outbox_lanes.py) and the campaigns' counters (storage/campaigns.py).

Replies (and operators' sends) come before admins' alerts, alerts before hand-over notes, notes
before campaigns, each lane oldest first; a lane is read only up to its cap; the index follows
an entry's state in the same transaction; `campaign status` reads counters kept by deliveries.
"""
from __future__ import annotations

from storage import Store, campaigns, outbox, schema


def fill(txn):
    ids = {}
    for n, (kind, to) in enumerate([("campaign", "+447700900001"), ("handover", "+447700900002"),
                                    ("alert", "+447700900003"), ("reply", "+447700900004"),
                                    ("campaign", "+447700900005"), ("manual", "+447700900006"),
                                    ("reply", "+447700900007")]):
        entry, _ = outbox.enqueue(txn, to, f"{kind} {n}", kind=kind)
        ids[entry.to] = entry.id
    return ids


def test_pending_serves_replies_then_alerts_then_notes_then_campaigns_each_oldest_first(tmp_path):
    with Store(str(tmp_path)) as store:
        store.write(fill)
        with store.read() as txn:
            got = [(e.kind, e.to[-1]) for e in outbox.pending(txn)]
    assert got == [("reply", "4"), ("manual", "6"), ("reply", "7"), ("alert", "3"), ("handover", "2"),
                   ("campaign", "1"), ("campaign", "5")]


def test_a_lane_is_read_only_to_its_cap_and_a_campaign_never_hides_a_reply(tmp_path):
    with Store(str(tmp_path)) as store:
        def many(txn):
            for i in range(1000):
                outbox.enqueue(txn, f"+4477{i:08d}", "offer", kind="campaign", campaign="big")
            outbox.enqueue(txn, "+447700999999", "pong")
        store.write(many)
        with store.read() as txn:
            got = outbox.pending(txn, limit=10, campaign_limit=3)
    assert [e.text for e in got] == ["pong", "offer", "offer", "offer"]


def test_the_index_follows_delivery_death_and_retry(tmp_path):
    with Store(str(tmp_path)) as store:
        ids = store.write(fill)
        store.write(lambda txn: outbox.delivered(txn, ids["+447700900004"], "m1", "+971500000001"))
        store.write(lambda txn: outbox.failed(txn, ids["+447700900003"], "boom", 0.0, max_attempts=1))
        with store.read() as txn:
            tos = [e.to[-1] for e in outbox.pending(txn)]
        assert "4" not in tos and "3" not in tos     # delivered; dead
        store.write(lambda txn: outbox.retry(txn, ids["+447700900003"]))
        with store.read() as txn:
            assert [e.to[-1] for e in outbox.pending(txn)][:3] == ["6", "7", "3"]


def test_campaign_counters_follow_deliveries_deaths_and_retries(tmp_path):
    with Store(str(tmp_path)) as store:
        def queue(txn):
            entries = [outbox.enqueue(txn, f"+4477009{i:05d}", "offer", kind="campaign", campaign="spring")[0]
                       for i in range(5)]
            campaigns.put(txn, campaigns.Campaign(name="spring", text="offer", contacts=5))
            return [e.id for e in entries]
        ids = store.write(queue)
        store.write(lambda txn: [outbox.delivered(txn, i, f"m{i}", "+971500000001") for i in ids[:2]])
        store.write(lambda txn: outbox.failed(txn, ids[2], "no", 0.0, max_attempts=1))
        with store.read() as txn:
            c = campaigns.get(txn, "spring")
        assert (c.sent, c.dead) == (2, 1)
        store.write(lambda txn: outbox.retry(txn, ids[2]))
        with store.read() as txn:
            assert campaigns.get(txn, "spring").dead == 0


def test_the_migration_builds_the_index_and_the_counters_of_an_older_store(tmp_path, monkeypatch):
    home = str(tmp_path)
    with Store(home) as store:
        def old_store(txn):
            ids = fill(txn)
            entry, _ = outbox.enqueue(txn, "+447700900008", "offer", kind="campaign", campaign="x",
                                      key="campaign:x:+447700900008")
            campaigns.put(txn, campaigns.Campaign(name="x", text="offer", contacts=1))
            outbox.delivered(txn, entry.id, "m", "+971500000001")
            for _, _k in list(txn.scan("outbox_lanes")):
                txn.delete("outbox_lanes", _)
            record = txn.get("campaigns", b"campaign:x")
            txn.put("campaigns", b"campaign:x", {k: v for k, v in record.items() if k not in ("sent", "dead")})
            txn.raw.put(b"schema", schema.codec.u64(1), db=txn.store.dbs["meta"])
            return ids
        store.write(old_store)
        with store.read() as txn:
            assert outbox.pending(txn) == []          # the index is gone: nothing would be sent
    with Store(home) as store, store.read() as txn:  # reopened: schema 2 runs
        assert len(outbox.pending(txn)) == 7
        assert campaigns.get(txn, "x").sent == 1
