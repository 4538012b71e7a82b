"""to_domain: every neonize event kind the runtime maps, built as goneonize sends it.

Each event is built from neonize's own protobufs and passed through
SerializePartialToString/FromString, as goneonize delivers it (proto2 required
fields may be unset on the wire, and then read as their defaults).

These tests import neonize, so they run in a child pytest (tests/neonize_support.py
says why); in the suite they are one test, `test_neonize_cases_in_a_child_process`.
"""
from __future__ import annotations

import pytest

from neonize_support import IN_CHILD, collect_where_runnable, run_in_child
from transports.events import (Banned, ConnectFailed, Connected, Disconnected, Inbound, LoggedOut,
                               Outdated, Paired, QRCode, Receipt, Replaced)
from transports.neonize.mapping import to_domain

CUSTOMER = "971501234567"


def test_neonize_cases_in_a_child_process():
    run_in_child(__file__)


@pytest.fixture
def N():
    """neonize's event protobufs (goneonize's Neonize.proto)."""
    if not IN_CHILD:
        pytest.skip("needs neonize: runs in test_neonize_cases_in_a_child_process")
    from neonize.proto import Neonize_pb2
    return Neonize_pb2


@pytest.fixture
def E():
    """WhatsApp's message protobufs (the text lives here)."""
    from neonize.proto.waE2E import WAWebProtobufsE2E_pb2
    return WAWebProtobufsE2E_pb2


def wire(event):
    """As goneonize delivers it: serialized (required fields may be unset) and parsed back."""
    return type(event).FromString(event.SerializePartialToString())


def jid(N, user, server="s.whatsapp.net", device=0):
    return N.JID(User=user, Server=server, Device=device, RawAgent=0, Integrator=0, IsEmpty=False)


def message(N, E, *, text="hello", extended=None, sender=None, chat=None, alt=None,
            from_me=False, group=False, stamp=1_700_000_000_123, msg_id="3EB0C0FFEE",
            edit=False, body=None):
    sender = sender or jid(N, CUSTOMER, device=3)
    source = N.MessageSource(Chat=chat or jid(N, sender.User, sender.Server), Sender=sender,
                             IsFromMe=from_me, IsGroup=group)
    if alt is not None:
        source.SenderAlt.CopyFrom(alt)
    if body is None:
        body = (E.Message(extendedTextMessage=E.ExtendedTextMessage(text=extended))
                if extended is not None else E.Message(conversation=text))
    info = N.MessageInfo(MessageSource=source, ID=msg_id, Timestamp=stamp, Type="text")
    return wire(N.Message(Info=info, Message=body, IsEdit=edit))


# --- messages -----------------------------------------------------------------------------

def test_text_in_conversation_becomes_inbound_with_e164_sender_and_seconds(N, E):
    got = to_domain(message(N, E, text="!ping"))
    assert got == Inbound(message_id="3EB0C0FFEE", sender="+" + CUSTOMER, text="!ping",
                          timestamp=1_700_000_000.123)


def test_text_in_extended_text_message_becomes_inbound(N, E):
    got = to_domain(message(N, E, extended="see https://example.com"))
    assert isinstance(got, Inbound) and got.text == "see https://example.com"


def test_a_timestamp_in_seconds_is_kept_as_seconds(N, E):
    assert to_domain(message(N, E, stamp=1_700_000_000)).timestamp == 1_700_000_000.0


def test_lid_sender_is_resolved_through_sender_alt(N, E):
    lid = jid(N, "123456789012345", "lid")
    got = to_domain(message(N, E, sender=lid, chat=lid, alt=jid(N, CUSTOMER)))
    assert isinstance(got, Inbound) and got.sender == "+" + CUSTOMER


def test_lid_sender_without_a_phone_number_is_kept_by_its_lid(N, E):
    # Issue 14: never dropped; tests/test_neonize_inbound.py covers LIDs in full.
    lid = jid(N, "123456789012345", "lid")
    got = to_domain(message(N, E, sender=lid, chat=lid))
    assert (got.sender, got.sender_lid) == ("", "123456789012345@lid")


@pytest.mark.parametrize("case", ["group", "status", "broadcast", "newsletter", "edit",
                                  "blank", "no_id"])
def test_messages_the_runtime_does_not_answer_are_ignored(N, E, case):
    kwargs = {
        "group": dict(group=True, chat=jid(N, "120363025246125486", "g.us")),
        "status": dict(chat=jid(N, "status", "broadcast")),
        "broadcast": dict(chat=jid(N, "1700000000", "broadcast")),
        "newsletter": dict(chat=jid(N, "120363144038483540", "newsletter")),
        "edit": dict(edit=True),
        "blank": dict(text="   "),
        "no_id": dict(msg_id=""),
    }[case]
    assert to_domain(message(N, E, **kwargs)) is None


# --- connection state ---------------------------------------------------------------------

def test_connection_events(N):
    assert to_domain(wire(N.Connected(status=True))) == Connected()
    assert to_domain(wire(N.Disconnected(status=True))) == Disconnected(reason="connection lost", redialing=True)
    assert to_domain(wire(N.KeepAliveTimeout(ErrorCount=2, LastSuccess=1_700_000_000))) == \
        Disconnected(reason="keepalive", redialing=True)
    assert to_domain(wire(N.KeepAliveRestored())) == Connected()
    assert to_domain(wire(N.StreamReplaced())) == Replaced()
    assert to_domain(wire(N.ClientOutdated())) == Outdated()


def test_stream_error_is_a_transient_disconnect_with_its_code(N):
    assert to_domain(wire(N.StreamError(Code="conflict"))) == Disconnected(reason="stream error conflict", redialing=True)


def test_logged_out_carries_its_reason(N):
    got = to_domain(wire(N.LoggedOut(OnConnect=True, Reason=N.MAIN_DEVICE_GONE)))
    assert got == LoggedOut(reason="main device gone (refused on connect)")
    assert to_domain(wire(N.LoggedOut(OnConnect=False))) == LoggedOut(reason="logged out")


def test_temporary_ban_expiry_is_now_plus_the_remaining_seconds(N):
    got = to_domain(wire(N.TemporaryBan(Code=N.TemporaryBan.BLOCKED_BY_USERS, Expire=3600)), now=1000.0)
    assert got == Banned(code=N.TemporaryBan.BLOCKED_BY_USERS, expires_ts=4600.0)


def test_temporary_ban_with_unset_code_and_no_expiry(N):
    # Unset, proto2 reads Code as SEND_TO_TOO_MANY_PEOPLE (1): HasField tells them apart.
    assert to_domain(wire(N.TemporaryBan(Expire=0)), now=1000.0) == Banned(code=0, expires_ts=0.0)


@pytest.mark.parametrize("reason,permanent", [
    ("LOGGED_OUT", True), ("MAIN_DEVICE_GONE", True), ("CLIENT_OUTDATED", True),
    ("BAD_USER_AGENT", True), ("GENERIC", False), ("SERVICE_UNAVAILABLE", False),
    ("INTERNAL_SERVER_ERROR", False)])
def test_connect_failure_is_permanent_per_reason(N, reason, permanent):
    got = to_domain(wire(N.ConnectFailure(Reason=getattr(N, reason), Message="nope")))
    assert isinstance(got, ConnectFailed)
    assert got.permanent is permanent
    assert reason.lower().replace("_", " ") in got.reason and "(nope)" in got.reason


def test_connect_failure_with_a_reason_goneonize_left_unset_is_not_permanent(N):
    got = to_domain(wire(N.ConnectFailure(Message="cat expired")))
    assert got.permanent is False and "unknown reason" in got.reason and "generic" not in got.reason


# --- pairing ------------------------------------------------------------------------------

def test_pair_success_gives_the_device_jid(N):
    ev = N.PairStatus(ID=jid(N, CUSTOMER, device=12), Status=N.PairStatus.SUCCESS)
    assert to_domain(wire(ev)) == Paired(jid=f"{CUSTOMER}:12@s.whatsapp.net")


def test_pair_error_is_connect_failed_with_the_error(N):
    got = to_domain(wire(N.PairStatus(Status=N.PairStatus.ERROR, Error="bad signature")))
    assert got == ConnectFailed(reason="pairing failed: bad signature")


def test_pair_status_unset_is_judged_by_its_content(N):
    # Unset, proto2 reads Status as ERROR.
    assert to_domain(wire(N.PairStatus(ID=jid(N, CUSTOMER, device=2)))) == \
        Paired(jid=f"{CUSTOMER}:2@s.whatsapp.net")
    assert isinstance(to_domain(wire(N.PairStatus(Error="timeout"))), ConnectFailed)


def test_qr_event_gives_its_first_code(N):
    assert to_domain(wire(N.QR(Codes=["2@first", "2@second"]))) == QRCode(data="2@first")
    assert to_domain(wire(N.QR())) is None


# --- receipts -----------------------------------------------------------------------------

def receipt(N, kind=None, from_me=False, group=False):
    source = N.MessageSource(Chat=jid(N, CUSTOMER), Sender=jid(N, CUSTOMER, device=1),
                             IsFromMe=from_me, IsGroup=group)
    ev = N.Receipt(MessageSource=source, MessageIDs=["3EB0A", "3EB0B"], Timestamp=1_700_000_000)
    if kind is not None:
        ev.Type = getattr(N.Receipt, kind)
    return wire(ev)


@pytest.mark.parametrize("kind,name", [("DELIVERED", "delivered"), ("READ", "read"),
                                       ("PLAYED", "played")])
def test_receipts_for_our_messages(N, kind, name):
    assert to_domain(receipt(N, kind)) == Receipt(message_ids=("3EB0A", "3EB0B"), kind=name,
                                                  sender="+" + CUSTOMER)


def test_receipts_the_outbox_does_not_need_are_ignored(N):
    assert to_domain(receipt(N, None)) is None          # type unset: reads DELIVERED, is not
    assert to_domain(receipt(N, "SENDER")) is None
    assert to_domain(receipt(N, "READ_SELF")) is None
    assert to_domain(receipt(N, "READ", from_me=True)) is None
    assert to_domain(receipt(N, "READ", group=True)) is None


def test_events_the_runtime_ignores(N):
    assert to_domain(wire(N.HistorySync())) is None
    assert to_domain(wire(N.Presence(From=jid(N, CUSTOMER), Unavailable=False, LastSeen=0))) is None



collect_where_runnable(globals())
