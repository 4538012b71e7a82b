"""A frame is refused on its length header when over the cap, before its body is read
(runtime/wire_frames.py), and an authenticated frame sent again is refused before it is
unpickled (runtime/wire_replay.py)."""
from __future__ import annotations

import os
import pickle
import socket
import time

import pytest

from daemon_support import poll
from runtime import wire, wire_replay
from runtime.wire_frames import MAX_FRAME_BYTES, CappedReceiveBuffer, FrameRefused
from runtime.wire_replay import HEADER, Replayed, ReplayGuard
from test_wire_auth import RunsCommand, frame, own_port, send_frame

S = 1_000_000_000  # ns


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


# --- the size cap, on thespian's own receive buffer ----------------------------------------------

def test_a_frame_within_the_cap_is_read_and_deserialized_once():
    calls = []
    buf = CappedReceiveBuffer(lambda b: calls.append(b) or b.upper())
    data = frame(b"hello")
    buf.addMore(data[:2])
    buf.addMore(data[2:])
    assert buf.isDone()
    assert buf.completed() == (b"HELLO", b"") and buf.completed() == (b"HELLO", b"")
    assert calls == [b"hello"]


@pytest.mark.parametrize("chunks, why", [
    ([b"%d>" % (MAX_FRAME_BYTES + 1)], "over the cap"),
    ([b"99999", b"99999999>"], "more than"),                 # the length split over two reads
    ([b"1" * 40], "more than"),                              # digits and never a '>'
    ([b"GET / HTTP/1.1\r\n"], "not a length"),
    ([b">abc"], "no length"),
    ([b"-5>abc"], "not a length"),
])
def test_a_bad_or_oversized_header_is_refused_before_any_body(chunks, why):
    buf = CappedReceiveBuffer(pickle.loads)
    with pytest.raises(FrameRefused, match=why):
        for c in chunks:
            buf.addMore(c)
    assert buf._size is None  # noqa: SLF001 - nothing was accepted as a length to read


def test_the_sender_refuses_a_message_over_the_cap_in_plain_words():
    signed = wire.SignedPickle(os.urandom(32), max_bytes=1000)
    signed.dumps(b"x" * 500)
    with pytest.raises(wire.FrameTooLarge, match="over the cap of 1000 bytes"):
        signed.dumps(b"x" * 2000)


def test_a_30000_contact_campaign_request_is_far_below_the_cap():
    from actors.messages import AdminRequest
    phones = [f"+9715{i:08d}" for i in range(30000)]
    msg = AdminRequest(command="campaign.send", args=dict(name="menu-may", text_="x" * 1024, contacts=phones))
    size = len(wire.SignedPickle(os.urandom(32)).dumps((("127.0.0.1", 19500), msg)))
    assert 400_000 < size < MAX_FRAME_BYTES / 20


# --- replays, on the guard and the serializer ----------------------------------------------------

def test_the_guard_refuses_a_nonce_twice_and_stale_or_future_frames():
    g = ReplayGuard(window_s=30, started_ns=0)
    now = 1000 * S
    g.check(HEADER.pack(now, b"a" * 16), now)
    with pytest.raises(Replayed, match="already accepted"):
        g.check(HEADER.pack(now, b"a" * 16), now + S)
    with pytest.raises(Replayed, match="over the window of 30 s"):
        g.check(HEADER.pack(now - 31 * S, b"b" * 16), now)
    with pytest.raises(Replayed, match="in the future"):
        g.check(HEADER.pack(now + 5 * S, b"c" * 16), now)
    g.check(HEADER.pack(now - 29 * S, b"d" * 16), now)   # late but within the window


def test_the_guard_forgets_only_what_the_window_refuses_anyway():
    g = ReplayGuard(window_s=30, started_ns=0)
    t = 1000 * S
    for i in range(100):
        g.check(HEADER.pack(t + i * S, i.to_bytes(16, "big")), t + i * S)
    assert len(g) <= 31
    with pytest.raises(Replayed):   # forgotten, and too old
        g.check(HEADER.pack(t, (0).to_bytes(16, "big")), t + 99 * S)


def test_the_guard_memory_is_bounded_and_the_window_shrinks_instead():
    g = ReplayGuard(window_s=30, max_nonces=10, started_ns=0)
    t = 1000 * S
    for i in range(25):
        g.check(HEADER.pack(t + i, i.to_bytes(16, "big")), t + 100)
    assert len(g) == 10
    with pytest.raises(Replayed, match="oldest nonce still remembered"):   # forgotten: refused, not accepted
        g.check(HEADER.pack(t + 3, (3).to_bytes(16, "big")), t + 100)


def test_the_guard_refuses_a_frame_made_before_its_process_started():
    g = ReplayGuard(window_s=360, started_ns=1000 * S)
    with pytest.raises(Replayed, match="before this process started"):
        g.check(HEADER.pack(900 * S, b"e" * 16), 1000 * S)


def test_a_signed_frame_is_accepted_once_and_acks_always():
    signed = wire.SignedPickle(os.urandom(32))
    f = signed.dumps({"send": 1})
    assert signed.loads(f) == {"send": 1}
    with pytest.raises(Replayed, match="already accepted"):
        signed.loads(f)
    ack = signed.dumps_control("ACK")
    assert signed.loads(ack) == "ACK" and signed.loads(ack) == "ACK"
    with pytest.raises(Replayed, match="not one"):   # the ack's header cannot carry anything else
        signed.loads(signed.dumps_control({"send": 1}))
    stale = signed._signed(HEADER.pack(time.monotonic_ns() - 400 * S, os.urandom(16)), {"send": 2})
    with pytest.raises(Replayed, match="over the window"):
        signed.loads(stale)


def test_a_forked_child_keeps_its_own_memory_of_nonces():
    signed = wire.SignedPickle(os.urandom(32))
    f = signed.dumps("x")
    signed.loads(f)
    pid = os.fork()
    if pid == 0:  # the child never received f, but it was made before the child: accepted (start slack)
        try:
            signed.loads(f)
            signed.loads(f)
        except Replayed:
            os._exit(0)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert wire_replay.guard() is not None


# --- against a real daemon ------------------------------------------------------------------

ANNOUNCED = 64 * 1024 * 1024   # over the cap (8 digits, as many as the cap); 256 MiB are streamed after it


def test_an_oversized_frame_to_the_admin_is_refused_on_its_header(daemon):
    status = daemon.json("daemon", "status")
    admin = status["pid"]
    before = rss_kb(admin)
    chunk = b"\0" * (1 << 20)
    sent, t0 = 0, time.monotonic()
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as c:
        c.sendall(b"%d>" % ANNOUNCED)
        try:
            while sent < 256 * (1 << 20):
                c.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    elapsed = time.monotonic() - t0
    grown_mb = (rss_kb(admin) - before) / 1024
    print(f"\nsent {sent / 2**20:.0f} MiB before the Admin closed the connection, in {elapsed:.2f} s; "
          f"Admin RSS {before / 1024:.1f} → {rss_kb(admin) / 1024:.1f} MiB")
    assert sent < 64 * (1 << 20), f"the Admin kept reading: {sent} bytes sent"
    assert grown_mb < 16, f"the Admin's memory grew by {grown_mb:.0f} MiB"
    thesp = open(os.path.join(daemon.home, "logs", "thespian.log"), encoding="utf-8", errors="replace").read()
    assert f"refused a frame of {ANNOUNCED} bytes announced" in thesp and f"(pid {admin})" in thesp
    after = daemon.json("daemon", "status")
    assert after["pid"] == admin and [a["pid"] for a in after["actors"]] == [a["pid"] for a in status["actors"]]


def test_a_captured_frame_sent_again_is_refused(daemon, tmp_path):
    status = daemon.json("daemon", "status")
    balancer = next(a for a in status["actors"] if a["name"] == "balancer")
    targets = {"admin": daemon.port, "balancer": own_port(balancer["pid"], status["pid"])}
    signed = wire.SignedPickle(wire.load_key(daemon.home))   # as the CLI signs (daemon/client.py)
    for name, port in targets.items():
        marker = tmp_path / f"{name}-ran"
        captured = signed.dumps(RunsCommand(f"touch {marker}"))
        send_frame(port, captured)
        poll(f"the first frame to run in the {name}", marker.exists, timeout=5)
        marker.unlink()
        answer = send_frame(port, captured)
        assert b"ACK+DATAERR" in answer
        time.sleep(0.5)
        assert not marker.exists(), f"the replayed frame ran again in the {name}"
    thesp = open(os.path.join(daemon.home, "logs", "thespian.log"), encoding="utf-8", errors="replace").read()
    assert "a nonce already accepted" in thesp
    assert [a["pid"] for a in daemon.json("daemon", "status")["actors"]] == [a["pid"] for a in status["actors"]]
