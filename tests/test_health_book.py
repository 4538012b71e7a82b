"""The HA monitor's logic without an actor system: the book of trackers (process deaths,
restarts of hung sessions, rebuild), what is written to LMDB, and the reports read back."""
import time

import pytest

from health import record
from health.alerts import AlertGate, make_alert
from health.book import GiveUp, HealthBook, Restart, policy_from, tick_interval
from health.policy import DEGRADED, FAILED, HEALTHY, UNKNOWN, HealthPolicy, Transition
from runtime.config import Health
from storage import Store, admins, events, masters, metrics, outbox
from storage import health as health_store

A, B = "+971505760056", "+971553633595"
POLICY = HealthPolicy(heartbeat_s=1.0, grace_s=0.25, max_recovery_attempts=2)
ALWAYS = lambda pid: True  # noqa: E731


def moves(transitions):
    return [(t.phone, t.old, t.new) for t in transitions]


def running_book(now=0.0, phones=(A,)):
    book = HealthBook(POLICY)
    book.sync(phones, now)
    for phone in phones:
        book.heartbeat(phone, "connected", 100, now)
    return book


def test_tick_interval_and_policy_from_config():
    assert tick_interval(0.2) == pytest.approx(0.02)
    assert tick_interval(5.0) == 0.05
    policy = policy_from(Health(heartbeat_s=2.0, failed_after=4))
    assert (policy.heartbeat_s, policy.failed_after, policy.grace_s) == (2.0, 4, 0.5)


def test_unknown_until_first_heartbeat_then_healthy_degraded_failed():
    book = HealthBook(POLICY)
    book.sync([A], 0.0)
    assert book.health() == {A: UNKNOWN}
    transitions, restarted = book.heartbeat(A, "connected", 100, 0.1)
    assert moves(transitions) == [(A, UNKNOWN, HEALTHY)] and not restarted
    assert book.tick(1.2) == []                       # within the grace
    assert moves(book.tick(1.4)) == [(A, HEALTHY, DEGRADED)]
    assert moves(book.tick(3.4)) == [(A, DEGRADED, FAILED)]


def test_dead_process_is_reported_once_and_fails_when_the_supervisor_confirms():
    book = running_book()
    assert book.dead_processes(ALWAYS) == []
    assert book.dead_processes(lambda pid: pid != 100) == [(A, 100)]
    assert book.dead_processes(lambda pid: pid != 100) == []      # reported once
    assert book.health()[A] == HEALTHY                             # gone is not yet failed
    assert book.process_ended(A, 99, 0.05) == []                   # not its current process
    transitions = book.process_ended(A, 100, 0.05)
    assert moves(transitions) == [(A, HEALTHY, FAILED)]
    assert "process 100 ended" in transitions[0].reason
    # the supervisor restarted it: its new process heartbeats, reconnecting → still failed
    transitions, restarted = book.heartbeat(A, "connecting", 101, 0.06)
    assert restarted and transitions == [] and book.health()[A] == FAILED
    assert book.recoveries(0.5) == []                         # it answers: nothing to restart
    assert moves(book.heartbeat(A, "connected", 101, 0.3)[0]) == [(A, FAILED, HEALTHY)]


def test_new_pid_in_a_heartbeat_is_a_crash():
    book = running_book()
    transitions, restarted = book.heartbeat(A, "connecting", 200, 0.5)
    assert restarted and moves(transitions) == [(A, HEALTHY, FAILED)]
    assert "ended; restarted as 200" in transitions[0].reason


def test_hung_session_is_restarted_at_most_max_attempts_then_manual():
    book = running_book()
    book.tick(3.3)
    assert book.health()[A] == FAILED
    first = book.recoveries(3.3)
    assert first == [Restart(A, 1, book.trackers[A].reason)]
    assert book.recoveries(4.0) == []                         # waits failed_after heartbeats for an answer
    assert [type(r) for r in book.recoveries(6.4)] == [Restart]   # no answer: again (attempt 2)
    assert book.recoveries(9.5) == [GiveUp(A, 2)]
    assert book.recoveries(20.0) == []                        # reported once
    # a new process answers and connects: recovered, attempts reset
    book.heartbeat(A, "connected", 300, 21.0)
    assert book.health()[A] == HEALTHY and book.trackers[A].recovery_attempts == 0


def test_dead_device_state_fails_at_once_and_needs_a_person():
    book = running_book()
    assert moves(book.device_state(A, "logged_out", 0.5)) == [(A, HEALTHY, FAILED)]
    assert book.heartbeat(A, "logged_out", 100, 0.6)[0] == []
    assert book.recoveries(0.7) == []                         # it heartbeats: not hung
    assert book.device_state(A, "no-such-state", 0.8) == []   # garbage from a peer is ignored


def test_sync_drops_stopped_masters_and_restore_counts_ages_from_now():
    book = running_book(phones=(A, B))
    assert book.sync([A], 1.0) == [B] and set(book.trackers) == {A}
    saved = book.trackers[A].to_dict()
    rebuilt = HealthBook(POLICY)
    rebuilt.restore(saved, 100.0)
    rebuilt.sync([A], 100.0)
    assert rebuilt.health() == {A: HEALTHY}
    assert rebuilt.tick(100.5) == []                  # not degraded by the monitor's own absence
    assert rebuilt.heartbeat(A, "connected", 555, 100.6) == ([], False)   # pid unknown after a rebuild


# ------------------------------------------------------------------ LMDB records and reports

@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path))
    s.write(lambda txn: [masters.put(txn, masters.Master(phone=p, name=p)) for p in (A, B)])
    yield s
    s.close()


def test_transition_is_written_to_master_events_and_history(store):
    book = running_book()
    t = Transition(A, HEALTHY, FAILED, "3 missed heartbeats", 1000.0)
    store.write(lambda txn: record.record_transition(txn, t, book.trackers[A]))
    with store.read() as txn:
        assert masters.get(txn, A).health == FAILED
        ev = events.recent(txn, kinds=("health",))[0]
        assert (ev.master, ev.data["old"], ev.data["new"]) == (A, HEALTHY, FAILED)
        assert [list(c) for c in health_store.get_changes(txn, A)] == [[1000.0, FAILED]]
        assert [d["phone"] for d in record.load_trackers(txn)] == [A]


def test_alert_is_stored_and_queued_once_per_admin(store):
    store.write(lambda txn: [admins.add(txn, p) for p in ("+447700900001", "+447700900002")])
    now = time.time()
    alert = make_alert("master_failed", A, "3 missed heartbeats", now)
    assert store.write(lambda txn: record.record_alert(txn, alert)) == 2
    with store.read() as txn:
        entries = outbox.all(txn)
        assert sorted(e.to for e in entries) == ["+447700900001", "+447700900002"]
        assert all(e.kind == "alert" and e.via is None and A in e.text for e in entries)
        assert record.alerts_since(txn, 0.0)[0]["kind"] == "master_failed"
        assert record.alerts_since(txn, now + 60) == []


def test_gate_and_queue_history_survive_a_rebuild(store):
    gate = AlertGate(300.0)
    gate.offer(make_alert("master_degraded", A, "", 10.0))
    assert gate.offer(make_alert("master_degraded", A, "", 20.0)) is None
    store.write(lambda txn: record.save_gate(txn, gate))
    with store.read() as txn:
        again = record.load_gate(txn, 300.0)
        assert record.load_queue_history(txn, 1.0).buckets == []
    assert again.offer(make_alert("master_degraded", A, "", 30.0)) is None
    assert again.offer(make_alert("master_degraded", A, "", 400.0)).repeats == 2


def test_health_report_score_and_grade(store):
    def setup(txn):
        masters.update(txn, A, health=FAILED)
        masters.update(txn, B, health=HEALTHY)
        health_store.put_changes(txn, A, [[0.0, HEALTHY], [900.0, FAILED]])
        health_store.put_changes(txn, B, [[0.0, HEALTHY], [100.0, FAILED], [200.0, HEALTHY]])
        metrics.incr(txn, f"restarts:master:{A}", 2)
        record.count_failover(txn, A, "failover_started")
        record.count_failover(txn, A, "failover_failed")
        record.count_failover(txn, B, "failover_completed")
    store.write(setup)
    with store.read() as txn:
        rep = record.health_report(txn, 1000.0)
    a, b = rep["masters"]
    assert (a["phone"], a["uptime_pct"], a["restarts"], a["failovers"]) == (A, 90.0, 2, 1)
    assert (b["uptime_pct"], b["mttr_s"]) == (90.0, 100.0)
    # no conversations: shares 0/0 → quality 100; 1 failed master, 50 % failed failovers
    assert rep["score"] == pytest.approx(100 - 20 - 0.5 * 50)
    assert rep["grade"] == "WARNING"


# ------------------------------------------------------------------ the actor's own code, without a system

class FakeCtx:
    def __init__(self, home):
        self.home = home


@pytest.fixture
def monitor(tmp_path, monkeypatch):
    """An HAMonitor driven by direct calls: sends recorded, timers not armed,
    structlog left as the rest of the suite expects it."""
    from actors import ha_monitor
    from actors.ha_monitor import HAMonitor

    monkeypatch.setattr(ha_monitor.logs, "configure", lambda *a, **k: None)

    (tmp_path / "config.toml").write_text("[health]\nheartbeat_s = 1.0\n[alerts]\nrepeat_s = 300.0\n")
    with Store(str(tmp_path)) as s:
        s.write(lambda txn: (masters.put(txn, masters.Master(phone=A, name="a")),
                             masters.put(txn, masters.Master(phone=B, name="b")),
                             admins.add(txn, "+447700900001")))
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


def test_actor_failure_goes_to_balancer_lmdb_and_admins_once(monitor):
    from actors.messages import Alert as AlertMsg, HealthChanged, Heartbeat, OutboxChanged
    from supervision.messages import RestartChild

    now = time.time()
    for phone, pid in ((A, 100), (B, 200)):
        monitor.on_message(Heartbeat(phone, "connected", pid, now), None)
    monitor.book.trackers[A].last_heartbeat = now - 3.5          # A hangs
    monitor.on_timer("tick", None)
    kinds = [type(msg).__name__ for _, msg in monitor.sent]
    changes = [(m.phone, m.old, m.new, m.reason) for to, m in monitor.sent if isinstance(m, HealthChanged)]
    assert changes[-1] == (A, HEALTHY, FAILED, "3 missed heartbeats")
    assert any(isinstance(msg, RestartChild) and msg.child_id == f"master:{A}" and msg.kill
               for to, msg in monitor.sent if to == "MASTERS")
    assert "OutboxChanged" in kinds
    with monitor.store.read() as txn:
        assert masters.get(txn, A).health == FAILED
        assert [e.data["alert"] for e in events.recent(txn, kinds=("alert",))] == ["master_failed"]
        assert [e.to for e in outbox.all(txn)] == ["+447700900001"]
    # the balancer's alerts: counted, gated per (kind, master), unknown kinds refused
    monitor.on_message(AlertMsg("critical", "failover_started", A, "moving 3 conversations"), None)
    monitor.on_message(AlertMsg("critical", "failover_started", A, "again"), None)
    monitor.on_message(AlertMsg("critical", "no_such_kind", A, "?"), None)
    with monitor.store.read() as txn:
        assert record.failover_counts(txn, A)["started"] == 2
        assert [a["kind"] for a in record.alerts_since(txn, 0)] == ["master_failed", "failover_started"]
        assert len(outbox.all(txn)) == 2
    assert isinstance(monitor.sent[-1][1], OutboxChanged)


def test_actor_rebuilds_from_lmdb(monitor, tmp_path, monkeypatch):
    from actors.ha_monitor import HAMonitor
    from actors.messages import Heartbeat

    monitor.on_message(Heartbeat(A, "connected", 100, time.time()), None)
    monitor.store.close()
    again = HAMonitor()
    monkeypatch.setattr(again, "send", lambda to, msg: None)
    monkeypatch.setattr(again, "after", lambda *a, **k: None)
    again.on_start(FakeCtx(str(tmp_path)))
    try:
        assert again.book.health() == {A: HEALTHY, B: UNKNOWN}
    finally:
        again.store.close()
        monitor.store = Store(str(tmp_path))


def test_periodic_alerts_uptime_and_imbalance(store):
    from storage import conversations

    def setup(txn):
        health_store.put_changes(txn, A, [[0.0, HEALTHY], [1000.0, FAILED], [1100.0, HEALTHY]])
        health_store.put_changes(txn, B, [[0.0, HEALTHY]])
    store.write(setup)
    with store.read() as txn:
        # 2000 s observed, 95 % up: too short a history to call it low uptime
        assert record.periodic_alerts(txn, {A: HEALTHY, B: HEALTHY}, 2000.0) == []
    store.write(lambda txn: health_store.put_changes(
        txn, A, [[0.0, HEALTHY], [1000.0, FAILED], [1300.0, HEALTHY]]))
    with store.read() as txn:
        kinds = [(a.kind, a.master) for a in record.periodic_alerts(txn, {A: HEALTHY, B: HEALTHY}, 4000.0)]
    assert kinds == [("uptime_low", A)]                       # 92.5 % of an hour+; too few conversations to judge balance
    store.write(lambda txn: [conversations.add_message(txn, conversations.Message(
        customer=f"+4477009{i:05d}", master=A, direction="in", text="hi", ts=1.0, message_id=f"m{i}"))
        for i in range(25)])
    with store.read() as txn:
        kinds = [a.kind for a in record.periodic_alerts(txn, {A: HEALTHY, B: HEALTHY}, 2000.0)]
        assert "load_imbalance" in kinds
        assert "load_imbalance" not in [a.kind for a in record.periodic_alerts(txn, {A: HEALTHY, B: FAILED}, 2000.0)]


def test_actor_asks_the_supervisor_before_failing_a_gone_process(monitor, monkeypatch):
    from actors.messages import Heartbeat
    from supervision.messages import Children, ChildStatus, WhichChildren

    now = time.time()
    for phone, pid in ((A, 100), (B, 200)):
        monitor.on_message(Heartbeat(phone, "connected", pid, now), None)
    monkeypatch.setattr(monitor, "_alive", lambda pid: False)
    monitor.on_timer("tick", None)
    asks = [msg for to, msg in monitor.sent if to == "MASTERS" and isinstance(msg, WhichChildren)]
    assert len(asks) == 1 and monitor.book.health() == {A: HEALTHY, B: HEALTHY}

    def child(phone, state):
        return ChildStatus(f"master:{phone}", None, state, 1, None, None, False)
    # A crashed (its supervisor is restarting it); B was stopped on purpose
    monitor.on_message(Children(asks[0].ref, [child(A, "restarting"), child(B, "stopped")]), None)
    assert monitor.book.health() == {A: FAILED, B: HEALTHY}
    with monitor.store.read() as txn:
        assert "ended" in events.recent(txn, kinds=("health",), master=A)[0].data["reason"]


def test_a_stopped_monitor_counts_no_uptime_while_down(monitor, tmp_path, monkeypatch):
    from actors.ha_monitor import HAMonitor
    from health import report
    from actors.messages import Heartbeat

    monitor.on_message(Heartbeat(A, "connected", 100, time.time()), None)
    monitor.on_stop()
    with monitor.store.read() as txn:
        assert [c[1] for c in [list(c) for c in health_store.get_changes(txn, A)]] == [HEALTHY, UNKNOWN]
    monitor.store.close()
    again = HAMonitor()
    monkeypatch.setattr(again, "after", lambda *a, **k: None)
    again.on_start(FakeCtx(str(tmp_path)))
    try:
        with again.store.read() as txn:
            changes = [tuple(c) for c in [list(c) for c in health_store.get_changes(txn, A)]]
        assert [c[1] for c in changes] == [HEALTHY, UNKNOWN, HEALTHY]
        assert report.uptime_pct(changes, 3600, time.time()) == 100.0
    finally:
        again.store.close()
        monitor.store = Store(str(tmp_path))


def test_metrics_endpoint_on_a_taken_port_is_an_error_in_the_log_not_a_crash():
    import socket

    from health.prom import serve
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert serve(object(), "127.0.0.1", taken.getsockname()[1]) is None
