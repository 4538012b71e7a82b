"""The reply path off the balancer (issue 18): actors/session_replies.py, actors/balancer_budgets.py.

A session that owns the customer's conversation and holds reply budget claims the reply in
the inbound transaction and sends it itself, with no SendNow; without budget (or for another
master's customer) the reply is left to the balancer; a crash between the send and the
delivered mark gives the claim back at the next start and the reply is sent once more, no more.
The session's own methods run on a real store (no actor system needed).
"""
from __future__ import annotations

import threading
import time

import pytest

from actors.balancer_budgets import REPLY_BUDGET, ReplyBudgets
from actors.messages import InboundMessage, ReplyBudget, SendResult
from balancing.ratelimit import Limits, RateLimiter
from conversations.backlog import BacklogTally
from runtime import config
from storage import Store, conversations, metrics, outbox
from transports import events as ev

PHONE, OTHER, CUSTOMER = "+971505760056", "+971553633595", "+447700900001"


class FakeTransport:
    def __init__(self):
        self.sent, self.acked = [], []
        self.hold = threading.Event()
        self.hold.set()

    def send(self, to, text, key, media=None):
        self.hold.wait(10)
        self.sent.append((to, text, key))
        return f"id-{len(self.sent)}"

    def ack(self, message_id):
        self.acked.append(message_id)

    def mark_read(self, to, message_ids):   # the read receipt before a reply (balancing/pacing.py)
        pass

    def close(self):
        pass


def make_session(home: str):
    from actors.session import MasterSession

    class Receiving(MasterSession):
        """The actor's inbound and send code without its start: peers and timers are fakes."""

        def __init__(self):
            super().__init__()
            self.phone, self.state = PHONE, "connected"
            self.cfg = config.from_dict({"session": {"typing_max_s": 0}})
            self.store = Store(home)
            self.transport = FakeTransport()
            self.start_workers()
            self.start_replies()
            self.backlog, self.media = BacklogTally(), None
            self.nudge, self.nudged_at, self.nudge_armed = None, 0.0, False
            self.held_inbound, self.child_id = [], f"master:{PHONE}"
            self.peers = {"balancer": "balancer"}
            self.said, self.timers = [], set()

        def send(self, to, msg):
            self.said.append(msg)

        def after(self, seconds, name, payload=None):
            self.timers.add(name)

        def timer_pending(self, name):
            return name in self.timers

        def cancel_timer(self, name):
            self.timers.discard(name)

        def finish(self) -> None:
            deadline = time.monotonic() + 10
            while self.sending:
                assert time.monotonic() < deadline, "a send did not finish"
                time.sleep(0.005)
                self.poll_workers()

        def close(self):
            self.transport.hold.set()
            self.sends.close(1)
            self.control.close(1)
            self.store.close()

    return Receiving()


@pytest.fixture
def home(tmp_path):
    return str(tmp_path / "home")


def ping(n: int = 1, customer: str = CUSTOMER) -> ev.Inbound:
    return ev.Inbound(f"WAMID-{customer}-{n}", customer, "!ping", time.time())


def reports(s) -> SendResult:
    out = SendResult(master=PHONE)
    for r in s.said:
        if isinstance(r, SendResult):
            out.sent += r.sent
            out.failed += r.failed
            out.claimed += r.claimed
    return out


def test_with_budget_the_reply_leaves_from_the_receiving_session_without_a_send_now(home):
    s = make_session(home)
    try:
        s.on_budget(ReplyBudget(size=4))
        s.transport.hold.clear()                       # the send is on its way ...
        s._inbound([ping()])
        with s.store.read() as txn:
            [entry] = [e for _, e in txn.scan("outbox", outbox.OutboxEntry)]
            assert entry.claimed_by == PHONE
            assert outbox.pending(txn) == []           # ... and the balancer cannot see it meanwhile
        s.transport.hold.set()
        s.finish()
        assert s.transport.sent == [(CUSTOMER, "pong", f"reply:{PHONE}:WAMID-{CUSTOMER}-1:0")]
        assert s.claimed == {}                         # its unit of budget is back
        told = reports(s)
        assert told.sent == [entry.id] and told.claimed == [(entry.id, CUSTOMER)]
        with s.store.read() as txn:
            assert outbox.get(txn, entry.id) is None   # marked delivered by the session itself
            assert metrics.get(txn, f"replies_direct:{PHONE}") == 1
            assert [m.text for m in conversations.messages(txn, CUSTOMER)] == ["!ping", "pong"]
    finally:
        s.close()


def test_without_budget_the_reply_is_left_to_the_balancer(home):
    s = make_session(home)
    try:
        s._inbound([ping()])
        time.sleep(0.05)
        s.poll_workers()
        assert s.transport.sent == []
        with s.store.read() as txn:
            [entry] = outbox.pending(txn)
        assert entry.master == PHONE and entry.claimed_by is None
        assert any(isinstance(m, InboundMessage) for m in s.said)   # the balancer was told
    finally:
        s.close()


def test_a_customer_owned_by_another_master_is_left_to_the_balancer(home):
    s = make_session(home)
    try:
        s.store.write(lambda txn: conversations.put(txn, conversations.Conversation(
            customer=CUSTOMER, master=OTHER)))
        s.on_budget(ReplyBudget(size=4))
        s._inbound([ping()])
        with s.store.read() as txn:
            [entry] = outbox.pending(txn)
        assert entry.master == OTHER and s.transport.sent == [] and s.claimed == {}
    finally:
        s.close()


def test_the_budget_bounds_how_many_claimed_replies_are_unfinished_at_once(home):
    s = make_session(home)
    try:
        s.on_budget(ReplyBudget(size=2))
        s.transport.hold.clear()
        s._inbound([ping(1, f"+4477009000{i:02d}") for i in range(5)])
        assert len(s.claimed) == 2
        with s.store.read() as txn:
            assert len(outbox.pending(txn)) == 3          # the rest: the balancer's
        s.transport.hold.set()
        s.finish()
        s._inbound([ping(2)])                             # the two finished: room again
        assert len(s.claimed) == 1
        s.finish()
        s.on_budget(ReplyBudget(size=0))                  # revoked: nothing claimed any more
        s._inbound([ping(3)])
        assert s.claimed == {} and len(s.transport.sent) == 3
    finally:
        s.close()


def test_a_crash_between_the_send_and_the_delivered_mark_resends_at_most_once(home):
    s = make_session(home)
    s.on_budget(ReplyBudget(size=4))
    s._inbound([ping()])
    deadline = time.monotonic() + 10
    while not s.transport.sent:                     # sent on the network ...
        assert time.monotonic() < deadline
        time.sleep(0.005)
    first = list(s.transport.sent)
    s.close()                                       # ... and the process dies before the mark
    again = make_session(home)                      # the restarted session gives its claim back
    try:
        with again.store.read() as txn:
            [entry] = outbox.pending(txn)
        assert entry.claimed_by is None and entry.master == PHONE
        again.on_budget(ReplyBudget(size=4))
        again._send_entries([entry.id], "balancer")  # the balancer's one SendNow
        again.finish()
        assert again.transport.sent == first         # the same key once more, and no more
        with again.store.read() as txn:
            assert outbox.get(txn, entry.id) is None and outbox.pending(txn) == []
    finally:
        again.close()


class FakeBalancer(ReplyBudgets):
    def __init__(self, limits: Limits):
        self.sessions = {PHONE: "session-1"}
        self.granted, self.in_grace, self.usable = {}, set(), True
        self.limits = limits
        self.limiters = {PHONE: RateLimiter(limits)}
        self._records = {PHONE: object()}
        self.out = []

    def views(self):
        return []

    def _usable(self, record):
        return self.usable

    def send(self, to, msg):
        self.out.append((to, msg))


def test_the_balancer_grants_records_and_revokes_reply_budgets():
    b = FakeBalancer(Limits())
    b.grant_budgets()
    [(to, grant)] = b.out
    assert to == "session-1" and grant.size == REPLY_BUDGET and grant.reply_gap_s == 1.0
    b.grant_budgets()
    assert len(b.out) == 1                            # nothing changed: nothing sent
    b.budget_used(SendResult(master=PHONE, sent=[7, 8], claimed=[(7, CUSTOMER), (8, OTHER)]))
    assert b.limiters[PHONE].check("reply", CUSTOMER, time.time()) > 0   # the limits heard of it
    b.usable = False
    b.grant_budgets()
    assert b.out[-1][1].size == 0 and b.granted[PHONE] == 0             # revoked
