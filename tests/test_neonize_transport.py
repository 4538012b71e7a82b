"""NeonizeTransport against the real neonize client, offline.

goneonize's C functions (neonize._binder.gocode) are replaced at the ctypes
boundary by FakeGo, which calls neonize's own ctypes callbacks the way the Go
side does: events go through NewClient's real dispatch (Event.execute), QR codes
through its QR callback. Sends go through the real NewClient.send_message.

These tests import neonize, so they run in a child pytest (tests/neonize_support.py
says why). The real Go library with no network: test_neonize_no_network.py.
"""
from __future__ import annotations

import os
import select
import threading
import time

import pytest

from neonize_support import IN_CHILD, PHONE, FakeGo, collect_where_runnable, run_in_child
from transports.base import TransportError
from transports.events import (Banned, ConnectFailed, Connected, Disconnected, Inbound, LoggedOut,
                               Outdated, Paired, PairingCode, QRCode, Receipt, Replaced)

CUSTOMER = "971559876543"


def test_neonize_cases_in_a_child_process():
    run_in_child(__file__)


@pytest.fixture
def N():
    if not IN_CHILD:
        pytest.skip("needs neonize: runs in test_neonize_cases_in_a_child_process")
    from neonize.proto import Neonize_pb2
    return Neonize_pb2


@pytest.fixture
def go(N, monkeypatch):
    from transports.neonize import binding
    gocode = binding.load().gocode
    fake = FakeGo(N)
    for name in ("Neonize", "Stop", "SendMessage", "PairPhone", "Logout", "IsConnected",
                 "IsLoggedIn", "GetAllDevices", "Upload", "SendChatPresence", "MarkRead"):
        monkeypatch.setattr(gocode, name, getattr(fake, name))
    yield fake
    fake.release.set()


@pytest.fixture
def make(go, tmp_path):
    from transports.neonize.transport import NeonizeTransport
    made = []

    def make(**kwargs):
        kwargs.setdefault("stop_timeout_s", 1.0)
        t = NeonizeTransport(PHONE, str(tmp_path / "sessions" / f"{PHONE}.sqlite"), **kwargs)
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()
    go.release.set()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and _neonize_threads():
        time.sleep(0.02)
    assert not _neonize_threads(), "threads left behind"


def _neonize_threads():
    """Our threads, and neonize's connect worker (named after the client's uuid)."""
    return [t.name for t in threading.enumerate()
            if t.name.startswith("neonize-") or t.name == PHONE[1:]]


def wait_events(t, n: int = 1, timeout: float = 3.0) -> list:
    """Events from poll(), woken by fileno() like the session actor, until n arrived."""
    events, deadline = [], time.monotonic() + timeout
    while len(events) < n and time.monotonic() < deadline:
        readable, _, _ = select.select([t.fileno()], [], [], max(0.0, deadline - time.monotonic()))
        if readable:
            events += t.poll()
    return events


def jid(N, user, server="s.whatsapp.net", device=0):
    return N.JID(User=user, Server=server, Device=device, RawAgent=0, Integrator=0, IsEmpty=False)


# --- connecting and the dispatch path -----------------------------------------------------

def test_every_mapped_event_type_is_subscribed_when_neonize_connects(go, make):
    from neonize.events import EVENT_TO_INT
    from transports.neonize.mapping import _MAPPERS
    t = make()
    t.connect()
    conn = go.wait_connection(1)
    mapped = {code for ev, code in EVENT_TO_INT.items()
              if ev.DESCRIPTOR.full_name in _MAPPERS and ev.DESCRIPTOR.name != "QR"}
    assert mapped and conn.subscribed == mapped   # QR codes come through the QR callback


def test_connect_resumes_the_device_stored_for_this_number(go, make):
    go.devices = (b"971500000009:3@s.whatsapp.net,Someone else,,true|\x01|"
                  + f"{PHONE[1:]}:7@s.whatsapp.net,Push, Inc.,,true".encode())
    make().connect()
    conn = go.wait_connection(1)
    assert (conn.jid.User, conn.jid.Device, conn.jid.Server) == (PHONE[1:], 7, "s.whatsapp.net")
    assert conn.new_device == 0 and conn.uuid == PHONE[1:].encode()


def test_connect_without_a_stored_session_fails_permanently_without_connecting(go, make):
    go.devices = b"971500000009:3@s.whatsapp.net,Someone else,,true"
    t = make()
    t.connect()
    [event] = wait_events(t)
    assert isinstance(event, ConnectFailed) and event.permanent and "not linked" in event.reason
    assert go.connections == []


def test_events_go_through_neonize_dispatch_into_poll(N, go, make):
    from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message
    t = make()
    t.connect()
    conn = go.wait_connection(1)
    customer = jid(N, CUSTOMER, device=2)
    source = N.MessageSource(Chat=jid(N, CUSTOMER), Sender=customer, IsFromMe=False, IsGroup=False)
    group = N.MessageSource(Chat=jid(N, "1203630", "g.us"), Sender=customer, IsGroup=True)
    sent = [
        N.Connected(status=True),
        N.Message(Info=N.MessageInfo(MessageSource=source, ID="3EB0IN", Timestamp=1_700_000_000_500),
                  Message=Message(conversation="!ping")),
        N.Message(Info=N.MessageInfo(MessageSource=group, ID="3EB0GR", Timestamp=1),
                  Message=Message(conversation="in a group")),       # ignored by the mapping
        N.Receipt(MessageSource=source, MessageIDs=["3EB0SENT"], Type=N.Receipt.READ),
        N.KeepAliveTimeout(ErrorCount=1),
        N.KeepAliveRestored(),
        N.StreamReplaced(),
        N.TemporaryBan(Code=N.TemporaryBan.SEND_TO_TOO_MANY_PEOPLE, Expire=60),
        N.Disconnected(status=True),
    ]
    assert all(conn.deliver(ev) for ev in sent)
    assert not conn.deliver(N.Presence(From=customer))   # never subscribed: Go would not send it
    before = time.time()
    events = wait_events(t, 8)
    assert events[:7] == [
        Connected(),
        Inbound(message_id="3EB0IN", sender="+" + CUSTOMER, text="!ping", timestamp=1_700_000_000.5),
        Receipt(message_ids=("3EB0SENT",), kind="read", sender="+" + CUSTOMER),
        Disconnected(reason="keepalive", redialing=True), Connected(), Replaced(),
        Banned(code=N.TemporaryBan.SEND_TO_TOO_MANY_PEOPLE, expires_ts=events[6].expires_ts)]
    assert before + 59 <= events[6].expires_ts <= time.time() + 61
    assert events[7:] == [Disconnected(reason="connection lost", redialing=True)]
    assert select.select([t.fileno()], [], [], 0)[0] == [] and t.poll() == []


def test_a_connect_that_fails_at_once_is_connect_failed_and_not_retried(go, make):
    go.connect_error = (b'failed to dial whatsapp web websocket: failed to WebSocket dial: '
                        b'dial tcp: lookup web.whatsapp.com: no such host')
    t = make()
    t.connect()
    [event] = wait_events(t)
    assert isinstance(event, ConnectFailed) and not event.permanent
    assert event.reason.startswith("WhatsApp could not be reached") and "no such host" in event.reason
    time.sleep(0.3)
    assert len(go.connections) == 1 and t.poll() == []


def test_a_session_store_error_says_so(go, make):
    go.devices = b"error: failed to upgrade database: dial tcp 127.0.0.1:9: connect: connection refused"
    t = make()
    t.connect()
    [event] = wait_events(t)
    assert isinstance(event, ConnectFailed) and "session store could not be opened" in event.reason


def test_connect_while_up_is_a_no_op_and_while_down_starts_afresh(N, go, make):
    t = make()
    t.connect()
    first = go.wait_connection(1)
    go.connected = True
    t.connect()
    time.sleep(0.2)
    assert len(go.connections) == 1 and not first.stopped.is_set()
    go.connected = False          # e.g. after StreamReplaced: whatsmeow does not reconnect
    t.connect()
    second = go.wait_connection(2)
    assert first.stopped.is_set() and ("Stop", PHONE[1:].encode()) in go.calls
    first.deliver(N.Connected(status=True))            # late event of the stopped connection
    second.deliver(N.StreamReplaced())
    assert wait_events(t) == [Replaced()]


def test_disconnect_stops_neonize_and_drops_late_events(N, go, make):
    t = make()
    t.connect()
    conn = go.wait_connection(1)
    t.disconnect()
    assert conn.stopped.is_set() and not _neonize_threads()
    conn.deliver(N.Connected(status=True))
    assert wait_events(t, timeout=0.3) == []


def test_close_returns_even_when_neonize_never_does(go, make):
    go.ignore_stop = True          # what whatsmeow does to a stop during QR pairing
    t = make(stop_timeout_s=0.5)
    t.connect()
    go.wait_connection(1)
    started = time.monotonic()
    t.close()
    t.close()                      # safe twice
    assert time.monotonic() - started < 1.5


# --- pairing --------------------------------------------------------------------------------

def test_pair_shows_qr_codes_for_a_new_device(go, make):
    go.devices = b""
    t = make()
    t.pair()
    conn = go.wait_connection(1)
    assert conn.new_device == 1 and conn.jid is None
    conn.qr("2@first")
    conn.qr("2@second")
    assert wait_events(t, 2) == [QRCode(data="2@first"), QRCode(data="2@second")]


def test_pair_with_phone_code_asks_once_after_the_first_qr(N, go, make):
    go.devices = b""
    t = make()
    t.pair(phone_code=True)
    conn = go.wait_connection(1)
    time.sleep(0.1)
    assert not [c for c in go.calls if c[0] == "PairPhone"]   # only once the QR is up
    conn.qr("2@first")
    assert wait_events(t) == [PairingCode(code="ABCD-1234")]
    conn.qr("2@second")
    time.sleep(0.2)
    asked = [c[1] for c in go.calls if c[0] == "PairPhone"]
    assert len(asked) == 1 and asked[0].phone == PHONE[1:] and t.poll() == []


def test_a_pairing_code_request_that_fails_is_connect_failed(N, go, make):
    go.devices = b""
    go.pair_reply = N.PairPhoneReturnFunction(Error="websocket not connected")
    t = make()
    t.pair(phone_code=True)
    go.wait_connection(1).qr("2@first")
    [event] = wait_events(t)
    assert isinstance(event, ConnectFailed) and "connection is down" in event.reason


def test_paired_then_connected(N, go, make):
    go.devices = b""
    t = make()
    t.pair()
    conn = go.wait_connection(1)
    assert t.pairing_expired(now=time.monotonic() + 161)
    conn.deliver(N.PairStatus(ID=jid(N, PHONE[1:], device=9), Status=N.PairStatus.SUCCESS))
    conn.deliver(N.Connected(status=True))
    assert wait_events(t, 2) == [Paired(jid=f"{PHONE[1:]}:9@s.whatsapp.net"), Connected()]
    assert not t.pairing_expired(now=time.monotonic() + 1000)


def test_pairing_with_another_phone_is_refused_and_stopped(N, go, make):
    go.devices = b""
    t = make()
    t.pair()
    conn = go.wait_connection(1)
    conn.deliver(N.PairStatus(ID=jid(N, "971500000009", device=4), Status=N.PairStatus.SUCCESS))
    paired, refused = wait_events(t, 2)
    assert paired == Paired(jid="971500000009:4@s.whatsapp.net")
    assert isinstance(refused, ConnectFailed) and refused.permanent and "+971500000009" in refused.reason
    assert conn.stopped.wait(2)


def test_pairing_login_statuses(go, make):
    go.devices = b""
    t = make()
    t.pair()
    conn = go.wait_connection(1)
    conn.login_status("timeout")             # the caller owns the pairing timeout: no event
    conn.login_status("success")             # PairStatus says it (Paired)
    conn.login_status("err-client-outdated")
    conn.login_status("err-scanned-without-multidevice")
    events = wait_events(t, 2)
    assert events[0] == Outdated()
    assert isinstance(events[1], ConnectFailed) and "scanned-without-multidevice" in events[1].reason
    assert wait_events(t, timeout=0.2) == []


def test_pair_again_while_pairing_keeps_the_pairing(go, make):
    go.devices = b""
    t = make()
    t.pair()
    conn = go.wait_connection(1)
    go.connected = True                      # QR pairing: connected, not logged in
    conn.qr("2@first")
    t.pair(phone_code=True)                  # the QR is up: ask for a code on this connection
    assert wait_events(t, 2) == [QRCode(data="2@first"), PairingCode(code="ABCD-1234")]
    t.pair()                                 # and a QR pairing again: same connection
    conn.qr("2@second")
    assert wait_events(t) == [QRCode(data="2@second")]
    assert len(go.connections) == 1 and not conn.stopped.is_set()


# --- sending -------------------------------------------------------------------------------

def connected(go, make, **kwargs):
    t = make(**kwargs)
    t.connect()
    go.wait_connection(1)
    return t


def test_send_returns_the_message_id(go, make):
    t = connected(go, make)
    assert t.send("+" + CUSTOMER, "pong", "reply:1") == "3EB0SENT"
    [(_, to, msg)] = [c for c in go.calls if c[0] == "SendMessage"]
    assert (to.User, to.Server) == (CUSTOMER, "s.whatsapp.net") and msg.conversation == "pong"


@pytest.mark.parametrize("error,meaning", [
    ("client is nil", "no active connection"),
    ("the store doesn't contain a device JID", "not linked"),
    ("websocket not connected", "connection is down"),
])
def test_known_send_failures_are_retryable_transport_errors(N, go, make, error, meaning):
    go.send_reply = lambda to, msg: N.SendMessageReturnFunction(Error=error)
    t = connected(go, make)
    with pytest.raises(TransportError) as caught:
        t.send("+" + CUSTOMER, "pong", "reply:1")
    assert caught.value.retryable and meaning in str(caught.value) and error in str(caught.value)


def test_a_send_that_blocks_times_out_in_time(N, go, make):
    unblock = threading.Event()

    def slow(to, msg):
        unblock.wait(5)
        return N.SendMessageReturnFunction(SendResponse=N.SendResponse(ID="late"))

    go.send_reply = slow
    t = connected(go, make, send_timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        t.send("+" + CUSTOMER, "pong", "reply:1")
    assert time.monotonic() - started < 1.0
    assert caught.value.retryable and "did not answer within 0.3 s" in str(caught.value)
    unblock.set()


def test_sends_that_cannot_go_out(go, make):
    t = make()
    with pytest.raises(TransportError) as caught:
        t.send("+" + CUSTOMER, "pong", "k")
    assert caught.value.retryable and "not connected" in str(caught.value)
    with pytest.raises(TransportError) as caught:
        connected(go, make).send("0501234567", "pong", "k")
    assert not caught.value.retryable


# --- logout ---------------------------------------------------------------------------------

def test_logout_tells_whatsapp_and_emits_logged_out(go, make):
    t = connected(go, make)
    t.logout()
    assert ("Logout", PHONE[1:].encode()) in go.calls and go.connections[0].stopped.is_set()
    assert wait_events(t) == [LoggedOut(reason="logged out by request")]


def test_logout_that_cannot_reach_whatsapp_forgets_the_sqlite_session(go, make):
    go.logout_error = b"websocket not connected"
    t = connected(go, make)
    with open(t.store, "w") as f:
        f.write("session")
    t.logout()
    assert not os.path.exists(t.store)
    [event] = wait_events(t)
    assert isinstance(event, LoggedOut) and "not told" in event.reason


collect_where_runnable(globals())
