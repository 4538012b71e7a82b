"""The simulated network's state on its own: no sockets, LMDB in a temp dir."""
import time

from transports.sim.state import SimState

MASTER, OTHER, CUSTOMER = "+971505760056", "+971553633595", "+971501234567"


def test_pairing_issues_a_token_and_logout_invalidates_it():
    s = SimState()
    token = s.pair(MASTER)
    assert s.token_valid(MASTER, token)
    assert not s.token_valid(MASTER, "guess")
    assert not s.token_valid(OTHER, token)
    s.logout(MASTER)
    assert not s.token_valid(MASTER, token)
    again = s.pair(MASTER)
    assert again != token and s.token_valid(MASTER, again)


def test_inbound_stays_pending_until_acked_in_arrival_order():
    s = SimState()
    first = s.customer_send(CUSTOMER, MASTER, "one")
    second = s.customer_send(CUSTOMER, MASTER, "two")
    assert [r["text"] for r in s.pending(MASTER)] == ["one", "two"]
    assert s.ack(MASTER, first["message_id"])
    assert not s.ack(MASTER, first["message_id"])          # twice: nothing left to ack
    assert not s.ack(OTHER, second["message_id"])          # not that account's message
    assert [r["message_id"] for r in s.pending(MASTER)] == [second["message_id"]]


def test_an_idempotency_key_delivers_once_per_account():
    s = SimState()
    a, dup_a = s.account_send(MASTER, CUSTOMER, "hello", "k1")
    b, dup_b = s.account_send(MASTER, CUSTOMER, "hello again", "k1")
    c, dup_c = s.account_send(OTHER, CUSTOMER, "from the sibling", "k1")
    assert (dup_a, dup_b, dup_c) == (False, True, False)
    assert a == b and c != a
    assert [m["text"] for m in s.inbox(CUSTOMER)] == ["hello", "from the sibling"]
    assert s.counts["duplicates_dropped"] == 1


def test_ban_expires_and_heal_lifts_it():
    s = SimState()
    s.pair(MASTER)
    s.ban(MASTER, 0.2)
    assert s.account(MASTER).banned()
    time.sleep(0.25)
    assert not s.account(MASTER).banned()
    s.ban(MASTER, 100)
    s.heal(MASTER)
    assert not s.account(MASTER).banned()


def test_everything_that_matters_survives_reopening(tmp_path):
    path = str(tmp_path / "sim")
    s = SimState(path)
    token = s.pair(MASTER)
    s.pair(OTHER)
    s.logout(OTHER)
    kept = s.customer_send(CUSTOMER, MASTER, "held")
    acked = s.customer_send(CUSTOMER, MASTER, "acked")
    s.ack(MASTER, acked["message_id"])
    sent, _ = s.account_send(MASTER, CUSTOMER, "reply", "key-1")
    s.ban(MASTER, 60)
    s.close()

    s = SimState(path)
    assert s.token_valid(MASTER, token)
    assert s.account(OTHER).ever_paired and s.account(OTHER).token is None
    assert [r["message_id"] for r in s.pending(MASTER)] == [kept["message_id"]]
    assert s.inbox(CUSTOMER)[0]["id"] == sent
    assert s.account_send(MASTER, CUSTOMER, "reply", "key-1") == (sent, True)
    assert s.account(MASTER).banned()
    newer = s.customer_send(CUSTOMER, MASTER, "after restart")
    assert [r["text"] for r in s.pending(MASTER)] == ["held", "after restart"]
    assert newer["message_id"] != kept["message_id"]
    s.close()
