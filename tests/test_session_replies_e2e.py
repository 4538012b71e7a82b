"""On the sim daemon: a customer's `!ping` is answered by the session that received it, the
reply claimed in the inbound transaction and never handed out by the balancer (issue 18,
actors/session_replies.py); a customer owned by another master is answered through the
balancer, from its owner."""
from __future__ import annotations

from daemon_support import poll as wait_for
from storage import Store, metrics
from test_sessions_e2e import M1, M2, pongs, sim_daemon  # noqa: F401 - fixture


def direct(home: str, phone: str) -> int:
    with Store(home) as store, store.read() as txn:
        return metrics.get(txn, f"replies_direct:{phone}")


def test_the_reply_leaves_from_the_receiving_session_and_another_owners_through_the_balancer(sim_daemon):
    d = sim_daemon
    for phone, name in ((M1, "Sales"), (M2, "Rentals")):
        d.cli("master", "add", phone, "--name", name)
        d.cli("link", "master", phone)
    customer = "+447700900001"
    d.sim.send(customer, M1, "!ping")
    wait_for("the pong", lambda: pongs(d, customer) >= 1)
    assert [m["from"] for m in d.sim.inbox(customer)] == [M1]
    assert direct(d.home, M1) == 1                 # claimed and sent by M1's session itself

    # the same customer writes to M2: M1 owns the conversation, so the balancer routes it
    d.sim.send(customer, M2, "!ping")
    wait_for("the second pong", lambda: pongs(d, customer) >= 2)
    assert [m["from"] for m in d.sim.inbox(customer)] == [M1, M1]
    assert direct(d.home, M1) == 1 and direct(d.home, M2) == 0
    wait_for("the outbox empty", lambda: d.json("outbox") == [])
