"""Media out and human-like pacing on a real daemon and the simulated network (issue 15).

`whitecaves send --image/--document` and `campaign send --document` store the file
once in the home (storage/outbound_media.py) and the customer receives exactly its
bytes; a file that cannot be sent is refused before anything is queued (exit 2);
admins' `!send +C TEXT` queues like the CLI. With typing on, a reply is preceded by
the answered message's read receipt and by "typing…" for the time its length asks.
"""
import os
import stat
import time
import zlib
import struct

import pytest

import daemon_support
from conftest import FAST_CONFIG, Daemon
from runtime import procs
from transports.sim import control

pytestmark = pytest.mark.slow   # a real daemon end to end: `pytest -m "not slow"` skips it

M = "+971505760056"
C = "+447700900321"
ADMIN = "+971501110000"


def png_bytes() -> bytes:
    """A real 2x2 PNG (neonize makes a thumbnail of what it sends)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def start(home, port, session_extra: str = ""):
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(FAST_CONFIG.replace("typing_max_s = 0\n", session_extra or "typing_max_s = 0\n"))
    daemon = Daemon(home, port)
    daemon_support.start_daemon(daemon)
    daemon.cli("master", "add", M, "--name", "Sales")
    daemon.cli("link", "master", M)
    daemon_support.poll("the master healthy", lambda: daemon_support.master_row(
        daemon, M)["health"] == "healthy", timeout=20)
    return daemon


@pytest.fixture
def d(home, port):
    daemon = start(home, port)
    try:
        yield daemon
    finally:
        try:
            daemon.stop()
        finally:
            procs.kill_all(procs.processes_of(home))


def received(d, customer, n):
    return daemon_support.poll(f"{n} messages at {customer}", lambda: (
        lambda got: got if len(got) >= n else None)(control.inbox("127.0.0.1", d.sim_port, customer)),
        timeout=20)


def test_an_image_and_a_document_arrive_byte_for_byte_and_a_bad_file_queues_nothing(d, tmp_path):
    image, document = png_bytes(), b"%PDF-1.4\n" + os.urandom(50_000) + b"\n%%EOF\n"
    (tmp_path / "unit.png").write_bytes(image)
    (tmp_path / "plan.pdf").write_bytes(document)
    (tmp_path / "notes.txt").write_text("not an image")
    d.cli("send", C, "Unit 1204, sea view", "--image", str(tmp_path / "unit.png"))
    d.cli("send", C, "--document", str(tmp_path / "plan.pdf"))
    got = received(d, C, 2)
    by_kind = {m["kind"]: m for m in got}
    assert by_kind["image"]["text"] == "Unit 1204, sea view"
    assert by_kind["document"]["media"]["file_name"] == "plan.pdf"
    with control.ControlClient("127.0.0.1", d.sim_port) as sim:
        assert sim.media(by_kind["image"]["media"]["id"]) == image
        assert sim.media(by_kind["document"]["media"]["id"]) == document
    # refused before queueing, with the reason, and nothing queued
    bad = d.cli("send", C, "--image", str(tmp_path / "notes.txt"), check=False)
    assert bad.returncode == 2 and "JPEG or PNG" in bad.stderr, bad.stderr
    both = d.cli("send", C, "--image", str(tmp_path / "unit.png"), "--document",
                 str(tmp_path / "plan.pdf"), check=False)
    assert both.returncode == 2 and "one file at a time" in both.stderr
    assert d.cli("send", C, check=False).returncode == 2
    daemon_support.poll("the outbox empty", lambda: d.json("outbox") == [])
    time.sleep(0.5)
    assert len(control.inbox("127.0.0.1", d.sim_port, C)) == 2


def test_a_campaign_file_is_stored_once_and_admins_send_from_chat(d, tmp_path):
    contacts = [f"+4477009005{i:02d}" for i in range(5)]
    (tmp_path / "c.csv").write_text("phone\n" + "\n".join(contacts) + "\n")
    brochure = b"%PDF-1.4 brochure " + os.urandom(20_000)
    (tmp_path / "brochure.pdf").write_bytes(brochure)
    d.cli("campaign", "send", "--file", str(tmp_path / "c.csv"), "--text", "Our new tower",
          "--document", str(tmp_path / "brochure.pdf"), "--name", "tower")
    media_dir = os.path.join(d.home, "media")
    assert len(os.listdir(media_dir)) == 1                      # once, not once per contact
    assert stat.S_IMODE(os.stat(media_dir).st_mode) == 0o700
    [stored] = os.listdir(media_dir)
    assert stat.S_IMODE(os.stat(os.path.join(media_dir, stored)).st_mode) == 0o600
    with control.ControlClient("127.0.0.1", d.sim_port) as sim:
        for c in contacts:
            [m] = received(d, c, 1)
            assert m["text"] == "Our new tower" and sim.media(m["media"]["id"]) == brochure
    # an admin's !send from WhatsApp
    d.cli("admin", "add", ADMIN)
    control.send("127.0.0.1", d.sim_port, ADMIN, M, "!send +447700900777 The keys are ready")
    [m] = received(d, "+447700900777", 1)
    assert m["text"] == "The keys are ready"
    answers = [r["text"] for r in received(d, ADMIN, 2)]
    assert answers[0].startswith("Running !send") and "outbox id" in answers[1], answers
    stranger = control.send("127.0.0.1", d.sim_port, C, M, "!send +447700900778 spam")
    assert stranger
    time.sleep(1.0)
    assert control.inbox("127.0.0.1", d.sim_port, "+447700900778") == []


def test_a_reply_is_read_then_typed_for_its_length(home, port):
    d = start(home, port, "typing_min_s = 0.5\ntyping_per_char_s = 0.001\ntyping_max_s = 3\n")
    try:
        asked = time.time()
        message_id = control.send("127.0.0.1", d.sim_port, C, M, "!ping")
        [reply] = received(d, C, 1)
        with control.ControlClient("127.0.0.1", d.sim_port) as sim:
            seen = sim.activity(C)
        assert [s["what"] for s in seen] == ["read", "typing", "typing"], seen
        read, composing, paused = seen
        assert read["ids"] == [message_id] and read["from"] == M
        assert (composing["state"], paused["state"]) == ("composing", "paused")
        assert paused["ts"] - composing["ts"] >= 0.45      # typing_min_s for a short reply
        assert composing["ts"] >= read["ts"] and reply["ts"] >= paused["ts"] > asked
    finally:
        try:
            d.stop()
        finally:
            procs.kill_all(procs.processes_of(home))


def test_typing_in_one_chat_does_not_hold_up_replies_in_the_others(home, port):
    """Typing is per chat, as a person's would be: ten customers asking at once are all answered
    about one typing time later, not one after another (measured before: 10 × 2 s in a row)."""
    d = start(home, port, "typing_min_s = 2\ntyping_per_char_s = 0.001\ntyping_max_s = 3\n")
    try:
        customers = [f"+4477009004{i:02d}" for i in range(10)]
        asked = time.time()
        for c in customers:
            control.send("127.0.0.1", d.sim_port, c, M, "!ping")
        last = max(received(d, c, 1)[0]["ts"] for c in customers)
        assert last - asked < 2 * 2.0, f"the last reply came {last - asked:.1f} s after the questions"
        for c in customers:   # and each one was typed for its time
            with control.ControlClient("127.0.0.1", d.sim_port) as sim:
                composing, paused = [s for s in sim.activity(c) if s["what"] == "typing"]
            assert paused["ts"] - composing["ts"] >= 1.9
    finally:
        try:
            d.stop()
        finally:
            procs.kill_all(procs.processes_of(home))
