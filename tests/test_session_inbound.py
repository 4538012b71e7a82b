"""The session's inbound path without an actor system: a crash on either side of the commit.

The end-to-end SIGKILL test shows nothing is lost or doubled under load, but
where its kills land is luck. Here the two decisive points are hit on
purpose: dying before the commit (the redelivery is handled as new) and
dying after the commit but before the ack (the redelivery is recognised).
"""
from __future__ import annotations

import pytest

from actors.session import MasterSession
from runtime import config
from storage import Store, conversations, outbox
from transports import events as ev

MASTER, CUSTOMER = "+971505760056", "+447700900001"
PING = ev.Inbound("WAMID-1", CUSTOMER, "!ping", 1_000.0)


class Crash(Exception):
    pass


class FakeTransport:
    def __init__(self, crash_on_ack: bool = False):
        self.acked: list[str] = []
        self.crash_on_ack = crash_on_ack

    def ack(self, message_id: str) -> None:
        if self.crash_on_ack:
            raise Crash("killed after the commit, before the ack")
        self.acked.append(message_id)


def session(home: str, transport: FakeTransport) -> MasterSession:
    """A MasterSession with just what its inbound path touches (a restarted process, each)."""
    s = MasterSession()
    s.phone, s.cfg, s.store, s.transport = MASTER, config.Config(), Store(home), transport
    s.peers, s.sent = {"balancer": "balancer-address"}, []
    s.send = lambda to, msg: s.sent.append((to, msg))
    s.timers, s.nudge, s.nudged_at, s.nudge_armed = {}, None, 0.0, False
    return s


def stored(s: MasterSession) -> tuple[int, int]:
    """(inbound messages in the conversation, replies queued or delivered)."""
    with s.store.read() as txn:
        inbound = [m for m in conversations.messages(txn, CUSTOMER) if m.direction == "in"]
        replies = [k for k, _ in txn.scan("outbox_keys") if k.startswith(b"reply:")]
        return len(inbound), len(replies)


def test_killed_after_commit_before_ack_the_redelivery_is_not_handled_again(tmp_path):
    home = str(tmp_path)
    first = session(home, FakeTransport(crash_on_ack=True))
    with pytest.raises(Crash):
        first._inbound([PING])
    assert stored(first) == (1, 1)         # committed: message and its reply
    first.store.close()

    again = session(home, FakeTransport())
    again._inbound([PING])                   # the network redelivers what was never acked
    assert again.transport.acked == ["WAMID-1"]
    assert stored(again) == (1, 1)         # not handled twice
    assert again.sent == []                  # and nobody is told about it again


def test_killed_before_commit_the_redelivery_is_handled_once(tmp_path, monkeypatch):
    home = str(tmp_path)
    first = session(home, FakeTransport())

    def dies(*args, **kwargs):
        raise Crash("killed inside the transaction")
    monkeypatch.setattr("actors.session.respond", dies)
    with pytest.raises(Crash):
        first._inbound([PING])
    assert first.transport.acked == []       # never acked: the network keeps it
    assert stored(first) == (0, 0)         # and nothing of it was kept
    first.store.close()
    monkeypatch.undo()

    again = session(home, FakeTransport())
    again._inbound([PING])
    assert again.transport.acked == ["WAMID-1"]
    assert stored(again) == (1, 1)
    [(to, nudge)] = again.sent
    assert to == "balancer-address" and nudge.message_id == "WAMID-1"


def test_a_batch_with_a_redelivered_message_handles_only_the_new_ones(tmp_path):
    home = str(tmp_path)
    s = session(home, FakeTransport())
    s._inbound([PING])
    second = ev.Inbound("WAMID-2", CUSTOMER, "!ping", 1_001.0)
    s.nudged_at = 0.0
    s._inbound([PING, second])
    assert s.transport.acked == ["WAMID-1", "WAMID-1", "WAMID-2"]
    assert stored(s) == (2, 2)
    with s.store.read() as txn:
        assert [e.text for e in outbox.all(txn)] == ["pong", "pong"]
