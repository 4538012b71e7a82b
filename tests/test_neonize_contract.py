"""The contract from neonize's events to the master's device state, one row per mapped kind.

Each row's protobuf goes both ways a real event goes: straight into `to_domain`, and
through the real neonize client's dispatch (goneonize's C callback → Event.execute →
our handler → poll()) with FakeGo standing in at the ctypes boundary. Both must give the
same domain event, and the session's pure policy (`masters.device.react`) must then put
the device where docs/architecture.md, "Device states" says.

Runs in a child pytest, like every test that imports neonize (tests/neonize_support.py).
"""
from __future__ import annotations

import time

import pytest

from masters import device
from neonize_support import IN_CHILD, PHONE, collect_where_runnable, run_in_child
from test_neonize_transport import N, go, make, wait_events  # noqa: F401 - fixtures
from transports import events as ev

CUSTOMER = "971559876543"
BACKOFF = 0.5
REPLACED_WAIT = 30.0


def test_neonize_cases_in_a_child_process():
    run_in_child(__file__)


def jid(N, user, server="s.whatsapp.net", device_no=0):
    return N.JID(User=user, Server=server, Device=device_no, RawAgent=0, Integrator=0,
                 IsEmpty=False)


def _message(N):
    from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ExtendedTextMessage, Message
    source = N.MessageSource(Chat=jid(N, CUSTOMER), Sender=jid(N, CUSTOMER, device_no=2),
                             IsFromMe=False, IsGroup=False)
    return N.Message(Info=N.MessageInfo(MessageSource=source, ID="3EB0IN", Timestamp=1_700_000_000_500),
                     Message=Message(extendedTextMessage=ExtendedTextMessage(text="!status")))


def _receipt(N):
    source = N.MessageSource(Chat=jid(N, CUSTOMER), Sender=jid(N, CUSTOMER), IsFromMe=False)
    return N.Receipt(MessageSource=source, MessageIDs=["3EB0SENT"], Type=N.Receipt.DELIVERED)


def _undecryptable(N):
    source = N.MessageSource(Chat=jid(N, CUSTOMER), Sender=jid(N, CUSTOMER, device_no=2))
    return N.UndecryptableMessage(Info=N.MessageInfo(MessageSource=source, ID="3EB0BAD",
                                                     Timestamp=1_700_000_000_500))


# (kind, build(N), expected domain event, state before, state after, reconnect after (s) or None)
# A Banned's expiry depends on the clock: compared by `same`.
CASES = [
    ("message", _message,
     ev.Inbound(message_id="3EB0IN", sender="+" + CUSTOMER, text="!status", timestamp=1_700_000_000.5),
     "connected", "connected", None),
    ("receipt", _receipt,
     ev.Receipt(message_ids=("3EB0SENT",), kind="delivered", sender="+" + CUSTOMER),
     "connected", "connected", None),
    ("connected", lambda N: N.Connected(status=True), ev.Connected(), "connecting", "connected", None),
    ("disconnected", lambda N: N.Disconnected(status=True), ev.Disconnected(reason="connection lost", redialing=True),
     "connected", "disconnected", BACKOFF),
    ("keepalive timeout", lambda N: N.KeepAliveTimeout(ErrorCount=3, LastSuccess=1_700_000_000),
     ev.Disconnected(reason="keepalive", redialing=True), "connected", "disconnected", BACKOFF),
    ("keepalive restored", lambda N: N.KeepAliveRestored(), ev.Connected(),
     "disconnected", "connected", None),
    ("logged out", lambda N: N.LoggedOut(OnConnect=False, Reason=N.LOGGED_OUT),
     ev.LoggedOut(reason="logged out"), "connected", "logged_out", None),
    ("temporary ban", lambda N: N.TemporaryBan(Code=N.TemporaryBan.SENT_TOO_MANY_SAME_MESSAGE,
                                               Expire=600),
     ev.Banned(code=4, expires_ts=0.0), "connected", "banned", 600 + device.BAN_MARGIN_S),
    ("stream replaced", lambda N: N.StreamReplaced(), ev.Replaced(), "connected", "replaced",
     REPLACED_WAIT),
    ("client outdated", lambda N: N.ClientOutdated(), ev.Outdated(), "connected", "outdated", None),
    ("connect failure, permanent", lambda N: N.ConnectFailure(Reason=N.MAIN_DEVICE_GONE),
     ev.ConnectFailed(reason="WhatsApp refused the connection: main device gone", permanent=True),
     "connecting", "logged_out", None),
    ("connect failure, transient",
     lambda N: N.ConnectFailure(Reason=N.SERVICE_UNAVAILABLE, Message="try later"),
     ev.ConnectFailed(reason="WhatsApp refused the connection: service unavailable (try later)"),
     "connecting", "disconnected", BACKOFF),
    ("stream error", lambda N: N.StreamError(Code="503"), ev.Disconnected(reason="stream error 503", redialing=True),
     "connected", "disconnected", BACKOFF),
    ("pair success", lambda N: N.PairStatus(ID=jid(N, PHONE[1:], device_no=9),
                                            Status=N.PairStatus.SUCCESS),
     ev.Paired(jid=f"{PHONE[1:]}:9@s.whatsapp.net"), "pairing", "connecting", None),
    ("pair error", lambda N: N.PairStatus(Status=N.PairStatus.ERROR, Error="bad signature"),
     ev.ConnectFailed(reason="pairing failed: bad signature"), "pairing", "unlinked", None),
    # Conversation events: the session handles them without the state machine.
    ("offline sync preview", lambda N: N.OfflineSyncPreview(Total=5, Message=4),
     ev.OfflineSyncStarted(messages=4, total=5), "connected", "connected", None),
    ("offline sync completed", lambda N: N.OfflineSyncCompleted(Count=5),
     ev.OfflineSyncCompleted(count=5), "connected", "connected", None),
    ("undecryptable", _undecryptable,
     ev.Undecryptable(message_id="3EB0BAD", sender="+" + CUSTOMER, timestamp=1_700_000_000.5),
     "connected", "connected", None),
]


def same(got, want) -> bool:
    if isinstance(want, ev.Banned) and isinstance(got, ev.Banned):
        return got.code == want.code and got.expires_ts > 0
    return got == want


def reaction(state: str, event, now: float) -> device.Reaction:
    return device.react(state, event, now=now, attempts=0, replace_retry_used=False,
                        replaced_wait_s=REPLACED_WAIT, backoff=lambda n: BACKOFF * 2 ** n)


def test_every_mapped_kind_has_a_row(N):
    from transports.neonize.mapping import _MAPPERS
    covered = {build(N).DESCRIPTOR.full_name for _, build, *_ in CASES} | {"neonize.QR"}  # QR: below
    assert covered == set(_MAPPERS)


@pytest.mark.parametrize("kind,build,want,before,after,reconnect", CASES, ids=[c[0] for c in CASES])
def test_event_to_domain_and_through_dispatch_to_device_state(N, go, make, kind, build, want,
                                                              before, after, reconnect):
    from transports.neonize.mapping import to_domain
    proto = type(build(N)).FromString(build(N).SerializePartialToString())   # as on the wire

    direct = to_domain(proto)
    assert same(direct, want), f"to_domain: {direct!r}"

    t = make()
    t.connect()
    assert go.wait_connection(1).deliver(proto), "not subscribed at connect"
    dispatched = wait_events(t)
    assert len(dispatched) == 1 and same(dispatched[0], want), f"dispatch: {dispatched!r}"

    now = time.time()
    r = reaction(before, dispatched[0], now)
    if isinstance(want, (ev.Inbound, ev.Receipt) + ev.CONVERSATION_EVENTS):
        return   # the session handles these without the state machine (never reacted on)
    assert r.state == after
    if isinstance(want, ev.Banned):
        assert r.reconnect_in == pytest.approx(reconnect, abs=2)
    else:
        assert r.reconnect_in == reconnect


def test_qr_codes_come_through_the_qr_callback_and_put_the_device_in_pairing(N, go, make):
    from transports.neonize.mapping import to_domain
    assert to_domain(N.QR(Codes=["2@a", "2@b"])) == ev.QRCode(data="2@a")
    go.devices = b""
    t = make()
    t.pair()
    go.wait_connection(1).qr("2@a")
    [event] = wait_events(t)
    assert event == ev.QRCode(data="2@a") and reaction("unlinked", event, time.time()).state == "pairing"


def test_a_lifetime_through_dispatch_drives_the_device_like_the_session(N, go, make):
    """Link, connect, drop, recover, then the phone unlinks it: states as the session sets them."""
    go.devices = b""
    t = make()
    t.pair()
    conn = go.wait_connection(1)
    conn.qr("2@first")
    for proto in (N.PairStatus(ID=jid(N, PHONE[1:], device_no=9), Status=N.PairStatus.SUCCESS),
                  N.Connected(status=True), N.KeepAliveTimeout(ErrorCount=1), N.KeepAliveRestored(),
                  N.LoggedOut(OnConnect=False, Reason=N.LOGGED_OUT)):
        assert conn.deliver(proto)
    state, states = "unlinked", []
    for event in wait_events(t, 6):
        r = reaction(state, event, time.time())
        state = r.state
        states.append((state, r.reconnect_in))
    assert states == [("pairing", None), ("connecting", None), ("connected", None),
                      ("disconnected", BACKOFF), ("connected", None), ("logged_out", None)]


def test_events_of_a_connection_we_stopped_never_reach_the_device(N, go, make):
    t = make()
    t.connect()
    conn = go.wait_connection(1)
    t.disconnect()
    conn.deliver(N.LoggedOut(OnConnect=False))
    assert wait_events(t, timeout=0.3) == []


collect_where_runnable(globals())
