"""`send` carries an idempotency key: a retry after a lost answer is never sent twice.

Measured before (issue 13, fault 5): with the balancer hung, `send` answered
"the balancer did not answer in time; try again" after 10 s although the
message was queued; retrying as told delivered it twice.
"""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from commands.registry import CommandError, get
from daemon_support import poll
from storage import Store, masters, outbox

pytestmark = pytest.mark.slow   # a real daemon end to end: `pytest -m "not slow"` skips it

MASTER, CUSTOMER = "+971505760056", "+447700900001"


def inbox(d):
    return [m["text"] for m in json.loads(d.cli("sim", "inbox", CUSTOMER, "--json").stdout)]


@pytest.fixture
def slowly_watched(home, port):
    """A daemon whose HA monitor lets a hung balancer be for 30 s (3 heartbeats of 10 s): the
    watchdog would otherwise restart it (docs/daemon.md, "Faults") before the send's 10 s ask ends."""
    from conftest import FAST_CONFIG, Daemon
    from runtime import procs
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(FAST_CONFIG.replace("heartbeat_s = 0.2", "heartbeat_s = 10.0"))
    d = Daemon(home, port)
    d.start()
    try:
        yield d
    finally:
        try:
            d.stop()
        finally:
            procs.kill_all(procs.processes_of(home))


def test_a_retry_during_a_hung_balancer_says_queued_and_is_sent_once(slowly_watched):
    d = slowly_watched
    d.cli("master", "add", MASTER, "--name", "Sales")
    d.cli("link", "master", MASTER)
    balancer = next(a["pid"] for a in d.json("daemon", "status")["actors"] if a["name"] == "balancer")
    os.kill(balancer, signal.SIGSTOP)
    try:
        started = time.monotonic()
        first = d.cli("send", CUSTOMER, "viewing at 5pm", "--key", "viewing-42")
        took = time.monotonic() - started
        assert first.stdout.startswith("queued as viewing-42 (outbox id ")
        assert "the balancer did not answer in time" in first.stdout and "whitecaves outbox" in first.stdout
        again = d.json("send", CUSTOMER, "viewing at 5pm", "--key", "viewing-42")
        assert again["state"] == "queued" and again["again"] is True
        assert [r["key"] for r in d.json("outbox")] == ["viewing-42"]
        other = d.cli("send", CUSTOMER, "another text", "--key", "viewing-42", check=False)
        assert other.returncode == 2 and "used for another message" in other.stderr
    finally:
        os.kill(balancer, signal.SIGCONT)
    poll("the message delivered", lambda: inbox(d) == ["viewing at 5pm"], timeout=20)
    third = d.cli("send", CUSTOMER, "viewing at 5pm", "--key", "viewing-42")
    assert third.stdout.startswith(f"already requested: sent as viewing-42 from {MASTER}")
    time.sleep(1.0)
    assert inbox(d) == ["viewing at 5pm"], "sent once, though requested three times"
    assert took < 14, f"the first answer took {took:.1f} s"


def test_send_without_a_key_prints_the_one_it_used(daemon):
    d = daemon
    d.cli("master", "add", MASTER, "--name", "Sales")
    d.cli("link", "master", MASTER)
    data = d.json("send", CUSTOMER, "hello")
    assert data["state"] == "sent" and data["key"].startswith("send:")
    line = d.cli("send", CUSTOMER, "hello", "--key", data["key"]).stdout
    assert line.startswith(f"already requested: sent as {data['key']}")
    assert inbox(d) == ["hello"]


class Gateway:
    def __init__(self, store):
        self.store = store

    def poke_balancer(self, reason):
        pass


@pytest.fixture
def gw(tmp_path):
    with Store(str(tmp_path)) as store:
        store.write(lambda txn: masters.put(txn, masters.Master(MASTER, "Sales")))
        yield Gateway(store)


def test_keys_are_checked_and_a_dead_letter_is_named(gw):
    send = get("send").fn
    for bad in ("   ", "x" * 201, "campaign:may:+447700900001"):
        with pytest.raises(CommandError):
            send(gw, to=CUSTOMER, text_="hi", wait_s=0, key=bad)
    first = send(gw, to=CUSTOMER, text_="hi", wait_s=0, key="k1")
    for _ in range(3):
        gw.store.write(lambda txn: outbox.failed(txn, first["id"], "number not on WhatsApp", 0.0, 3))
    again = send(gw, to=CUSTOMER, text_="hi", wait_s=0, key="k1")
    assert (again["state"], again["id"], again["last_error"]) == ("dead", first["id"], "number not on WhatsApp")
    with gw.store.read() as txn:
        assert outbox.depth(txn) == 1
