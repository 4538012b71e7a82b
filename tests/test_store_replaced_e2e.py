"""A store deleted or replaced under a running daemon (issue 13, fault 7), end to end.

A real daemon; the store's files removed (or swapped for a copy) with the
daemon running. It must stop in bounded time rather than write into the void,
and `daemon status` and every command must then say why.
"""
from __future__ import annotations

import os
import shutil
import time

import pytest

import daemon_support
from conftest import FAST_CONFIG, Daemon
from runtime import procs

pytestmark = pytest.mark.slow


@pytest.fixture
def d(home, port):
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(FAST_CONFIG)
    dmn = Daemon(home, port)
    daemon_support.start_daemon(dmn)
    dmn.cli("master", "add", "+971505760056", "--name", "M0")
    try:
        yield dmn
    finally:
        dmn.stop()
        procs.kill_all(procs.processes_of(home))


def deleted(store: str) -> None:
    shutil.rmtree(store)


def replaced(store: str) -> None:
    """A copy put in place of the original (a restore from backup under a running daemon)."""
    shutil.copytree(store, store + ".copy")
    shutil.rmtree(store)
    os.rename(store + ".copy", store)


@pytest.mark.parametrize("fault, word", [(deleted, "deleted"), (replaced, "replaced")])
def test_a_store_gone_underneath_stops_the_daemon_with_a_clear_error(d, fault, word):
    t0 = time.monotonic()
    fault(os.path.join(d.home, "store"))
    daemon_support.poll("every process of the daemon gone", lambda: not d.processes(), timeout=10.0, every=0.02)
    stopped_s = time.monotonic() - t0
    r = d.cli("daemon", "status", check=False)
    assert r.returncode == 3, r.stdout + r.stderr
    assert f"was {word} while the daemon ran" in r.stderr, r.stderr
    r = d.cli("master", "add", "+971553633595", "--name", "M1", check=False)   # a write the daemon would have lost
    assert r.returncode == 3 and f"was {word}" in r.stderr, r.stderr
    with open(os.path.join(d.home, "logs", "daemon.out")) as f:
        assert "store_replaced" in f.read()
    print(f"store {word}: every process gone {stopped_s:.2f} s after")
    assert stopped_s < 2.0


def test_a_write_racing_the_keeper_gets_a_clear_answer_not_a_crashed_gateway(d):
    """Between the files going and the keeper noticing, a command's write is refused by name."""
    keepers = daemon_support.keeper_pids(d)
    for keeper in keepers:   # SIGSTOP: the keeper (nor its standby, taking over) ends the daemon meanwhile
        os.kill(keeper, 19)
    try:
        deleted(os.path.join(d.home, "store"))
        r = d.cli("master", "add", "+971553633595", "--name", "M1", check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "deleted or replaced under the running daemon" in r.stderr, r.stderr
    finally:
        for keeper in keepers:
            os.kill(keeper, 18)   # SIGCONT
    daemon_support.poll("every process of the daemon gone", lambda: not d.processes(), timeout=10.0)
