"""`python -m transports.sim serve` as its own process: state survives a kill -9."""
import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, free_port
from runtime import procs
from transports.events import Connected, Inbound, LoggedOut
from transports.sim import control
from transports.sim.__main__ import main as sim_main
from transports.sim.transport import SimTransport

MASTER, OTHER, CUSTOMER = "+971505760056", "+971553633595", "+971501234567"
HOST = "127.0.0.1"


@pytest.fixture
def sim_process(home, tmp_path):
    """start() runs the sim on one port and state dir; every process is killed afterwards."""
    port = free_port(1)
    state_dir = str(tmp_path / "sim-state")
    started = []

    def start():
        env = dict(os.environ, **{procs.MARK_ENV: home})   # the `home` fixture reaps by this mark
        proc = subprocess.Popen(
            [sys.executable, "-m", "transports.sim", "serve", "--port", str(port),
             "--state-dir", state_dir],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(proc)
        control.wait_until_up(HOST, port, timeout=15)
        return proc

    start.port = port
    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(5)
            proc.stdout.close()
            proc.stderr.close()


def events_until(transport, count, kind, timeout=5.0):
    """Events until `count` of type `kind` have arrived."""
    seen = []
    deadline = time.monotonic() + timeout
    while sum(isinstance(e, kind) for e in seen) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {seen} within {timeout} s"
        if select.select([transport.fileno()], [], [], left)[0]:
            seen.extend(transport.poll())
    return seen


def test_state_survives_a_kill_minus_9(sim_process, tmp_path):
    proc = sim_process()
    port = sim_process.port
    token_path = str(tmp_path / "master.token")
    t = SimTransport(MASTER, HOST, port, token_path)
    other = SimTransport(OTHER, HOST, port, str(tmp_path / "other.token"))
    try:
        t.pair()
        events_until(t, 1, Connected)
        other.pair()
        events_until(other, 1, Connected)
        sent = t.send(CUSTOMER, "pong", "outbox-1")
        acked = control.send(HOST, port, CUSTOMER, MASTER, "seen and persisted")
        events_until(t, 1, Inbound)
        t.ack(acked)
        deadline = time.monotonic() + 3
        while control.status(HOST, port)["accounts"][MASTER]["pending"]:
            assert time.monotonic() < deadline, "ack never reached the sim"
            time.sleep(0.02)
        t.disconnect()
        held = [control.send(HOST, port, CUSTOMER, MASTER, f"held {i}") for i in range(3)]
        control.fault(HOST, port, OTHER, "logout")
        events_until(other, 1, LoggedOut)

        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        with pytest.raises(control.SimUnreachable):
            control.status(HOST, port)
        sim_process()

        t.connect()                                        # the token survived: no pairing
        events = events_until(t, 3, Inbound)
        assert [e.message_id for e in events if isinstance(e, Inbound)] == held
        assert [m["id"] for m in control.inbox(HOST, port, CUSTOMER)] == [sent]
        assert t.send(CUSTOMER, "pong", "outbox-1") == sent  # the key was remembered
        assert len(control.inbox(HOST, port, CUSTOMER)) == 1
        other.connect()                                    # and so was the logout
        events_until(other, 1, LoggedOut)
    finally:
        t.close()
        other.close()


def test_sigterm_stops_the_server_cleanly(sim_process):
    proc = sim_process()
    out = proc.stdout.readline().decode()
    assert f"127.0.0.1:{sim_process.port}" in out and "test double" in out
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0


def test_module_cli_commands(sim_process, tmp_path, capsys):
    sim_process()
    port = str(sim_process.port)
    t = SimTransport(MASTER, HOST, int(port), str(tmp_path / "token"))
    try:
        t.pair()
        events_until(t, 1, Connected)
        assert sim_main(["send", "--port", port, "--from", CUSTOMER, "--to", MASTER, "hi"]) == 0
        message_id = capsys.readouterr().out.strip()
        inbound = [e for e in events_until(t, 1, Inbound) if isinstance(e, Inbound)]
        assert inbound[0].message_id == message_id
        t.send(CUSTOMER, "hello", "k")
        assert sim_main(["inbox", "--port", port, CUSTOMER]) == 0
        assert [m["text"] for m in json.loads(capsys.readouterr().out)] == ["hello"]
        assert sim_main(["fault", "--port", port, MASTER, "hang"]) == 0
        assert sim_main(["status", "--port", port]) == 0
        assert json.loads(capsys.readouterr().out)["accounts"][MASTER]["state"] == "hung"
        assert sim_main(["heal", "--port", port, MASTER]) == 0
        assert sim_main(["fault", "--port", port, "+971599999999", "logout"]) == 2
        assert "unknown account" in capsys.readouterr().err
    finally:
        t.close()
    assert sim_main(["status", "--port", str(free_port(1))]) == 2   # nothing there
