"""Issue 14's session side end to end: a real daemon on the simulated network, driven
through the CLI. A master back from a long disconnect stores its backlog without
answering it, the admins get one summary; a blip is answered; photos and voice notes are
stored with their files; a person typing on the phone quiets the bot; a LID sender is
kept and merged; edits, revokes and reactions land on their message; another bot gets at
most the hourly budget of automatic replies."""
from __future__ import annotations

import functools
import json
import os
import stat

import pytest

from conftest import FAST_CONFIG, Daemon
from daemon_support import poll, start_daemon
from runtime import procs
from transports.sim import control

pytestmark = pytest.mark.slow   # a real daemon end to end: `pytest -m "not slow"` skips it

MASTER, ADMIN = "+971505760056", "+971500000001"
C1, C2, BOT = "+447700900001", "+447700900002", "+447700900099"
WELCOME = "Welcome to White Caves!"

wait_for = functools.partial(poll, timeout=30.0)


@pytest.fixture
def d(home, port):
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(FAST_CONFIG + f'[chat]\nwelcome = "{WELCOME}"\nauto_reply_budget = 3\n')
    daemon = Daemon(home, port)
    start_daemon(daemon)
    try:
        daemon.cli("master", "add", MASTER, "--name", "Sales")
        daemon.cli("link", "master", MASTER)
        daemon.cli("admin", "add", ADMIN)
        yield daemon
    finally:
        try:
            daemon.stop()
        finally:
            procs.kill_all(procs.processes_of(home))


def send(d, sender, *args) -> str:
    """The customer sends; returns the message id the sim printed."""
    return d.cli("sim", "send", "--from", sender, "--to", MASTER, *args).stdout.strip().split()[-1]


def inbox(d, customer) -> list[str]:
    return [m["text"] for m in json.loads(d.cli("sim", "inbox", customer, "--json").stdout)]


def show(d, customer) -> list[dict]:
    r = d.cli("conversations", "show", customer, "--json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else []


def said(d, customer) -> list[dict]:
    """The customer's own messages (the bot's welcome left out)."""
    return [r for r in show(d, customer) if r["direction"] == "in"]


def waiting(d) -> list[str]:
    return [r["customer"] for r in d.json("conversations", "--waiting")]


def on_the_network(d) -> str:
    """The master's stream as the simulated network sees it (connected | disconnected | ...)."""
    return control.status("127.0.0.1", d.sim_port)["accounts"][MASTER]["state"]


def test_a_long_disconnect_backlog_is_stored_not_answered_and_summarised_once(d):
    control.fault("127.0.0.1", d.sim_port, MASTER, "ban", seconds=4)   # away for a while
    wait_for("the master off the network", lambda: on_the_network(d) != "connected" or None)
    send(d, C1, "is the flat free?", "--ago", "2h")
    send(d, C1, "!ping", "--ago", "90m")
    send(d, ADMIN, f"!handover {MASTER}", "--ago", "1h")
    wait_for("the backlog stored", lambda: waiting(d) == [C1, ADMIN] or None)
    rows = show(d, C1)
    assert [(r["text"], r["answered"], r["author"]) for r in rows] == [
        ("is the flat free?", False, "customer"), ("!ping", False, "customer")]
    alerts = wait_for("the summary alert", lambda: [a for a in d.json("alerts") if a["kind"] == "offline_backlog"] or None)
    assert len(alerts) == 1 and alerts[0]["text"].startswith(
        f"3 messages from 2 customers arrived while {MASTER} was offline")
    assert inbox(d, C1) == []                                      # no welcome, no pong
    assert not [t for t in inbox(d, ADMIN) if "handover" in t.lower()]   # the old !handover never ran
    # The master is back: a fresh message is answered as usual.
    send(d, C1, "!ping")
    assert wait_for("a pong", lambda: inbox(d, C1) or None) == ["pong"]
    assert C1 not in waiting(d)


def test_a_photo_and_a_voice_note_are_stored_with_their_files(d, tmp_path):
    photo = tmp_path / "unit.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(20_000))
    send(d, C1, "--image", str(photo), "the view from the balcony")
    send(d, C1, "--voice", "14")
    rows = wait_for("both files stored", lambda: (lambda r: r if len(r) == 2 and all(x["media"] for x in r)
                                                 else None)(said(d, C1)))
    assert [(r["kind"], r["text"]) for r in rows] == [("image", "the view from the balcony"),
                                                      ("voice", "[voice note 14 s]")]
    assert open(rows[0]["media"], "rb").read() == photo.read_bytes()
    assert rows[0]["media"].startswith(os.path.join(d.home, "media"))
    assert stat.S_IMODE(os.stat(rows[1]["media"]).st_mode) == 0o600
    assert wait_for("the welcome", lambda: inbox(d, C1) or None) == [WELCOME]   # routed like text


def test_a_person_answering_from_the_phone_quiets_the_bot(d):
    d.cli("sim", "phone-reply", "--from", MASTER, "--to", C2, "Sara here, the flat is free")
    wait_for("the human answer recorded", lambda: show(d, C2) or None)
    send(d, C2, "great, can I see it?")
    rows = wait_for("the customer's answer", lambda: (lambda r: r if len(r) == 2 else None)(show(d, C2)))
    assert [(r["direction"], r["author"]) for r in rows] == [("out", "human"), ("in", "customer")]
    assert inbox(d, C2) == ["Sara here, the flat is free"]          # no welcome from the bot
    assert waiting(d) == [C2]
    d.cli("conversations", "bot-on", C2)
    send(d, C2, "hello?")
    assert wait_for("the bot talks again", lambda: WELCOME in inbox(d, C2) or None)


def test_a_lid_sender_is_kept_then_merged_into_the_phone(d):
    send(d, C1, "hidden hello", "--lid")
    lid = wait_for("a LID conversation", lambda: next((c for c in waiting(d) if c.endswith("@lid")), None))
    assert show(d, lid)[0]["text"] == "hidden hello"
    d.cli("sim", "lid-reveal", C1)
    wait_for("merged", lambda: [r["text"] for r in show(d, C1)] == ["hidden hello"] or None)
    assert show(d, lid) == []


def test_edits_revokes_and_reactions_land_on_their_message(d):
    first = send(d, C1, "3 bedrooms")
    second = send(d, C1, "call me")
    wait_for("both stored", lambda: len(said(d, C1)) == 2 or None)
    base = ("--from", C1, "--to", MASTER)
    d.cli("sim", "edit", *base, first, "4 bedrooms")
    d.cli("sim", "react", *base, first, "👍")
    d.cli("sim", "revoke", *base, second)
    rows = wait_for("the changes", lambda: (lambda r: r if r[1].get("deleted") and r[0].get("reactions")
                                            and r[0]["text"] == "4 bedrooms" else None)(said(d, C1)))
    assert rows[0]["original_text"] == "3 bedrooms" and rows[0]["reactions"] == {"customer": "👍"}


def test_another_bot_gets_at_most_the_budget_of_automatic_replies(d):
    for i in range(6):
        send(d, BOT, f"!auto{i}")
    wait_for("all six stored", lambda: len(said(d, BOT)) == 6 or None)
    got = wait_for("three replies", lambda: (lambda m: m if len(m) >= 3 else None)(inbox(d, BOT)))
    assert len(got) == 3 and all(t.startswith("Unknown command") for t in got)
