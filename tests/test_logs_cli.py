"""`whitecaves logs`: filtering, rendering, and following the JSON log (no daemon needed)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from cli_commands.logs import matches, render
from conftest import ROOT

A = "+971505760056"


def _line(**fields) -> str:
    return json.dumps({"ts": "2026-11-29T08:00:00.123456Z", "level": "info", "event": "x", **fields}) + "\n"


def test_filters_by_master_and_minimum_level():
    warn = {"level": "warning", "master": A, "event": "send_failed"}
    assert matches(warn, A, "info") and matches(warn, None, "warning")
    assert not matches(warn, "+971553633595", None) and not matches(warn, None, "error")
    assert matches({"level": "WARN"}, None, "warning")   # thespian's spelling


def test_a_record_reads_as_one_line_for_people():
    text = render({"ts": "2026-11-29T08:00:00.123456Z", "level": "warning", "actor": f"master:{A}",
                   "event": "send_failed", "master": A, "to": "+447700900001", "attempt": 2})
    assert text.startswith("08:00:00.123 WARN master:+971505760056")
    assert "send_failed to=+447700900001 attempt=2" in text and "master=" not in text


def test_follow_prints_new_matching_lines_and_not_the_old_ones_twice(tmp_path):
    home = str(tmp_path)
    os.makedirs(os.path.join(home, "logs"))
    path = os.path.join(home, "logs", "whitecaves.log")
    with open(path, "w") as f:
        f.write(_line(event="old_one", master=A))
    cmd = [sys.executable, "-m", "cli", "logs", "-f", "--json", "--master", A, "--home", home]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert json.loads(proc.stdout.readline())["event"] == "old_one"
        time.sleep(0.5)
        with open(path, "a") as f:
            f.write(_line(event="other_master", master="+971553633595"))
            f.write(_line(event="new_one", master=A))
        assert json.loads(proc.stdout.readline())["event"] == "new_one"
    finally:
        proc.kill()
        proc.wait(5)


def test_no_log_yet_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "cli", "logs", "--home", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "no log yet" in r.stderr
