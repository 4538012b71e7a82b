"""A session whose own inbound write finds the disk full (actors/session.py, actors/store_room.py).

The session's methods on a real store whose writes are refused with StoreFull
while `full`: the messages are not acknowledged (the network keeps them), held
in order, and stored, acknowledged and answered when room returns.
"""
from __future__ import annotations

import pytest

from actors import store_room
from actors.messages import Alert, ReplyBudget
from storage import conversations
from storage.faults import StoreFull
from test_session_replies import CUSTOMER, PHONE, home, make_session, ping  # noqa: F401 (home: fixture)

OTHER_CUSTOMER = "+447700900002"


@pytest.fixture
def s(home, monkeypatch):
    session = make_session(home)
    session.peers["ha-monitor"] = "monitor"
    real, session.full = session.store.write, True

    def write(fn):
        if session.full:
            raise StoreFull(f"the disk of {home} is full (0 bytes free): nothing of this change was written")
        return real(fn)
    monkeypatch.setattr(session.store, "write", write)
    session.on_budget(ReplyBudget(size=8))
    yield session
    session.close()


def texts(s, customer):
    with s.store.read() as txn:
        return [m.text for m in conversations.messages(txn, customer)]


def test_inbound_held_unacknowledged_then_stored_and_answered_in_order_when_room_returns(s):
    s._inbound([ping(1)])
    s._inbound([ping(2), ping(1, OTHER_CUSTOMER)])
    assert s.transport.acked == []                         # the network still has them
    assert texts(s, CUSTOMER) == []
    assert [m.kind for m in s.said if isinstance(m, Alert)] == ["store_full"]   # said once
    assert store_room.TIMER in s.timers
    s.on_timer(store_room.TIMER, None)                     # still full: nothing changes
    assert s.transport.acked == [] and len(s.held_inbound) == 3
    s.full = False
    s.on_timer(store_room.TIMER, None)
    s.finish()
    assert s.transport.acked == [f"WAMID-{CUSTOMER}-1", f"WAMID-{CUSTOMER}-2", f"WAMID-{OTHER_CUSTOMER}-1"]
    assert texts(s, CUSTOMER) == ["!ping", "!ping", "pong", "pong"]
    assert texts(s, OTHER_CUSTOMER) == ["!ping", "pong"]
    assert s.held_inbound == []
    assert [m.kind for m in s.said if isinstance(m, Alert)] == ["store_full", "store_room_again"]


def test_a_new_message_with_room_waits_behind_the_held_ones(s):
    s._inbound([ping(1)])
    s.full = False
    s._inbound([ping(2)])                                  # room, but an older message is held
    assert s.transport.acked == [] and len(s.held_inbound) == 2
    s.on_timer(store_room.TIMER, None)
    assert s.transport.acked == [f"WAMID-{CUSTOMER}-1", f"WAMID-{CUSTOMER}-2"]


def test_a_device_state_change_is_kept_in_memory_and_saved_when_room_returns(s):
    from storage import masters
    s.full = False
    s.store.write(lambda txn: masters.put(txn, masters.Master(phone=PHONE, name="M")))
    s.full = True
    s._set_state("disconnected", "test")                   # did not raise
    assert s.state == "disconnected"
    s.full = False
    s.on_timer(store_room.TIMER, None)
    with s.store.read() as txn:
        assert masters.get(txn, PHONE).device_state == "disconnected"
