"""The simulated network served on a thread, driven through SimTransport and control."""
import select
import time

import pytest

from transports.base import TransportError
from transports.events import (Banned, ConnectFailed, Connected, Disconnected, Inbound, LoggedOut,
                               PairingCode, Paired, QRCode, Receipt, Replaced)
from transports.sim import control
from transports.sim.server import SimServer
from transports.sim.transport import SimTransport

MASTER, CUSTOMER = "+971505760056", "+971501234567"
HOST = "127.0.0.1"


@pytest.fixture
def sim(tmp_path):
    server = SimServer(HOST, 0, str(tmp_path / "sim-state"))
    server.start_in_thread()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def make_transport(sim, tmp_path):
    made = []

    def make(phone=MASTER, token_name="token", **kwargs):
        t = SimTransport(phone, HOST, sim.port, str(tmp_path / token_name), **kwargs)
        made.append(t)
        return t
    yield make
    for t in made:
        t.close()


def wait_for(transport, kind, timeout=3.0, seen=None):
    """Collect events (watching fileno, as an actor would) until one of type `kind` arrives."""
    seen = [] if seen is None else seen
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        readable, _, _ = select.select([transport.fileno()], [], [], deadline - time.monotonic())
        if readable:
            seen.extend(transport.poll())
            if any(isinstance(e, kind) for e in seen):
                return seen
    raise AssertionError(f"no {kind.__name__} within {timeout} s; saw {seen}")


def quiet(transport, for_s=0.3):
    """Events arriving within `for_s` (expected: none)."""
    time.sleep(for_s)
    return transport.poll()


def linked(make_transport, **kwargs):
    t = make_transport(**kwargs)
    t.pair()
    wait_for(t, Connected)
    return t


def account_state(sim, phone=MASTER):
    return control.status(HOST, sim.port)["accounts"][phone]["state"]


def test_pairing_then_a_new_session_connects_with_the_stored_token(make_transport):
    t = make_transport()
    t.connect()
    failed = wait_for(t, ConnectFailed)
    assert failed[-1].permanent                          # never paired: no token to connect with

    t.pair()
    events = wait_for(t, Connected)
    kinds = [type(e) for e in events if not isinstance(e, ConnectFailed)]
    assert kinds == [QRCode, Paired, Connected]
    t.close()

    again = make_transport()                             # same token file: a restarted session
    again.connect()
    assert [type(e) for e in wait_for(again, Connected)] == [Connected]


def test_pairing_by_phone_code(make_transport):
    t = make_transport()
    t.pair(phone_code=True)
    events = wait_for(t, Connected)
    assert [type(e) for e in events] == [PairingCode, Paired, Connected]
    assert len(events[0].code) == 9


def test_fileno_is_readable_only_while_events_wait(make_transport, sim):
    t = linked(make_transport)
    assert select.select([t.fileno()], [], [], 0)[0] == []
    control.send(HOST, sim.port, CUSTOMER, MASTER, "hi")
    assert select.select([t.fileno()], [], [], 3)[0] == [t.fileno()]
    assert [type(e) for e in t.poll()] == [Inbound]
    assert select.select([t.fileno()], [], [], 0)[0] == []


def test_delivery_both_ways(make_transport, sim):
    t = linked(make_transport)
    mid = control.send(HOST, sim.port, CUSTOMER, MASTER, "!ping")
    inbound = [e for e in wait_for(t, Inbound) if isinstance(e, Inbound)]
    assert [(e.message_id, e.sender, e.text) for e in inbound] == [(mid, CUSTOMER, "!ping")]
    assert abs(inbound[0].timestamp - time.time()) < 5

    sent = t.send(CUSTOMER, "pong", "reply-1")
    receipt = [e for e in wait_for(t, Receipt) if isinstance(e, Receipt)]
    assert receipt[0].message_ids == (sent,)
    box = control.inbox(HOST, sim.port, CUSTOMER)
    assert [(m["id"], m["from"], m["text"]) for m in box] == [(sent, MASTER, "pong")]


def test_messages_to_an_offline_account_wait_for_it(make_transport, sim):
    t = linked(make_transport)
    t.disconnect()
    ids = [control.send(HOST, sim.port, CUSTOMER, MASTER, f"m{i}") for i in range(3)]
    assert quiet(t) == []
    t.connect()
    events = wait_for(t, Connected)
    while sum(isinstance(e, Inbound) for e in events) < 3:
        wait_for(t, Inbound, seen=events)
    assert isinstance(events[0], Connected)
    assert [e.message_id for e in events if isinstance(e, Inbound)] == ids


def test_unacked_messages_come_again_after_a_reconnect(make_transport, sim):
    t = linked(make_transport)
    acked = control.send(HOST, sim.port, CUSTOMER, MASTER, "persisted")
    unacked = control.send(HOST, sim.port, CUSTOMER, MASTER, "lost in a crash")
    events = wait_for(t, Inbound)
    while sum(isinstance(e, Inbound) for e in events) < 2:
        wait_for(t, Inbound, seen=events)
    t.ack(acked)
    deadline = time.monotonic() + 3
    while control.status(HOST, sim.port)["accounts"][MASTER]["pending"] != 1:
        assert time.monotonic() < deadline, "ack never reached the sim"
        time.sleep(0.02)
    t.disconnect()
    t.connect()
    events = wait_for(t, Inbound)
    assert [e.message_id for e in events if isinstance(e, Inbound)] == [unacked]


def test_a_repeated_idempotency_key_is_not_delivered_twice(make_transport, sim):
    t = linked(make_transport)
    first = t.send(CUSTOMER, "hello", "outbox-42")
    second = t.send(CUSTOMER, "hello", "outbox-42")
    other = t.send(CUSTOMER, "hello", "outbox-43")
    assert first == second != other
    assert [m["id"] for m in control.inbox(HOST, sim.port, CUSTOMER)] == [first, other]
    assert control.status(HOST, sim.port)["counts"]["duplicates_dropped"] == 1


def test_logout_fault_kills_the_token_until_paired_again(make_transport, sim):
    t = linked(make_transport)
    control.fault(HOST, sim.port, MASTER, "logout")
    events = wait_for(t, LoggedOut)
    assert not any(isinstance(e, Disconnected) for e in events + quiet(t))
    assert account_state(sim) == "logged_out"
    t.connect()                                          # the old token
    assert [type(e) for e in wait_for(t, LoggedOut)] == [LoggedOut]
    control.heal(HOST, sim.port, MASTER)                 # heal does not undo a logout
    t.connect()
    wait_for(t, LoggedOut)
    t.pair()
    wait_for(t, Connected)
    assert account_state(sim) == "connected"


def test_logout_by_the_session_forgets_the_token(make_transport, sim):
    t = linked(make_transport)
    t.logout()
    assert [type(e) for e in wait_for(t, LoggedOut) + quiet(t)] == [LoggedOut]
    assert not t.has_token()
    assert account_state(sim) == "logged_out"


def test_ban_refuses_connections_until_it_expires(make_transport, sim):
    t = linked(make_transport)
    control.fault(HOST, sim.port, MASTER, "ban", seconds=1)
    banned = [e for e in wait_for(t, Banned) if isinstance(e, Banned)]
    assert 0 < banned[0].expires_ts - time.time() <= 1.1
    assert account_state(sim) == "banned"
    t.connect()
    assert isinstance(wait_for(t, Banned)[-1], Banned)
    time.sleep(max(0.0, banned[0].expires_ts - time.time()) + 0.05)
    t.connect()
    wait_for(t, Connected)


def test_heal_lifts_a_ban(make_transport, sim):
    t = linked(make_transport)
    control.fault(HOST, sim.port, MASTER, "ban", seconds=600)
    wait_for(t, Banned)
    control.heal(HOST, sim.port, MASTER)
    t.connect()
    wait_for(t, Connected)


def test_disconnect_fault_is_transient(make_transport, sim):
    t = linked(make_transport)
    control.fault(HOST, sim.port, MASTER, "disconnect")
    assert isinstance(wait_for(t, Disconnected)[-1], Disconnected)
    with pytest.raises(TransportError) as err:
        t.send(CUSTOMER, "x", "k")
    assert err.value.retryable
    t.connect()
    wait_for(t, Connected)
    assert t.send(CUSTOMER, "back", "k2")


def test_replace_fault_and_a_second_device_both_replace_the_stream(make_transport, sim):
    t = linked(make_transport)
    control.fault(HOST, sim.port, MASTER, "replace")
    assert [type(e) for e in wait_for(t, Replaced) + quiet(t)] == [Replaced]
    assert account_state(sim) == "disconnected"

    t.connect()
    wait_for(t, Connected)
    other = make_transport()                             # same token, another "device"
    other.connect()
    wait_for(other, Connected)
    assert [type(e) for e in wait_for(t, Replaced)] == [Replaced]


def test_hang_stops_answering_until_heal(make_transport, sim):
    t = linked(make_transport, send_timeout=0.5)
    control.fault(HOST, sim.port, MASTER, "hang")
    assert account_state(sim) == "hung"
    started = time.monotonic()
    with pytest.raises(TransportError) as err:
        t.send(CUSTOMER, "anyone?", "k1")
    assert 0.45 < time.monotonic() - started < 2 and err.value.retryable
    held = control.send(HOST, sim.port, CUSTOMER, MASTER, "while hung")
    assert quiet(t) == []                                # no events, and no Disconnected either

    control.heal(HOST, sim.port, MASTER)
    assert [e.message_id for e in wait_for(t, Inbound) if isinstance(e, Inbound)] == [held]
    assert t.send(CUSTOMER, "back", "k2")
    # what the sim ignored while hung was never carried out
    assert [m["text"] for m in control.inbox(HOST, sim.port, CUSTOMER)] == ["back"]


def test_keepalive_turns_a_hang_into_a_disconnect_and_counts_connects(make_transport, sim):
    t = linked(make_transport, keepalive_s=0.1)
    assert quiet(t, 0.4) == []                           # pings answered: nothing happens
    control.fault(HOST, sim.port, MASTER, "hang")
    started = time.monotonic()
    drop = wait_for(t, Disconnected, timeout=2)[-1]
    assert "keep-alive" in drop.reason and time.monotonic() - started < 1.0
    control.heal(HOST, sim.port, MASTER)
    t.connect()
    wait_for(t, Connected)
    assert control.status(HOST, sim.port)["accounts"][MASTER]["connects"] == 2   # pair + connect


def test_a_hung_account_cannot_connect(make_transport, sim):
    t = linked(make_transport, connect_timeout=0.5)
    t.disconnect()
    control.fault(HOST, sim.port, MASTER, "hang")
    t.connect()
    assert "no answer" in wait_for(t, ConnectFailed)[-1].reason


def test_latency_delays_that_account_only(make_transport, sim):
    t = linked(make_transport)
    control.fault(HOST, sim.port, MASTER, "latency", ms=300)
    started = time.monotonic()
    t.send(CUSTOMER, "slow", "k1")
    assert time.monotonic() - started >= 0.29
    started = time.monotonic()
    control.status(HOST, sim.port)                        # control traffic is not delayed
    assert time.monotonic() - started < 0.25
    control.heal(HOST, sim.port, MASTER)
    started = time.monotonic()
    t.send(CUSTOMER, "fast", "k2")
    assert time.monotonic() - started < 0.25


def test_server_going_away_and_not_being_there(make_transport, sim):
    t = linked(make_transport)
    sim.close()
    assert isinstance(wait_for(t, Disconnected)[-1], Disconnected)
    t.connect()
    failed = wait_for(t, ConnectFailed)[-1]
    assert not failed.permanent and "unreachable" in failed.reason


def test_control_errors_are_clear(sim):
    with pytest.raises(control.SimBadRequest):
        control.fault(HOST, sim.port, MASTER, "explode")
    with pytest.raises(control.SimBadRequest):
        control.fault(HOST, sim.port, "+971599999999", "hang")   # never seen account
    with pytest.raises(control.SimBadRequest):
        control.send(HOST, sim.port, "0501234567", MASTER, "x")
    with pytest.raises(control.SimBadRequest):
        control.fault(HOST, sim.port, MASTER, "ban")             # ban needs seconds
    sim.close()
    with pytest.raises(control.SimUnreachable):
        control.status(HOST, sim.port)


def test_server_refuses_to_listen_beyond_loopback():
    with pytest.raises(ValueError):
        SimServer("0.0.0.0", 0)


def test_status_from_the_owning_thread_and_running_flag(make_transport, sim):
    assert sim.running
    linked(make_transport)
    control.send(HOST, sim.port, CUSTOMER, MASTER, "hi")
    status = sim.status()                                # called off the server's loop
    assert status["accounts"][MASTER]["state"] == "connected"
    assert status["counts"]["inbound"] == 1
    sim.close()
    assert not sim.running
