"""Fixtures shared by the suite.

Every test that starts an actor system gets its own home directory and free
ports, and on teardown everything marked with that home is killed by pid
(runtime/procs.py), even when the test failed half-way.
"""
from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from runtime import procs  # noqa: E402
from runtime.ports import free_port  # noqa: E402  (tests import free_port from conftest)


@pytest.fixture
def home(tmp_path):
    """A fresh daemon home; every process marked with it is killed afterwards."""
    path = tmp_path / "home"
    path.mkdir(mode=0o700)   # as whitecaves makes a home (runtime/home.py)
    yield str(path)
    leftovers = procs.processes_of(str(path))
    procs.kill_all(leftovers)


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def actor_system(home, port):
    """A bare multiprocTCPBase system on its own port, shut down and reaped afterwards."""
    from daemon import system

    asys = system.start(home, port)
    try:
        yield asys
    finally:
        try:
            asys.shutdown()
        except Exception:
            pass
        procs.kill_all(procs.processes_of(home))


class Daemon:
    """A daemon started through the real CLI, for end-to-end tests."""

    def __init__(self, home: str, port: int, transport: str = "sim"):
        self.home, self.port, self.transport = home, port, transport
        self.sim_port = port + 1

    def cli(self, *args: str, check: bool = True, timeout: float = 60, input: str | None = None):
        import subprocess
        cmd = [sys.executable, "-m", "cli", *args]
        env = dict(os.environ, WHITECAVES_HOME=self.home, WHITECAVES_PORT=str(self.port))
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT,
                           input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(args)} → exit {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def json(self, *args: str):
        import json
        return json.loads(self.cli(*args, "--json").stdout.strip().splitlines()[-1])

    def start(self):
        return self.cli("daemon", "start", "--transport", self.transport)

    def stop(self):
        return self.cli("daemon", "stop", check=False)

    def processes(self) -> list[int]:
        return procs.processes_of(self.home)


FAST_CONFIG = """
[health]
heartbeat_s = 0.2
[backoff]
min_s = 0.1
max_s = 1.0
reset_after_s = 2.0
[session]
replaced_wait_s = 1.0
typing_max_s = 0
[limits]
enabled = false
[outbox]
retry_min_s = 0.2
retry_max_s = 2.0
"""


@pytest.fixture
def daemon(home, port):
    """A running daemon on the simulated network with fast timings; stopped and reaped afterwards."""
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(FAST_CONFIG)
    d = Daemon(home, port)
    d.start()
    try:
        yield d
    finally:
        try:
            d.stop()
        finally:
            procs.kill_all(procs.processes_of(home))
