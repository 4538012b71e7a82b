"""A real daemon on the real neonize transport, with no way to reach WhatsApp.

Every proxy variable points at a closed local port (whatsmeow's websocket dial honours
HTTPS_PROXY: its error says "proxyconnect"), so nothing leaves the machine even where
it has a route. The suite's own process never imports neonize: only the daemon's
session processes do, after thespian forked them.
"""
from __future__ import annotations

import functools
import json
import os
import time
from datetime import datetime

from conftest import Daemon
from daemon_support import master_row as row, poll
from neonize_support import make_linked_store
from runtime import procs
from storage import Store, masters

NEW = "+971505760056"       # never linked: `link master --code` must fail fast
LINKED = "+971553633595"    # linked before; the daemon restarts with the network down

CONFIG = """
[health]
heartbeat_s = 0.3
[backoff]
min_s = 0.2
max_s = 0.8
jitter = 0.2
"""
PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


def closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


wait_for = functools.partial(poll, timeout=20.0, every=0.2)


def reconnect_times(home: str, phone: str) -> list[float]:
    """When the session started each reconnect attempt, from its JSON log."""
    times = []
    with open(os.path.join(home, "logs", "whitecaves.log")) as f:
        for line in f:
            if '"device_state"' not in line or phone not in line:
                continue
            entry = json.loads(line)
            if (entry.get("master") == phone and entry.get("new") == "connecting"
                    and entry.get("reason", "").startswith("reconnect attempt")):
                times.append(datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp())
    return times


def test_with_no_network_link_fails_fast_and_the_daemon_and_other_masters_keep_going(
        home, port, monkeypatch):
    proxy = f"http://127.0.0.1:{closed_port()}"
    for var in PROXY_VARS:
        monkeypatch.setenv(var, proxy)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(CONFIG)
    make_linked_store(os.path.join(home, "sessions", f"{LINKED}.sqlite"), LINKED)
    with Store(home) as store:   # it was connected when the daemon last ran
        store.write(lambda txn: masters.put(txn, masters.Master(
            phone=LINKED, name="Support", device_state="connected")))

    d = Daemon(home, port, transport="neonize")
    d.start()
    try:
        linked_pid = wait_for("the linked master's session", lambda: row(d, LINKED)["pid"])
        d.cli("master", "add", NEW, "--name", "Sales")
        new_pid = wait_for("the new master's session", lambda: row(d, NEW)["pid"])

        started = time.monotonic()
        r = d.cli("link", "master", NEW, "--code", check=False, timeout=60)
        took = time.monotonic() - started
        assert r.returncode != 0, r.stdout
        assert "WhatsApp could not be reached" in r.stderr and "proxyconnect" in r.stderr, r.stderr
        assert took < 10, f"link took {took:.1f} s to fail"
        assert os.path.exists(os.path.join(home, "sessions", f"{NEW}.sqlite"))
        new = row(d, NEW)
        assert (new["device_state"], new["pid"]) == ("unlinked", new_pid)   # no crash, no retry loop

        # The linked master keeps trying, spaced by backoff, in the same process.
        attempts = wait_for("4 reconnect attempts", lambda: len(reconnect_times(home, LINKED)) >= 4
                            and reconnect_times(home, LINKED))
        for n, (a, b) in enumerate(zip(attempts, attempts[1:]), start=1):
            assert b - a >= 0.9 * min(0.8, 0.2 * 2 ** n), f"attempt {n + 1} came {b - a:.2f} s after {n}"
        assert len(attempts) < 12, f"{len(attempts)} attempts: not backing off"
        assert row(d, LINKED)["pid"] == linked_pid
        restarts = {a["name"]: a["restarts"] for a in d.json("daemon", "status")["actors"]}
        assert restarts[f"master:{LINKED}"] == restarts[f"master:{NEW}"] == 0, restarts
        assert row(d, LINKED)["device_state"] in ("connecting", "disconnected")
        assert os.path.exists(os.path.join(home, "sessions", f"{LINKED}.sqlite"))  # kept
    finally:
        d.stop()
    left = procs.processes_of(home)
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = procs.processes_of(home)
    assert left == [], f"processes left behind after daemon stop: {left}"
