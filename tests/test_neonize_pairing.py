"""Linking a master on neonize: the real MasterSession (no actor system: thespian's timers
and sends are recorded instead) over the real neonize client, with FakeGo at goneonize's
ctypes boundary (tests/neonize_support.py).

- a QR pairing nobody scans: neonize fires no event, the session's [session]
  pairing_timeout_s ends it back at `unlinked`, stops the connection and leaves the
  reason where `whitecaves link master` reads it;
- a phone-code pairing: PairPhone after the first QR, the code for the CLI, then linked;
- LoggedOut → logged_out (no reconnect), and a relink pairs a brand-new device.

Runs in a child pytest, like every test that imports neonize.
"""
from __future__ import annotations

import time

import pytest

from neonize_support import PHONE, collect_where_runnable, run_in_child
from storage import Store, masters, pairing
from test_neonize_transport import N, go, jid, wait_events  # noqa: F401 - fixtures

DIGITS = PHONE[1:].encode()


def test_neonize_cases_in_a_child_process():
    run_in_child(__file__)


@pytest.fixture
def session(go, tmp_path):
    from actors.session import MasterSession
    from runtime.context import Context

    class Session(MasterSession):
        """The actor's own code; thespian's wakeupAfter/send only recorded."""
        def __init__(self):
            super().__init__()
            self.wakeups: list[tuple[float, object]] = []

        def wakeupAfter(self, delta, payload=None):
            self.wakeups.append((delta.total_seconds(), payload))

        def send(self, to, msg):
            pass

        def fire(self, name: str) -> None:
            """The latest wakeup of that name arrives."""
            from thespian.actors import WakeupMessage
            payload = next(p for _, p in reversed(self.wakeups) if p.name == name)
            self._dispatch(WakeupMessage(None, payload), None)

        def pending(self, name: str) -> list[float]:
            """The delays of that name's wakeups still armed (the base class drops stale ones)."""
            gen = self._timers._current.get(name)
            return [s for s, p in self.wakeups if p.name == name and p.generation == gen]

        def events(self, n: int = 1) -> list:
            got = wait_events(self.transport, n)
            self._on_events(got)
            return got

        def record(self) -> masters.Master:
            with self.store.read() as txn:
                return masters.get(txn, PHONE)

        def pairing_outcome(self) -> str:
            """The pairing outcome the CLI and the gateway read, as "kind value"."""
            with self.store.read() as txn:
                outcome = pairing.get(txn, PHONE)
            return f"{outcome.kind} {outcome.value}"

    home = str(tmp_path / "home")
    made = []

    def start(device_state: str = "unlinked") -> Session:
        with Store(home) as store:
            store.write(lambda txn: masters.put(txn, masters.Master(
                phone=PHONE, name="Sales", device_state=device_state)))
        s = Session()
        s.on_start({"ctx": Context(home=home, port=0, transport="neonize"), "phone": PHONE})
        s.transport.stop_timeout_s = 1.0
        made.append(s)
        return s

    yield start
    for s in made:
        s.on_stop()
        s.store.close()
    go.release.set()


def test_a_qr_pairing_nobody_scans_times_out_back_to_unlinked(go, session):
    from actors.session import Link
    go.devices = b""
    go.ignore_stop = True          # as whatsmeow: a stop during QR pairing never returns
    s = session()
    s.on_message(Link(), None)
    assert s.state == "pairing" and s.pending("pairing_timeout") == [160.0]   # the default
    conn = go.wait_connection(1)
    assert conn.new_device == 1
    conn.qr("2@first")
    s.events()
    assert s.pairing_outcome() == "qr 2@first" and s.state == "pairing"

    s.fire("pairing_timeout")      # 160 s later, and neonize said nothing
    assert s.state == "unlinked" and s.record().device_state == "unlinked"
    assert ("Stop", DIGITS) in go.calls
    kind, _, why = s.pairing_outcome().partition(" ")
    assert kind == "failed" and "timed out after 160 s" in why and "scanned" in why
    conn.qr("2@late")              # a late code of the stopped pairing goes nowhere
    assert wait_events(s.transport, timeout=0.3) == [] and s.state == "unlinked"


def test_a_code_pairing_shows_the_code_then_links(N, go, session):
    from actors.session import Link
    go.devices = b""
    s = session()
    s.on_message(Link(code=True), None)
    conn = go.wait_connection(1)
    conn.qr("2@first")             # PairPhone works only once the QR is up
    s.events()
    assert s.pairing_outcome() == "code ABCD-1234" and s.state == "pairing"
    [asked] = [c[1] for c in go.calls if c[0] == "PairPhone"]
    assert asked.phone == PHONE[1:]

    conn.deliver(N.PairStatus(ID=jid(N, PHONE[1:], device=9), Status=N.PairStatus.SUCCESS))
    conn.deliver(N.Connected(status=True))
    s.events(2)
    assert s.state == "connected" and s.record().device_state == "connected"
    s.fire("pairing_timeout")      # too late to matter
    assert s.state == "connected"


def test_logged_out_stays_dead_and_a_relink_pairs_a_new_device(N, go, session):
    from actors.session import Link
    s = session(device_state="connected")          # linked before; the session resumes it
    first = go.wait_connection(1)
    assert first.jid.User == PHONE[1:] and first.new_device == 0
    first.deliver(N.Connected(status=True))
    s.events()
    assert s.state == "connected"

    go.devices = b""               # whatsmeow deletes the stored device on LoggedOut
    first.deliver(N.LoggedOut(OnConnect=False, Reason=N.LOGGED_OUT))
    s.events()
    assert s.state == "logged_out" and s.record().device_state == "logged_out"
    assert s.pending("reconnect") == []            # dead: never reconnects by itself

    s.on_message(Link(relink=True), None)
    second = go.wait_connection(2)
    assert second.new_device == 1 and second.jid is None   # from scratch
    second.qr("2@new")
    s.events()
    assert s.state == "pairing" and s.pairing_outcome() == "qr 2@new"


def test_a_session_restarted_while_replaced_still_makes_its_one_retry(go, session):
    s = session(device_state="replaced")    # it crashed while waiting for its retry
    assert s.state == "replaced"
    assert s.pending("reconnect") == [s.cfg.session.replaced_wait_s]
    s.fire("reconnect")
    assert s.state == "connecting"
    go.wait_connection(1)                   # the retry reached WhatsApp (here: FakeGo)


collect_where_runnable(globals())
