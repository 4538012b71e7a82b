"""The real neonize/Go library with no network, each run in a fresh interpreter.

The machine has no route to WhatsApp; on top of that, every proxy variable points
at a closed local port (whatsmeow honours HTTPS_PROXY), so nothing leaves it.
A subprocess with a timeout keeps a hang from stalling the suite.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

from neonize_support import ROOT


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_script(script: str, tmp_path, timeout: float = 30.0) -> dict:
    """Run a script in a fresh interpreter whose proxies point at a closed local port."""
    proxy = f"http://127.0.0.1:{closed_port()}"
    env = dict(os.environ, HTTPS_PROXY=proxy, HTTP_PROXY=proxy, ALL_PROXY=proxy,
               https_proxy=proxy, http_proxy=proxy, all_proxy=proxy, NO_PROXY="", no_proxy="",
               PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_no_network_pairing_fails_fast_and_leaves_nothing_running(tmp_path):
    out = run_script("""
        import json, select, sys, threading, time
        from transports.neonize.transport import NeonizeTransport
        t = NeonizeTransport("+971501234567", sys.argv[1] + "/sessions/+971501234567.sqlite")
        def next_event():
            started = time.monotonic()
            select.select([t.fileno()], [], [], 20)
            return [repr(e) for e in t.poll()], time.monotonic() - started
        t.connect()
        connect_events, _ = next_event()
        t.pair(phone_code=True)
        pair_events, pair_s = next_event()
        t.close()
        time.sleep(0.2)
        left = [(th.name, th.daemon) for th in threading.enumerate() if th is not threading.main_thread()]
        print(json.dumps(dict(connect=connect_events, pair=pair_events, pair_s=pair_s, left=left)))
    """, tmp_path)
    assert len(out["connect"]) == 1 and "not linked" in out["connect"][0]
    [failed] = out["pair"]
    assert failed.startswith("ConnectFailed(") and "WhatsApp could not be reached" in failed
    assert out["pair_s"] < 5
    # Only neonize's own log-forwarding daemon thread may remain.
    assert all(daemon and not name.startswith("neonize-") and name != "971501234567"
               for name, daemon in out["left"]), out["left"]


def test_the_process_can_exit_while_neonize_connect_is_stuck(tmp_path):
    # whatsmeow leaves a stop during QR pairing blocked in Go for good; neonize runs that
    # call on a non-daemon thread, which would keep the process alive forever.
    out = run_script("""
        import json, sys, threading, time
        from transports.neonize import binding
        from transports.neonize.transport import NeonizeTransport
        gocode = binding.load().gocode
        entered = threading.Event()
        def stuck_neonize(*args):
            entered.set()
            threading.Event().wait()      # never returns, whatever Stop does
        gocode.Neonize = stuck_neonize
        gocode.Stop = lambda uuid: b""
        gocode.GetAllDevices = lambda db, cb: b""
        t = NeonizeTransport("+971501234567", sys.argv[1] + "/s.sqlite", stop_timeout_s=0.3)
        t.pair()
        entered.wait(5)
        t.close()
        print(json.dumps(dict(entered=entered.is_set())))
    """, tmp_path, timeout=20)
    assert out["entered"]
