"""The inbound rule without an actor system: a crash on either side of the commit.

The end-to-end SIGKILL test shows nothing is lost or doubled under load, but
where its kills land is luck. Here the two decisive points are hit on
purpose: dying before the commit (the redelivery is handled as new) and
dying after the commit but before the ack (the redelivery is recognised).
The rule is conversations/inbound.py `handle_inbound`, called as the session
calls it: inside one `store.write`.
"""
from __future__ import annotations

import pytest

from conversations.inbound import Rules, handle_inbound
from runtime.config import Chat
from storage import Store, conversations, outbox
from transports import events as ev

MASTER, CUSTOMER = "+971505760056", "+447700900001"
PING = ev.Inbound("WAMID-1", CUSTOMER, "!ping", 1_000.0)


class Crash(Exception):
    pass


def handle(store, batch):
    return store.write(lambda txn: handle_inbound(txn, MASTER, batch, Chat(), Rules(now=1_005.0)))


def stored(store) -> tuple[int, int]:
    """(inbound messages in the conversation, replies queued or delivered)."""
    with store.read() as txn:
        inbound = [m for m in conversations.messages(txn, CUSTOMER) if m.direction == "in"]
        return len(inbound), len(outbox.all(txn))


@pytest.fixture
def store(tmp_path):
    with Store(str(tmp_path)) as s:
        yield s


def test_killed_after_commit_before_ack_the_redelivery_is_not_handled_again(store):
    [first] = handle(store, [PING])
    assert first.replies == 1 and stored(store) == (1, 1)     # committed: message and its reply
    assert handle(store, [PING]) == []                          # the network redelivers: not handled twice
    assert stored(store) == (1, 1)


def test_killed_before_commit_the_redelivery_is_handled_once(store, monkeypatch):
    def dies(*args, **kwargs):
        raise Crash("killed inside the transaction")
    monkeypatch.setattr("conversations.inbound.respond", dies)
    with pytest.raises(Crash):
        handle(store, [PING])
    assert stored(store) == (0, 0)         # nothing of it was kept
    monkeypatch.undo()
    [again] = handle(store, [PING])
    assert again.event.message_id == "WAMID-1" and stored(store) == (1, 1)


def test_a_batch_with_a_redelivered_message_handles_only_the_new_ones(store):
    handle(store, [PING])
    second = ev.Inbound("WAMID-2", CUSTOMER, "!ping", 1_001.0)
    assert [h.event.message_id for h in handle(store, [PING, second])] == ["WAMID-2"]
    assert stored(store) == (2, 2)
    with store.read() as txn:
        assert [e.text for e in outbox.all(txn)] == ["pong", "pong"]


def test_an_admin_command_is_forwarded_only_once_committed(store):
    from storage import admins, masters
    store.write(lambda txn: (admins.add(txn, CUSTOMER),
                             masters.put(txn, masters.Master(phone=MASTER, name="Sales"))))
    [h] = handle(store, [ev.Inbound("WAMID-3", CUSTOMER, "!health", 1_002.0)])
    assert [(f.command, f.chat_command) for f in h.forwards] == [("health.report", "health")]
    with store.read() as txn:
        assert [e.text for e in outbox.all(txn)] == ["Computing the health report…"]
