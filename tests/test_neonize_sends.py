"""Sends from the durable outbox through the master session's send path, the real neonize
client object, and FakeGo at goneonize's ctypes boundary (tests/neonize_support.py).

A send WhatsApp accepted leaves the outbox with its message id; each failure goneonize
is known to answer stays in the outbox with a clear error and a later retry, and goes out
on that retry. The session's own methods are used (no actor system is needed for them).
Runs in a child pytest, like every test that imports neonize.
"""
from __future__ import annotations

import time

import pytest

from neonize_support import PHONE, collect_where_runnable, run_in_child
from actors.messages import SendResult
from runtime import config
from storage import Store, conversations, outbox
from test_neonize_transport import N, go, make  # noqa: F401 - fixtures

CUSTOMER = "+971559876543"


def test_neonize_cases_in_a_child_process():
    run_in_child(__file__)


@pytest.fixture
def session(make, tmp_path):
    """MasterSession's send path on a connected neonize transport and a real store."""
    from actors.session import MasterSession

    class SendPath(MasterSession):
        """The actor's own send code, set up without its start (no peers, no timers)."""

        def __init__(self):
            super().__init__()
            self.phone, self.state = PHONE, "connected"
            self.cfg = config.from_dict({"outbox": {"retry_min_s": 2.0, "max_attempts": 3},
                                         "session": {"typing_max_s": 0}})
            self.store = Store(str(tmp_path / "home"))
            self.transport = make()
            self.transport.connect()
            self.start_workers()
            self.said = []        # what the session sent to the balancer

        def send(self, to, msg):
            self.said.append(msg)

        def send_now(self, ids: list[int]) -> SendResult:
            """SendNow as the actor gets it: the sends run on the send worker; wait for them
            and gather what the session told the balancer."""
            self.said = []
            self._send_entries(ids, "balancer")
            deadline = time.monotonic() + 10
            while self.sending and time.monotonic() < deadline:
                time.sleep(0.01)
                self.poll_workers()
            assert not self.sending, "a send did not finish"
            result = SendResult(master=PHONE)
            for r in self.said:
                result.sent += r.sent
                result.failed += r.failed
                result.deferred += r.deferred
            return result

        def enqueue(self, text: str) -> int:
            entry, _ = self.store.write(lambda txn: outbox.enqueue(
                txn, CUSTOMER, text, kind="reply", key=f"k-{text}", master=PHONE))
            return entry.id

        def entry(self, entry_id: int):
            with self.store.read() as txn:
                return outbox.get(txn, entry_id)

        def due(self, now: float) -> list[int]:
            with self.store.read() as txn:
                return [e.id for e in outbox.pending(txn, PHONE, now)]

    s = SendPath()
    yield s
    s.sends.close(1)
    s.control.close(1)
    s.store.close()


def test_a_send_whatsapp_accepted_leaves_the_outbox_with_its_message_id(go, session):
    go.wait_connection(1)
    entry_id = session.enqueue("pong")
    result = session.send_now([entry_id])
    assert result.sent == [entry_id] and not result.failed
    assert session.entry(entry_id) is None
    with session.store.read() as txn:
        [out] = [m for m in conversations.messages(txn, CUSTOMER) if m.direction == "out"]
    assert (out.message_id, out.text, out.master) == ("3EB0SENT", "pong", PHONE)
    [(_, to, msg)] = [c for c in go.calls if c[0] == "SendMessage"]
    assert "+" + to.User == CUSTOMER and msg.conversation == "pong"


@pytest.mark.parametrize("error,meaning", [
    ("client is nil", "not connected to WhatsApp (no active connection)"),
    ("the store doesn't contain a device JID", "this master is not linked to WhatsApp"),
    ("websocket not connected", "not connected to WhatsApp (the connection is down)"),
])
def test_a_known_send_failure_stays_in_the_outbox_and_goes_out_on_the_retry(
        N, go, session, error, meaning):
    go.wait_connection(1)
    go.send_reply = lambda to, msg: N.SendMessageReturnFunction(Error=error)
    entry_id = session.enqueue("pong")
    before = time.time()
    result = session.send_now([entry_id])
    assert result.failed == [entry_id] and not result.sent
    entry = session.entry(entry_id)
    assert entry.state == "pending" and entry.attempts == 1
    assert meaning in entry.last_error and error in entry.last_error
    assert entry.next_ts >= before + 2.0              # [outbox] retry_min_s
    assert session.due(time.time()) == []             # not hammered straight away
    assert session.due(entry.next_ts) == [entry_id]   # ... but due for its retry

    go.send_reply = lambda to, msg: N.SendMessageReturnFunction(
        SendResponse=N.SendResponse(ID="3EB0RETRY", Timestamp=1, ServerID=1))
    assert session.send_now([entry_id]).sent == [entry_id]
    assert session.entry(entry_id) is None


def test_a_send_that_keeps_failing_ends_in_dead_letters_not_in_a_loop(N, go, session):
    go.wait_connection(1)
    go.send_reply = lambda to, msg: N.SendMessageReturnFunction(Error="websocket not connected")
    entry_id = session.enqueue("pong")
    for _ in range(3):                                 # [outbox] max_attempts
        session.send_now([entry_id])
    entry = session.entry(entry_id)
    assert entry.state == "dead" and entry.attempts == 3 and session.due(time.time() + 1e6) == []


def test_a_master_that_is_not_connected_defers_without_calling_whatsapp(go, session):
    go.wait_connection(1)
    session.state = "disconnected"
    entry_id = session.enqueue("pong")
    result = session.send_now([entry_id])
    assert result.deferred == [entry_id] and session.entry(entry_id).attempts == 0
    assert not [c for c in go.calls if c[0] == "SendMessage"]


@pytest.mark.parametrize("error,reason", [
    ("failed to get device list: no LID found for 971559876543@s.whatsapp.net from server",
     "not_on_whatsapp"),
    ("recipient has blocked this account", "blocked"),
    ("invalid JID: 971559876543", "invalid"),
])
def test_a_final_send_failure_is_dead_lettered_at_once_with_its_reason(N, go, session, error, reason):
    go.wait_connection(1)
    go.send_reply = lambda to, msg: N.SendMessageReturnFunction(Error=error)
    entry_id = session.enqueue("pong")
    result = session.send_now([entry_id])
    assert result.failed == [entry_id]
    entry = session.entry(entry_id)
    assert entry.state == "dead" and entry.attempts == 1        # max_attempts is 3: not used
    assert entry.last_error.startswith(reason + ":") and error in entry.last_error
    assert len([c for c in go.calls if c[0] == "SendMessage"]) == 1
    assert session.due(time.time() + 1e6) == []


collect_where_runnable(globals())
