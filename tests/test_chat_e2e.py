"""Chat commands end to end on the simulated network: a real daemon, real sessions.

Each command's happy path, its wrong-argument path, and authorization (an
admin vs a stranger), plus the admin CLI's --json shape.
"""
from __future__ import annotations

import functools
import json
import re

import pytest

from chat.dispatch import DENIED
from daemon_support import master_row, poll

pytestmark = pytest.mark.slow   # a real daemon end to end: `pytest -m "not slow"` skips it

MASTER, OTHER = "+971505760056", "+971553633595"
ADMIN, STRANGER = "+971500000001", "+447700900123"


wait_for = functools.partial(poll, timeout=20.0)
ALERT = re.compile(r"^\S+ (CRITICAL|WARNING|INFO) · ")   # health/alerts.py format_alert


def inbox(d, customer):
    return json.loads(d.cli("sim", "inbox", customer, "--json").stdout)


def answers(d, sender) -> list[str]:
    """What `sender` received, without alerts: an admin also gets those (e.g. a master degraded
    for one heartbeat while the whole suite loads the machine), interleaved with the answers."""
    return [m["text"] for m in inbox(d, sender) if not ALERT.match(m["text"])]


def say(d, sender, text, expect=1, to=MASTER):
    """`sender` writes `text`; returns the texts of the `expect` new answers it received."""
    before = len(answers(d, sender))
    d.cli("sim", "send", "--from", sender, "--to", to, text)
    got = wait_for(f"{expect} answer(s) to {text!r}", lambda: (lambda m: m if len(m) >= before + expect else None)(
        answers(d, sender)))
    return got[before:]


@pytest.fixture
def chat(daemon):
    for phone, name in ((MASTER, "Sales"), (OTHER, "Rentals")):
        daemon.cli("master", "add", phone, "--name", name)
        daemon.cli("link", "master", phone)
    daemon.cli("admin", "add", ADMIN)
    return daemon


def test_admin_cli_json_shapes_and_errors(chat):
    rows = chat.json("admin", "list")
    assert [r["phone"] for r in rows] == [ADMIN] and isinstance(rows[0]["added_ts"], float)
    again = chat.cli("admin", "add", ADMIN, check=False)
    assert again.returncode == 1 and "already an admin" in again.stderr
    bad = chat.cli("admin", "add", "0501234", check=False)
    assert bad.returncode == 2 and "E.164" in bad.stderr
    missing = chat.cli("admin", "remove", "+971599999999", check=False)
    assert missing.returncode == 1 and ADMIN in missing.stderr
    assert chat.json("admin", "list") == rows  # nothing changed


def test_everyone_commands_and_a_strangers_admin_attempt(chat):
    assert say(chat, STRANGER, "!ping 7") == ["pong 7"]
    help_ = say(chat, STRANGER, "!help")[0]
    assert "!ping" in help_ and "!status" not in help_
    assert say(chat, STRANGER, "!nope") == ["Unknown command '!nope'. Send !help."]
    for command in ("!status", f"!handover {MASTER}", f"!relink {MASTER}"):
        assert say(chat, STRANGER, command) == [DENIED]
    log = chat.cli("logs", "--json", "--level", "warning", "-n", "100").stdout
    denied = [json.loads(line) for line in log.splitlines() if "admin_command_denied" in line]
    assert {d["command"] for d in denied} >= {"status", "handover", "relink"}
    assert all(d["sender"] == STRANGER for d in denied)


def test_admin_commands_answer_and_wrong_arguments_get_usage(chat):
    status = say(chat, ADMIN, "!status")[0]
    assert f"{MASTER} Sales: connected" in status and f"{OTHER} Rentals: connected" in status
    assert "Rentals" in say(chat, ADMIN, "!masters")[0]
    assert say(chat, ADMIN, "!handover")[0].startswith("Usage: !handover +FROM [+TO]")
    assert "unknown master" in say(chat, ADMIN, "!handover +971599999999")[0]
    assert say(chat, ADMIN, "!relink")[0] == "Usage: !relink +PHONE"
    # !relink runs through the admin gateway, which answers once the master is connected again
    # (on neonize: once there is a pairing code to type on the phone).
    got = say(chat, ADMIN, f"!relink {OTHER}", expect=2)
    assert got == [f"Relinking {OTHER}…", f"{OTHER} is relinked and connected."]
    assert master_row(chat, OTHER)["device_state"] == "connected"


def test_forwarded_admin_commands_answer_over_whatsapp(chat):
    assert say(chat, STRANGER, "!ping 1") == ["pong 1"]      # the stranger's conversation is with MASTER
    health = say(chat, ADMIN, "!health", expect=2)
    assert health[0] == "Computing the health report…" and health[1].startswith("Health ")
    assert MASTER in health[1] and OTHER in health[1]
    load = say(chat, ADMIN, "!load", expect=2)[1]
    assert load.startswith("Balance quality ") and "strategy round-robin" in load and MASTER in load
    assert say(chat, ADMIN, "!failover") == ["No failovers yet."]
    # The admin asks MASTER's conversations to be handed to OTHER: the stranger's moves.
    before = len(inbox(chat, ADMIN))
    chat.cli("sim", "send", "--from", ADMIN, "--to", MASTER, f"!handover {MASTER} {OTHER}")
    done = wait_for("the handover's outcome", lambda: [m["text"] for m in inbox(chat, ADMIN)[before:]
                                                       if m["text"].startswith("Handover of")])
    got = [m["text"] for m in inbox(chat, ADMIN)[before:]]
    assert f"Handing over {MASTER}'s conversations to {OTHER}…" in got
    assert done[0].startswith(f"Handover of {MASTER}: completed") and f"to {OTHER}" in done[0]
    owners = {c["customer"]: c["master"] for c in chat.json("conversations")}
    assert owners[STRANGER] == OTHER
    assert "completed" in say(chat, ADMIN, "!failover")[0]
    alerts = say(chat, ADMIN, "!alerts")[0]
    assert alerts == "No alerts." or "[" in alerts
