"""The HA monitor reads sessions' periodic heartbeats from the board (runtime/beatboard.py), not
from a message each; a beat is a sign of life only when it is new and recent."""
from __future__ import annotations

import time

import pytest

from health.policy import FAILED, HEALTHY
from runtime.beatboard import BeatWriter
from storage import Store, masters

A, B = "+971505760056", "+971553633595"


class FakeCtx:
    def __init__(self, home):
        self.home = home


@pytest.fixture
def monitor(tmp_path, monkeypatch):
    """An HAMonitor driven by direct calls (as in tests/test_health_book.py), heartbeat 1 s."""
    from actors import ha_monitor
    from actors.ha_monitor import HAMonitor

    monkeypatch.setattr(ha_monitor.logs, "configure", lambda *a, **k: None)
    (tmp_path / "config.toml").write_text("[health]\nheartbeat_s = 1.0\n")
    with Store(str(tmp_path)) as s:
        s.write(lambda txn: (masters.put(txn, masters.Master(phone=A, name="a")),
                             masters.put(txn, masters.Master(phone=B, name="b"))))
    m = HAMonitor()
    sent = []
    monkeypatch.setattr(m, "send", lambda to, msg: sent.append((to, msg)))
    monkeypatch.setattr(m, "after", lambda *a, **k: None)
    monkeypatch.setattr(m, "_alive", lambda pid: True)
    m.on_start(FakeCtx(str(tmp_path)))
    m.peers = {"balancer": "BAL", "masters": "MASTERS"}
    m.sent = sent
    yield m
    m.store.close()


def look(monitor):
    monitor.last_eval = 0.0   # its periodic look is due
    monitor.on_timer("tick", None)


def test_beats_written_to_the_board_make_masters_healthy_without_a_message(monitor, tmp_path):
    now = time.time()
    BeatWriter(str(tmp_path), A).beat("connected", 100, now)
    BeatWriter(str(tmp_path), B).beat("connected", 200, now)
    look(monitor)
    assert monitor.book.health() == {A: HEALTHY, B: HEALTHY}
    assert monitor.book.pids == {A: 100, B: 200}


def test_a_session_that_stops_writing_fails(monitor, tmp_path):
    a, b = BeatWriter(str(tmp_path), A), BeatWriter(str(tmp_path), B)
    now = time.time()
    a.beat("connected", 100, now)
    b.beat("connected", 200, now)
    look(monitor)
    monitor.book.trackers[A].last_heartbeat = now - 3.5   # A's last beat was 3.5 heartbeats ago
    monitor.book.trackers[B].last_heartbeat = now - 3.5
    b.beat("connected", 200, time.time())                 # B still beats; A hangs
    look(monitor)
    assert monitor.book.health() == {A: FAILED, B: HEALTHY}


def test_an_old_beat_left_on_the_board_revives_nobody(monitor, tmp_path):
    """A slot last written by a process that ended long ago (read at the monitor's start, say)
    is no heartbeat now: a failed master stays failed."""
    writer = BeatWriter(str(tmp_path), A)
    writer.beat("connected", 100, time.time())
    look(monitor)
    monitor.book.trackers[A].last_heartbeat = time.time() - 3.5
    look(monitor)
    assert monitor.book.health()[A] == FAILED
    writer.beat("connected", 100, time.time() - 5.0)      # new, but older than a heartbeat
    look(monitor)
    assert monitor.book.health()[A] == FAILED
    writer.beat("connected", 100, time.time())            # the process answers again
    look(monitor)
    assert monitor.book.health()[A] == HEALTHY
