"""The device state machine (masters/device.py) without any actor: what each event leads to."""
from __future__ import annotations

import pytest

from masters import device
from transports import events as ev

NOW = 1_000_000.0


def react(state, event, attempts=0, replace_retry_used=False):
    return device.react(state, event, now=NOW, attempts=attempts,
                        replace_retry_used=replace_retry_used, replaced_wait_s=30.0,
                        backoff=lambda n: 0.5 * 2 ** n)


def test_the_happy_path_of_a_link():
    assert react("unlinked", ev.QRCode("data")).state == "pairing"
    assert react("unlinked", ev.PairingCode("ABCD-1234")).state == "pairing"
    assert react("pairing", ev.Paired("jid")).state == "connecting"
    r = react("connecting", ev.Connected())
    assert r.state == "connected" and r.reconnect_in is None


def test_a_transient_drop_reconnects_with_growing_backoff():
    delays = [react("connected", ev.Disconnected("net"), attempts=n).reconnect_in for n in range(4)]
    assert [r for r in delays] == [0.5, 1.0, 2.0, 4.0]
    r = react("connecting", ev.ConnectFailed("unreachable"), attempts=2)
    assert (r.state, r.reconnect_in) == ("disconnected", 2.0)


@pytest.mark.parametrize("event, state", [
    (ev.LoggedOut("from the phone"), "logged_out"),
    (ev.Outdated(), "outdated"),
    (ev.ConnectFailed("refused", permanent=True), "logged_out"),
])
def test_dead_states_never_schedule_a_reconnect(event, state):
    r = react("connected", event)
    assert (r.state, r.reconnect_in) == (state, None)


@pytest.mark.parametrize("dead", ["logged_out", "outdated", "banned", "replaced"])
def test_a_late_drop_in_a_dead_state_does_not_start_a_loop(dead):
    for event in (ev.Disconnected("late"), ev.ConnectFailed("late")):
        r = react(dead, event)
        assert (r.state, r.reconnect_in) == (dead, None)


def test_a_ban_reconnects_only_after_its_expiry():
    r = react("connected", ev.Banned(403, NOW + 3.0))
    assert r.state == "banned"
    assert r.reconnect_in == pytest.approx(3.0 + device.BAN_MARGIN_S)
    # an expiry in the past: try (almost) at once; no expiry given: stay down
    assert react("connected", ev.Banned(403, NOW - 10)).reconnect_in == device.BAN_MARGIN_S
    assert react("connected", ev.Banned(403, 0.0)).reconnect_in is None


def test_replaced_waits_then_tries_once_only():
    first = react("connected", ev.Replaced())
    assert (first.state, first.reconnect_in, first.used_replace_retry) == ("replaced", 30.0, True)
    second = react("connected", ev.Replaced(), replace_retry_used=True)
    assert (second.state, second.reconnect_in) == ("replaced", None)


def test_connected_does_not_reset_the_backoff_by_itself():
    # A stream that drops right after connecting must keep backing off: the session resets
    # `attempts` only after [backoff] reset_after_s of stable connection.
    assert not react("connecting", ev.Connected()).reset_attempts


def test_receipts_and_inbound_do_not_move_the_state():
    assert react("connected", ev.Receipt(("id",))).state == "connected"


def test_a_stable_connection_forgives_the_backoff_and_an_old_replace():
    def forgiven(state, event, stable_for):
        return device.forgiven(state, event, stable_for=stable_for, reset_after_s=10.0,
                               replace_forgiven_s=600.0)
    assert forgiven("connected", ev.Disconnected(), 11.0) == (True, False)
    assert forgiven("connected", ev.Disconnected(), 2.0) == (False, False)   # flapping
    assert forgiven("connecting", ev.ConnectFailed(), 0.0) == (False, False)
    assert forgiven("connected", ev.Replaced(), 30.0) == (True, False)      # same episode
    assert forgiven("connected", ev.Replaced(), 601.0) == (True, True)      # a new one
