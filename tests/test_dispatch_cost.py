"""The balancer's work per send report stays in proportion to its windows, not to the outbox.

At 5,000 campaign contacts each finished send was reported alone and each report made the
balancer re-read (and type-check) 2,000 + 500 entries of the outbox head, in flight ones
included: delivery fell from 1,804 to ~20 msg/s (bench/outbox.py). Here: a pass reads about
twice the free room (balancing/dispatch_cost.py) and never reads an entry in flight
(storage/outbox.py `skip`); a session reports finished sends in batches
(actors/session_sends.py).
"""
from __future__ import annotations

import threading
import time

import pytest

from balancing import dispatch_cost as cost
from runtime import config
from storage import Store, outbox

PHONE = "+971505760056"


def test_free_slots_are_the_usable_masters_windows_less_their_entries_in_flight():
    in_flight = ["+1"] * 60 + ["+2"] * 64 + ["+9"] * 5          # +9 is not usable: not counted
    assert cost.free_slots(in_flight, ["+1", "+2", "+3"], 64) == 4 + 0 + 64


def test_a_pass_reads_in_proportion_to_the_free_room_within_the_old_caps():
    assert cost.read_caps(4, 3, 64) == {"limit": 192, "campaign_limit": 64}
    assert cost.read_caps(150, 3, 64) == {"limit": 300, "campaign_limit": 300}
    assert cost.read_caps(10_000, 3, 64) == {"limit": cost.LANE_READ_MAX,
                                             "campaign_limit": cost.CAMPAIGN_READ_MAX}


def test_conversation_counts_are_recounted_less_often_the_longer_the_count_takes():
    assert cost.views_ttl(0.002) == cost.VIEWS_TTL_S
    assert cost.views_ttl(0.2) == pytest.approx(0.2 / cost.VIEWS_COST_SHARE)


def test_entries_in_flight_are_never_read_and_do_not_count_against_a_cap(tmp_path, monkeypatch):
    with Store(str(tmp_path)) as store:
        ids = store.write(lambda txn: [outbox.enqueue(txn, f"+4477{i:08d}", "offer", kind="campaign",
                                                      campaign="c")[0].id for i in range(10)])
        read = []
        real_get = outbox.get
        monkeypatch.setattr(outbox, "get", lambda txn, i: read.append(i) or real_get(txn, i))
        with store.read() as txn:
            got = outbox.pending(txn, campaign_limit=3, skip=set(ids[:6]))
    assert [e.id for e in got] == ids[6:9]
    assert read == ids[6:9]            # the six in flight were passed over before any read


class FakeTransport:
    """Sends that wait for the test to let them through, one by one."""

    def __init__(self):
        self.gate = threading.Semaphore(0)
        self.sent = []

    def send(self, to, text, key, media=None):
        self.gate.acquire()
        self.sent.append(key)
        return f"id-{key}"

    def close(self):
        pass


@pytest.fixture
def session(tmp_path):
    from actors.session import MasterSession

    class SendPath(MasterSession):
        """The actor's own send code without its start: no peers; timers recorded, not armed."""

        def __init__(self):
            super().__init__()
            self.phone, self.state = PHONE, "connected"
            self.cfg = config.from_dict({"session": {"typing_max_s": 0}})
            self.store = Store(str(tmp_path / "home"))
            self.transport = FakeTransport()
            self.start_workers()
            self.said, self.timers = [], []

        def send(self, to, msg):
            self.said.append(msg)

        def after(self, seconds, name, payload=None):
            self.timers.append(name)

        def timer_pending(self, name):
            return name in self.timers

        def cancel_timer(self, name):
            self.timers = [t for t in self.timers if t != name]

        def let_through(self, n: int) -> None:
            """Release n sends and poll until their outcomes are in (as the actor's watch would)."""
            for _ in range(n):
                self.transport.gate.release()
            deadline = time.monotonic() + 10
            while len(self.sends._done) < n:      # finished, waiting for the actor's poll
                assert time.monotonic() < deadline, "sends did not finish"
                time.sleep(0.005)
            self.poll_workers()

    s = SendPath()
    yield s
    for _ in range(100):
        s.transport.gate.release()
    s.sends.close(1)
    s.control.close(1)
    s.store.close()


def test_a_session_reports_finished_sends_in_batches_not_one_by_one(session):
    from actors.session_sends import REPORT_BATCH

    ids = session.store.write(lambda txn: [outbox.enqueue(txn, f"+4477{i:08d}", "offer", kind="campaign",
                                                          campaign="c")[0].id for i in range(40)])
    session._send_entries(ids, "balancer")
    session.let_through(3)
    assert session.said == [] and session.timers == ["report-sends"]   # a few: wait for more
    session.let_through(REPORT_BATCH)
    [first] = session.said
    assert first.sent == ids[:3 + REPORT_BATCH]                        # a full batch: told at once
    session.let_through(2)
    assert len(session.said) == 1
    session.on_timer("report-sends", None)                             # ... or when the timer is due
    assert session.said[1].sent == ids[3 + REPORT_BATCH:5 + REPORT_BATCH]
    session.let_through(40 - 5 - REPORT_BATCH)                         # the last: nothing left to wait for
    assert session.said[-1].sent == ids[5 + REPORT_BATCH:]
    told = [i for r in session.said for i in r.sent]
    assert told == ids                                                 # each exactly once, in order
    with session.store.read() as txn:
        assert outbox.pending(txn) == []
