"""The daemon end to end, through the real CLI: start, status, stop, stale cleanup,
no-daemon errors, bad configuration, loopback-only sockets, supervision and logs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import FAST_CONFIG, ROOT, Daemon
from daemon_support import keeper_pids, listening_sockets, wait_for
from daemon import system
from runtime import logs, procs

MASTER, CUSTOMER = "+971505760056", "+447700900001"
TREE = ["root", "sim", "ha-monitor", "balancer", "admin", "masters"]


def pids_by_name(status: dict) -> dict[str, int]:
    return {a["name"]: a["pid"] for a in status["actors"]}


def pid_file(d: Daemon) -> dict:
    with open(os.path.join(d.home, "run", "daemon.json")) as f:
        return json.load(f)


def assert_no_daemon(d: Daemon, result) -> None:
    assert result.returncode == 3, result.stderr
    assert f"no daemon is running for {d.home} on port {d.port}" in result.stderr
    assert not system.port_listening(d.port), "a command started an actor system on the port"
    assert d.processes() == []


def test_status_refused_second_start_loopback_sockets_and_stop(daemon, tmp_path):
    status = daemon.json("daemon", "status")
    assert status["running"] is True and status["port"] == daemon.port and status["home"] == daemon.home
    assert status["pid"] == pid_file(daemon)["pid"]
    assert [a["name"] for a in status["actors"]] == TREE
    for a in status["actors"]:
        assert isinstance(a["pid"], int) and a["state"] == "running" and a["restarts"] == 0
        assert isinstance(a["uptime_s"], float) and a["uptime_s"] >= 0

    # A second start for the same home, on its port or another: refused, nothing disturbed.
    for args in ([], ["--port", str(daemon.port + 2)]):
        again = daemon.cli("daemon", "start", "--transport", "sim", *args, check=False)
        assert again.returncode == 1 and "already running" in again.stderr, again.stderr
    other = Daemon(str(tmp_path / "other-home"), daemon.port)  # another home, the same port
    os.makedirs(other.home)
    r = other.cli("daemon", "start", "--transport", "sim", check=False)
    assert r.returncode == 1 and f"port {daemon.port} is already in use" in r.stderr, r.stderr
    assert other.processes() == []
    assert pids_by_name(daemon.json("daemon", "status")) == pids_by_name(status)

    # Every socket of every process of the daemon listens on loopback only.
    processes = daemon.processes()
    assert status["pid"] in processes and set(pids_by_name(status).values()) <= set(processes)
    sockets = listening_sockets(processes)
    ports = {port for _, _, port in sockets}
    assert {daemon.port, daemon.sim_port} <= ports, sockets
    assert len({pid for pid, _, _ in sockets}) >= len(TREE), "each actor listens on its own port"
    assert all(ip == "127.0.0.1" for _, ip, _ in sockets), sockets

    t0 = time.monotonic()
    daemon.cli("daemon", "stop")
    assert time.monotonic() - t0 < 10
    assert [p for p in processes if procs.alive(p)] == []
    assert not os.path.exists(os.path.join(daemon.home, "run", "daemon.json"))
    # thespian's own log (it notes each actor's shutdown signal) lives under the home
    assert os.path.getsize(os.path.join(daemon.home, "logs", "thespian.log")) > 0
    assert_no_daemon(daemon, daemon.cli("daemon", "status", check=False))


def ping(d: Daemon, seen: int) -> list:
    """Send !ping as the customer; wait for one more pong than `seen`."""
    d.cli("sim", "send", "--from", CUSTOMER, "--to", MASTER, "!ping")
    return wait_for(lambda: (lambda pongs: pongs if len(pongs) > seen else None)(
        [m for m in d.json("sim", "inbox", CUSTOMER) if m["text"] == "pong"]), 20, "a pong")


def test_a_sigkilled_master_session_is_restarted_and_serves_again(daemon):
    daemon.cli("master", "add", MASTER, "--name", "Sales")
    daemon.cli("link", "master", MASTER)
    assert len(ping(daemon, 0)) == 1
    before = pids_by_name(daemon.json("daemon", "status"))
    name = f"master:{MASTER}"
    assert name in before

    os.kill(before[name], signal.SIGKILL)
    after = wait_for(lambda: (lambda s: s if s.get(name) not in (None, before[name]) else None)(
        {a["name"]: a for a in daemon.json("daemon", "status")["actors"] if a["state"] == "running"}),
        10, "a new session process")
    assert after[name]["restarts"] == 1
    assert {n: a["pid"] for n, a in after.items() if n != name} == {n: p for n, p in before.items() if n != name}
    assert len(ping(daemon, 1)) == 2, "the restarted session serves again"

    # Every actor process logs JSON lines into the home's log, naming its actor and master.
    lines = list(logs.read_lines(daemon.home))
    session_lines = [line for line in lines if line.get("actor") == name]
    assert session_lines and all(line.get("master") == MASTER for line in session_lines)
    assert {before[name], after[name]["pid"]} <= {line.get("pid") for line in session_lines}
    # every line from a process of the tree names that process's actor
    by_pid = {pid: n for n, pid in before.items()}
    by_pid[after[name]["pid"]] = name
    from_tree = [line for line in lines if line.get("pid") in by_pid]
    assert all(line.get("actor") == by_pid[line["pid"]] for line in from_tree), from_tree
    assert len({line["actor"] for line in from_tree}) >= 2, "lines from several actor processes"


def test_a_sigkilled_daemon_is_cleaned_up_by_the_next_start(daemon):
    old = daemon.processes()
    admin = pid_file(daemon)["pid"]
    # A process of the home that would outlive the Admin (as one started with exec would).
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                env=dict(os.environ, **{procs.MARK_ENV: daemon.home}))
    try:
        # The whole daemon SIGKILLed: its keeper and standby too (a live one would end the rest
        # itself, tests/test_faults_e2e.py), so the next start must clean up.
        for keeper in keeper_pids(daemon):
            os.kill(keeper, signal.SIGKILL)
        os.kill(admin, signal.SIGKILL)
        # Every actor and thespian's logger die with it (PR_SET_PDEATHSIG), freeing the port.
        wait_for(lambda: not any(procs.alive(p) for p in old), 2.0, "the daemon's processes to die")
        t0 = time.monotonic()
        status = daemon.cli("daemon", "status", check=False)
        assert status.returncode == 3 and time.monotonic() - t0 < 5, status.stderr
        assert daemon.processes() == [leftover.pid]

        daemon.start()
        assert leftover.wait(5) == -signal.SIGKILL, "the stale process was ended"
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait(5)
    status = daemon.json("daemon", "status")
    assert [a["name"] for a in status["actors"]] == TREE and status["pid"] not in old


def test_any_command_without_a_daemon_exits_3_and_starts_nothing(home, port):
    d = Daemon(home, port)
    for args in (["daemon", "status", "--json"], ["daemon", "stop"], ["master", "add", MASTER, "--name", "Sales"]):
        assert_no_daemon(d, d.cli(*args, check=False))


@pytest.mark.parametrize("text, named", [
    ("[health]\nheartbeat = 1.0\n", "health.heartbeat"),
    ("[backoff]\nmin_s = 'fast'\n", "backoff.min_s"),
])
def test_a_bad_config_stops_the_start_naming_the_key(home, port, text, named):
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(text)
    d = Daemon(home, port)
    r = d.cli("daemon", "start", "--transport", "sim", check=False)
    assert r.returncode == 1 and named in r.stderr, r.stderr
    assert not system.port_listening(port) and d.processes() == []


def _collect(stream, into: list) -> None:
    for line in stream:
        into.append(line)


def test_foreground_on_another_address_renders_logs_and_stops_on_sigterm(home, port):
    bind = "127.0.0.2"
    d = Daemon(home, port)
    env = dict(os.environ, WHITECAVES_HOME=home, WHITECAVES_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "-m", "cli", "daemon", "start", "--transport", "sim",
                             "--foreground", "--bind", bind],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = [], []
    readers = [threading.Thread(target=_collect, args=(s, into), daemon=True)
               for s, into in ((proc.stdout, out), (proc.stderr, err))]
    for r in readers:
        r.start()
    try:
        wait_for(lambda: any("daemon started" in line for line in out), 30, f"the start: {out} {err}")
        status = d.json("daemon", "status")  # other commands find the address in the pid file
        assert [a["name"] for a in status["actors"]] == TREE
        sockets = listening_sockets(d.processes())
        assert sockets and all(ip == bind for _, ip, _ in sockets), sockets
        # Readable lines on the terminal (structlog's console renderer), JSON in the file.
        wait_for(lambda: any("ha_monitor_started" in line for line in err), 10, "a log line on stderr")
        line = next(line for line in err if "ha_monitor_started" in line)
        assert not line.lstrip().startswith("{") and "actor=" in line, line
        assert any(rec.get("event") == "ha_monitor_started" for rec in logs.read_lines(home))

        processes = d.processes()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert [p for p in processes if procs.alive(p)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        procs.kill_all(procs.processes_of(home))


def test_stop_kills_stragglers_at_its_timeout(daemon):
    with open(os.path.join(daemon.home, "config.toml"), "a") as f:
        f.write("[daemon]\nstop_timeout_s = 2.0\n")
    processes = daemon.processes()
    status = pids_by_name(daemon.json("daemon", "status"))
    stuck = [pid_file(daemon)["pid"], status["balancer"]]  # the Admin itself, and one actor
    for pid in stuck:
        os.kill(pid, signal.SIGSTOP)
    t0 = time.monotonic()
    daemon.cli("daemon", "stop")
    assert time.monotonic() - t0 < 2.0 + 3.0  # the timeout, plus the CLI's own start-up on a busy machine
    assert [p for p in processes if procs.alive(p)] == []
    assert not os.path.exists(os.path.join(daemon.home, "run", "daemon.json"))


@pytest.fixture
def patient_root_daemon(home, port):
    """A daemon whose root counts restarts over a long window (slow machines kill slowly)."""
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(FAST_CONFIG + "[supervisor]\nintensity = 3\nperiod_s = 120.0\n")
    d = Daemon(home, port)
    d.start()
    try:
        yield d
    finally:
        d.stop()
        procs.kill_all(procs.processes_of(home))


def test_the_daemon_ends_when_its_root_gives_up(patient_root_daemon):
    """More than [supervisor] intensity restarts within period_s: the root stops its tree
    and the whole daemon ends (escalation past the top), instead of an Admin with no tree."""
    daemon = patient_root_daemon
    processes = daemon.processes()

    def running_balancer():
        r = daemon.cli("daemon", "status", "--json", check=False)
        if r.returncode != 0:
            return "gone"
        b = {a["name"]: a for a in json.loads(r.stdout)["actors"]}["balancer"]
        return b["pid"] if b["state"] == "running" else None

    killed = set()
    for _ in range(8):
        pid = wait_for(lambda: (lambda p: p if p not in killed else None)(running_balancer()),
                       10, "a running balancer or the daemon's end")
        if pid == "gone":
            break
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)
    assert len(killed) == 4, f"the root gave up after {len(killed)} kills (intensity 3)"
    wait_for(lambda: not any(procs.alive(p) for p in processes), 10, "every process of the daemon to end")
    assert_no_daemon(daemon, daemon.cli("daemon", "status", check=False))
    assert any("restarts" in line.get("event", "") and line.get("actor") == "root"
               for line in logs.read_lines(daemon.home)), "the root logged why it gave up"
