"""Reconnecting beside whatsmeow's own redial, and a LoggedOut that leaves no stale device,
offline through neonize's real client and FakeGo (tests/neonize_support.py) (issue 15).

- After a Disconnected that whatsmeow redials, the session waits `[session]
  reconnect_grace_s` for the library's Connected; it steps in (one connect) only when
  none came, and that connect stops whatsmeow's attempt before starting its own.
- The transport never starts a connection while one that was up has not stopped.
- A LoggedOut from WhatsApp stops the dead client and forgets the sqlite session, so the
  next link is a new device; the session store is 0600.
"""
from __future__ import annotations

import os
import stat
import time

import pytest

from neonize_support import PHONE, collect_where_runnable, run_in_child
from conversations.backlog import BacklogTally
from runtime import config
from storage import Store
from test_neonize_transport import N, connected, go, make, wait_events  # noqa: F401 - fixtures
from transports.events import ConnectFailed, Connected, LoggedOut


def test_neonize_cases_in_a_child_process():
    run_in_child(__file__)


def wait(what, fn, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def session(make, tmp_path):
    """MasterSession's connection code on a neonize transport, without an actor system:
    its timers are recorded instead of armed."""
    from actors.session import MasterSession

    class Connection(MasterSession):
        def __init__(self):
            super().__init__()
            self.phone, self.state, self.attempts = PHONE, "connecting", 0
            self.replace_retry_used, self.own_logout_pending = False, False
            self.connected_since = None
            self.cfg = config.from_dict({"session": {"reconnect_grace_s": 20.0},
                                         "backoff": {"min_s": 1.0, "max_s": 4.0, "jitter": 0.0}})
            self.store = Store(str(tmp_path / "home"))
            self.transport = make()
            self.start_workers()
            self.backlog = BacklogTally()   # MasterSession.on_start's, which this harness skips
            self.resume_media = lambda: None   # (files left pending: tests/test_media_resume.py)
            self.timers = []

        def after(self, seconds, name, payload=None):
            self.timers.append((name, seconds))

        def send(self, to, msg):
            pass

        def events(self, n=1):
            self._on_events(wait_events(self.transport, n))
            self.poll_workers()   # as the actor does when its watched fileno wakes it

    s = Connection()
    yield s
    s.sends.close(1)
    s.control.close(1)
    s.store.close()


def test_the_session_leaves_the_redial_to_whatsmeow_and_steps_in_only_without_a_connected(
        N, go, session):
    session.off_thread("connect", session.transport.connect)
    conn = go.wait_connection(1)
    conn.deliver(N.Connected(status=True))
    session.events()
    assert session.state == "connected"
    conn.deliver(N.Disconnected(status=True))      # whatsmeow redials by itself
    session.events()
    assert session.state == "disconnected" and session.timers == [("reconnect", 20.0)]  # not 1 s
    conn.deliver(N.Connected(status=True))         # its redial worked
    session.events()
    session.on_timer("reconnect", None)            # the late timer does nothing
    time.sleep(0.3)
    assert session.state == "connected" and len(go.connections) == 1
    conn.deliver(N.Disconnected(status=True))      # this time no Connected follows
    session.events()
    session.on_timer("reconnect", None)
    second = go.wait_connection(2)
    assert conn.stopped.is_set() and not second.stopped.is_set()   # one attempt at a time
    assert session.state == "connecting" and len(go.connections) == 2


def test_no_new_connection_while_one_that_was_up_has_not_stopped(N, go, make):
    t = connected(go, make)
    go.connections[0].deliver(N.Connected(status=True))
    assert wait_events(t) == [Connected()]
    go.ignore_stop = True                          # whatsmeow holds its lock while redialing
    t.disconnect()
    t.connect()
    [event] = wait_events(t)
    assert isinstance(event, ConnectFailed) and "not stopped yet" in event.reason
    assert len(go.connections) == 1                # never two sockets for one account
    go.ignore_stop = False
    go.connections[0].stopped.set()                # it lets go at last
    wait("the old connection thread to end", lambda: not t._conn.still_connected())
    t.connect()
    assert not go.wait_connection(2).stopped.is_set()


def test_a_logged_out_from_whatsapp_forgets_the_session_and_the_next_link_is_a_new_device(
        N, go, make):
    t = connected(go, make)
    with open(t.store, "w") as f:
        f.write("a stale device")
    go.connections[0].deliver(N.LoggedOut(OnConnect=False, Reason=N.LOGGED_OUT))
    [event] = wait_events(t)
    assert isinstance(event, LoggedOut)
    wait("the sqlite session forgotten", lambda: not os.path.exists(t.store))
    assert go.connections[0].stopped.is_set()
    go.devices = b""                               # the store no longer knows this number
    t.pair()
    assert go.wait_connection(2).new_device        # a new device, not the dead one resumed


def test_the_sqlite_session_store_is_private(go, make):
    t = make()
    os.makedirs(os.path.dirname(t.store), exist_ok=True)
    with open(t.store, "w") as f:
        f.write("keys")
    os.chmod(t.store, 0o644)
    t.connect()
    go.wait_connection(1)
    assert stat.S_IMODE(os.stat(t.store).st_mode) == 0o600


collect_where_runnable(globals())
