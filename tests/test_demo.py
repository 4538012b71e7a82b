"""The demo (the README's first command) with a short duration, and its bookkeeping."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT, free_port
from runtime import procs
from daemon.demo import Tally, customer_phones, master_phones
from runtime.phone import normalize
import pytest

pytestmark = pytest.mark.slow   # a real daemon end to end: `pytest -m "not slow"` skips it


def test_tally_counts_answers_losses_and_duplicates():
    t = Tally()
    for token, customer in (("t1", "+1"), ("t2", "+1"), ("t3", "+2")):
        t.on_sent(token, customer)
    t.on_received("+1", {"id": "a", "text": "pong t1"})
    t.on_received("+1", {"id": "a", "text": "pong t1"})       # the same message seen twice: not a repeat
    t.on_received("+1", {"id": "b", "text": "pong t1"})       # a second delivery: a duplicate
    t.on_received("+2", {"id": "c", "text": "pong t2"})       # someone else's token: not an answer
    t.on_received("+2", {"id": "d", "text": "Hello! Rentals here, continuing your conversation"})
    assert t.summary() == {"sent": 3, "answered": 1, "lost": 2, "duplicated": 1}
    assert t.notes == 2


def test_demo_phones_are_valid_e164():
    for phone in customer_phones(40) + master_phones(6):
        assert normalize(phone) == phone


def test_demo_json_summary_nothing_lost_and_nothing_left_running(tmp_path):
    home = str(tmp_path / "demo-home")
    port = free_port()
    cmd = [sys.executable, "-m", "cli", "demo", "--masters", "2", "--customers", "6", "--duration", "10",
           "--fault-after", "3", "--json", "--home", home, "--port", str(port)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=ROOT,
                           stdin=subprocess.DEVNULL)
    finally:
        left = procs.processes_of(home)
        procs.kill_all(left)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(summary) >= {"sent", "answered", "lost", "duplicated", "failover_ms"}
    assert summary["sent"] > 10 and summary["lost"] == 0
    assert summary["answered"] == summary["sent"]
    assert summary["failover_ms"] is not None and summary["failover_ms"] < 10_000
    assert summary["other_messages"] >= 1          # the hand-over note reached a customer
    assert summary["media_stored"] == 2             # the photo and the voice note (issue 14)
    assert summary["backlog_waiting"] == 2          # the relinked master's night: held for a person
    assert left == [], f"the demo left processes running: {left}"
    assert os.path.isdir(home)                      # --home is kept
