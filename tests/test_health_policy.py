"""The HA monitor's pure policy: health transitions, alerts and their gate,
uptime/MTTR/score reports and the bounded history. No actor system."""
import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from health.alerts import (KINDS, LEVELS, Alert, AlertGate, all_down_alert, format_alert,
                                  imbalance_alert, make_alert, queue_alerts, transition_alerts,
                                  uptime_alert)
from health.policy import (DEAD_DEVICE_STATES, DEGRADED, DEVICE_STATES, FAILED, HEALTH_STATES,
                                  HEALTHY, UNKNOWN, HealthPolicy, HealthTracker, Transition)
from health.report import (HealthHistory, grade, mttr_s, score, trim_changes, uptime_pct)

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ONE_S = HealthPolicy(heartbeat_s=1.0)


def moves(transitions):
    return [(t.old, t.new) for t in transitions]


# ---------------------------------------------------------------- health states

def test_policy_defaults_and_validation():
    policy = HealthPolicy()
    assert (policy.heartbeat_s, policy.degraded_after, policy.failed_after, policy.max_recovery_attempts) == (5, 1, 3, 5)
    for bad in (dict(heartbeat_s=0), dict(degraded_after=0), dict(degraded_after=4, failed_after=3)):
        with pytest.raises(ValueError):
            HealthPolicy(**bad)


def test_missed_heartbeats_degrade_then_fail_and_only_a_connected_heartbeat_recovers():
    tracker = HealthTracker("+1", ONE_S)
    assert tracker.state == UNKNOWN and tracker.tick(100.0) == []   # no `since`: unknown until a heartbeat
    assert moves(tracker.heartbeat(100.0)) == [(UNKNOWN, HEALTHY)]
    assert tracker.tick(100.99) == []
    [t] = tracker.tick(101.0)
    assert (t.phone, t.old, t.new, t.ts) == ("+1", HEALTHY, DEGRADED, 101.0) and "1 missed" in t.reason
    assert tracker.tick(102.5) == []                     # 2 missed: still degraded
    assert moves(tracker.heartbeat(102.6)) == [(DEGRADED, HEALTHY)]
    [t] = tracker.tick(105.6)                            # 3 missed at once: straight to failed
    assert (t.old, t.new) == (HEALTHY, FAILED) and "3 missed" in t.reason
    assert tracker.heartbeat(105.7) == []                # device state never reported: stays failed
    assert tracker.device_state("connected", 105.8) == []   # recovery waits for a heartbeat
    [t] = tracker.heartbeat(105.9)
    assert (t.old, t.new) == (FAILED, HEALTHY) and "recovered" in t.reason
    assert tracker.tick(106.5) == []


@pytest.mark.parametrize("dead", sorted(DEAD_DEVICE_STATES))
def test_a_dead_device_state_fails_at_once_and_heartbeats_do_not_hide_it(dead):
    tracker = HealthTracker("+1", ONE_S)
    tracker.heartbeat(0.0, device="connected")
    [t] = tracker.device_state(dead, 0.1)
    assert (t.old, t.new) == (HEALTHY, FAILED) and dead in t.reason
    assert tracker.heartbeat(0.2) == [] and tracker.tick(0.3) == []
    assert tracker.heartbeat(0.4, device="connecting") == []
    assert moves(tracker.heartbeat(0.5, device="connected")) == [(FAILED, HEALTHY)]


def test_transient_device_states_leave_health_alone_and_unknown_ones_are_refused():
    tracker = HealthTracker("+1", ONE_S)
    tracker.heartbeat(0.0, device="connected")
    for state in ("disconnected", "connecting", "replaced", "pairing"):
        assert tracker.device_state(state, 0.1) == [] and tracker.state == HEALTHY
    with pytest.raises(ValueError):
        tracker.device_state("zombie", 0.2)


def test_a_session_silent_since_start_fails_when_tracking_has_a_start():
    tracker = HealthTracker("+1", ONE_S, since=10.0)
    assert tracker.tick(12.9) == []
    assert moves(tracker.tick(13.0)) == [(UNKNOWN, FAILED)]


def test_grace_absorbs_a_late_heartbeat():
    tracker = HealthTracker("+1", HealthPolicy(heartbeat_s=1.0, grace_s=0.5))
    tracker.heartbeat(0.0)
    assert tracker.tick(1.4) == [] and tracker.missed(1.4) == 0
    assert moves(tracker.tick(1.5)) == [(HEALTHY, DEGRADED)]
    assert tracker.heartbeat_age(1.5) == 1.5


def test_recovery_attempts_restart_up_to_the_limit_then_manual():
    tracker = HealthTracker("+1", HealthPolicy(heartbeat_s=1.0, max_recovery_attempts=2))
    assert tracker.recovery_action() == "none"
    tracker.heartbeat(0.0, device="connected")
    tracker.tick(5.0)
    assert [tracker.recovery_action() for _ in range(3)] == ["restart", "restart", "manual"]
    tracker.heartbeat(6.0)   # recovered: attempts start over
    tracker.tick(10.0)
    assert tracker.recovery_action() == "restart"
    tracker.device_state("banned", 11.0)
    assert tracker.recovery_action() == "wait"
    tracker.device_state("logged_out", 12.0)
    assert tracker.recovery_action() == "manual"


def test_tracker_state_round_trips_through_msgpack():
    tracker = HealthTracker("+1", ONE_S, since=0.0)
    tracker.heartbeat(1.0, device="connected")
    tracker.tick(4.5)
    tracker.recovery_action()
    copy = HealthTracker.from_dict(msgpack.unpackb(msgpack.packb(tracker.to_dict())), ONE_S)
    assert copy.to_dict() == tracker.to_dict()
    assert moves(copy.heartbeat(5.0)) == moves(tracker.heartbeat(5.0)) == [(FAILED, HEALTHY)]


events = st.lists(st.tuples(
    st.floats(0, 2.5),                                   # time step
    st.sampled_from(["heartbeat", "tick", "device"]),
    st.sampled_from(DEVICE_STATES)), max_size=40)


@FAST
@given(steps=events, since=st.sampled_from([None, 0.0]))
def test_transitions_chain_and_follow_the_rules(steps, since):
    tracker = HealthTracker("+1", ONE_S, since=since)
    now, state = 0.0, UNKNOWN
    for step, what, device in steps:
        now += step
        if what == "heartbeat":
            out = tracker.heartbeat(now)
        elif what == "tick":
            out = tracker.tick(now)
        else:
            out = tracker.device_state(device, now)
        for t in out:
            assert t.old == state and t.new != t.old and t.new in HEALTH_STATES and t.ts == now
            if t.old == FAILED:   # recovery only from a heartbeat with the device connected
                assert what == "heartbeat" and tracker.device == "connected" and t.new == HEALTHY
            state = t.new
        assert tracker.state == state
        if tracker.device in DEAD_DEVICE_STATES:
            assert state == FAILED
        if what == "tick" and tracker.last_heartbeat is not None and now - tracker.last_heartbeat >= 3.0:
            assert state == FAILED


# ---------------------------------------------------------------- alerts

def test_alert_levels_and_kinds_are_the_architectures():
    by_level = {level: {k for k, v in KINDS.items() if v == level} for level in LEVELS}
    assert by_level == {
        "critical": {"master_failed", "failover_started", "failover_failed", "failover_paused",
                     "all_masters_down", "queue_critical", "actor_hung", "record_quarantined", "store_full"},
        "warning": {"master_degraded", "queue_warning", "load_imbalance", "uptime_low", "offline_backlog",
                    "stored_value_refused", "licence_expiring"},
        "info": {"master_recovered", "failover_completed", "rebalance", "store_room_again"},
    }
    assert make_alert("rebalance", None, "x", 1.0).level == "info"
    with pytest.raises(ValueError):
        make_alert("coffee_low", "+1", "x", 1.0)


def test_the_gate_lets_one_alert_per_kind_and_master_through_per_five_minutes_and_counts_the_rest():
    gate = AlertGate()
    first = gate.offer(make_alert("master_failed", "+1", "down", 0.0))
    assert first is not None and first.repeats == 0
    assert gate.offer(make_alert("master_failed", "+1", "down", 10.0)) is None
    assert gate.offer(make_alert("master_failed", "+1", "down", 299.0)) is None
    assert gate.offer(make_alert("master_failed", "+2", "down", 20.0)) is not None       # other master
    assert gate.offer(make_alert("master_degraded", "+1", "slow", 20.0)) is not None     # other kind
    restored = AlertGate.from_dict(msgpack.unpackb(msgpack.packb(gate.to_dict())))
    for g in (gate, restored):
        again = g.offer(make_alert("master_failed", "+1", "down", 300.0))
        assert again is not None and again.repeats == 2
        assert g.offer(make_alert("master_failed", "+1", "down", 601.0)).repeats == 0


def test_two_actors_hanging_within_repeat_s_are_both_told_and_each_held_back_alone():
    """A daemon-wide alert's subject (the hung actor) is part of its gate slot (issue 13)."""
    gate = AlertGate(300.0)
    assert gate.offer(make_alert("actor_hung", None, "balancer hung", 0.0, subject="balancer")) is not None
    assert gate.offer(make_alert("actor_hung", None, "admin hung", 5.0, subject="admin")) is not None
    assert gate.offer(make_alert("actor_hung", None, "balancer hung", 9.0, subject="balancer")) is None
    restored = AlertGate.from_dict(msgpack.unpackb(msgpack.packb(gate.to_dict())))
    for g in (gate, restored):
        assert g.offer(make_alert("actor_hung", None, "admin hung", 100.0, subject="admin")) is None
        again = g.offer(make_alert("actor_hung", None, "balancer hung", 300.0, subject="balancer"))
        assert again is not None and again.repeats == 1
    # a gate stored before subjects existed still loads, its slots subject-less
    old = AlertGate.from_dict({"repeat_s": 300.0, "keys": [["queue_warning", None, 0.0, 2]]})
    assert old.offer(make_alert("queue_warning", None, "q", 1.0)) is None


@FAST
@given(stream=st.lists(st.tuples(st.floats(0, 2000), st.sampled_from(["master_failed", "queue_warning"]),
                                 st.sampled_from(["+1", "+2", None])), max_size=60),
       repeat_s=st.sampled_from([1.0, 60.0, 300.0]))
def test_the_gate_never_lets_the_same_key_through_twice_within_repeat_s_and_loses_no_count(stream, repeat_s):
    gate = AlertGate(repeat_s)
    sent: dict = {}
    passed = repeats = 0
    for ts, kind, master in stream:
        out = gate.offer(make_alert(kind, master, "x", ts))
        if out is None:
            continue
        for earlier in sent.get((kind, master), []):
            assert abs(ts - earlier) >= repeat_s
        sent.setdefault((kind, master), []).append(ts)
        passed += 1
        repeats += out.repeats
    assert passed + repeats + sum(gate.held.values()) == len(stream)


def test_queue_alert_thresholds_are_configurable():
    assert queue_alerts(999, 0.0) == []
    assert [a.kind for a in queue_alerts(1000, 0.0)] == ["queue_warning"]
    assert [a.kind for a in queue_alerts(4999, 0.0)] == ["queue_warning"]
    [critical] = queue_alerts(5000, 0.0)
    assert (critical.kind, critical.level, critical.master) == ("queue_critical", "critical", None)
    assert [a.kind for a in queue_alerts(50, 0.0, warning_at=10, critical_at=100)] == ["queue_warning"]


def test_transitions_all_down_imbalance_and_uptime_alerts():
    def kinds(old, new):
        return [a.kind for a in transition_alerts(Transition("+1", old, new, "r", 1.0))]
    assert kinds(HEALTHY, FAILED) == ["master_failed"]
    assert kinds(UNKNOWN, FAILED) == ["master_failed"]
    assert kinds(HEALTHY, DEGRADED) == ["master_degraded"]
    assert kinds(FAILED, HEALTHY) == kinds(DEGRADED, HEALTHY) == ["master_recovered"]
    assert kinds(UNKNOWN, HEALTHY) == []
    assert all_down_alert({"+1": FAILED, "+2": FAILED}, 1.0).kind == "all_masters_down"
    assert all_down_alert({"+1": FAILED, "+2": UNKNOWN}, 1.0) is not None
    assert all_down_alert({"+1": FAILED, "+2": DEGRADED}, 1.0) is None
    assert all_down_alert({"+1": UNKNOWN}, 1.0) is None and all_down_alert({}, 1.0) is None
    assert imbalance_alert(69.0, 1.0).kind == "load_imbalance" and imbalance_alert(70.0, 1.0) is None
    assert uptime_alert("+1", 98.9, 1.0).kind == "uptime_low"
    assert uptime_alert("+1", 99.0, 1.0) is None and uptime_alert("+1", None, 1.0) is None


def test_format_alert_is_one_short_human_line():
    alert = Alert(1.0, "critical", "master_failed", "+971505760056", "3 missed heartbeats", repeats=4)
    text = format_alert(alert)
    for part in ("CRITICAL", "Master failed", "+971505760056", "3 missed heartbeats", "4 repeats"):
        assert part in text
    assert "\n" not in text and len(text) < 160
    assert "repeat" not in format_alert(make_alert("rebalance", None, "moved 3", 1.0))


# ---------------------------------------------------------------- reports

def test_uptime_counts_degraded_as_up_failed_as_down_and_unknown_not_at_all():
    changes = [(0.0, HEALTHY), (90.0, FAILED), (100.0, DEGRADED)]
    assert uptime_pct(changes, 200, 200.0) == pytest.approx(95.0)
    assert uptime_pct(changes, 100, 200.0) == pytest.approx(100.0)
    assert uptime_pct(changes, 150, 200.0) == pytest.approx(140 / 150 * 100)
    assert uptime_pct([(0.0, UNKNOWN), (50.0, FAILED), (75.0, HEALTHY)], 100, 100.0) == pytest.approx(50.0)
    assert uptime_pct([(0.0, UNKNOWN)], 100, 100.0) is None and uptime_pct([], 100, 100.0) is None


def test_mttr_is_the_mean_of_repaired_failures_ending_in_the_window():
    changes = [(0.0, HEALTHY), (10.0, FAILED), (20.0, HEALTHY), (50.0, FAILED), (80.0, DEGRADED),
               (90.0, FAILED)]   # the last one is still going
    assert mttr_s(changes, 1000, 100.0) == pytest.approx(20.0)
    assert mttr_s(changes, 30, 100.0) == pytest.approx(30.0)   # only the repair at 80 is in the window
    assert mttr_s([(0.0, HEALTHY)], 100, 100.0) is None


@FAST
@given(steps=st.lists(st.tuples(st.floats(0.1, 50), st.sampled_from(HEALTH_STATES)), max_size=30),
       keep=st.floats(1, 500), window=st.floats(1, 500))
def test_trimming_keeps_uptime_for_windows_within_what_is_kept(steps, keep, window):
    changes, t = [], 0.0
    for step, state in steps:
        t += step
        changes.append((t, state))
    now = t + 1
    trimmed = trim_changes(changes, keep, now)
    assert len(trimmed) <= len(changes) + 1
    if window <= keep:
        before, after = uptime_pct(changes, window, now), uptime_pct(trimmed, window, now)
        assert (before is None) == (after is None)
        if before is not None:
            assert after == pytest.approx(before)


def test_score_and_grade_as_the_replaced_system_defined_them():
    assert score(0, 0, 100, 0) == 100
    assert score(1, 2, 90, 10) == pytest.approx(100 - 20 - 10 - 3 - 5)
    assert score(10, 0, 100, 0) == 0
    assert score(0, 0, 100, -50) == 100   # clamped
    assert [grade(v) for v in (100, 90, 89.99, 75, 74.99, 50, 49.99, 0)] == [
        "EXCELLENT", "EXCELLENT", "GOOD", "GOOD", "WARNING", "WARNING", "CRITICAL", "CRITICAL"]


@FAST
@given(failed=st.integers(0, 10), degraded=st.integers(0, 20), quality=st.floats(0, 100),
       failed_pct=st.floats(0, 100))
def test_score_stays_within_0_100_and_falls_with_each_failed_master(failed, degraded, quality, failed_pct):
    value = score(failed, degraded, quality, failed_pct)
    assert 0 <= value <= 100
    assert score(failed + 1, degraded, quality, failed_pct) <= value
    assert grade(value) == ("EXCELLENT" if value >= 90 else "GOOD" if value >= 75
                            else "WARNING" if value >= 50 else "CRITICAL")


@FAST
@given(samples=st.lists(st.tuples(st.floats(0, 1e6), st.floats(0, 1e4)), min_size=1, max_size=300),
       capacity=st.integers(2, 40))
def test_history_stays_bounded_and_keeps_count_extremes_and_span(samples, capacity):
    history = HealthHistory(capacity=capacity, bucket_s=1.0)
    for ts, value in samples:
        history.add(ts, value)
    buckets = history.buckets
    assert len(buckets) <= capacity
    assert [b.start for b in buckets] == sorted({b.start for b in buckets})
    assert sum(b.count for b in buckets) == len(samples)
    assert min(b.low for b in buckets) == min(v for _, v in samples)
    assert max(b.high for b in buckets) == max(v for _, v in samples)
    assert sum(b.total for b in buckets) == pytest.approx(sum(v for _, v in samples))
    assert buckets[0].start <= min(ts for ts, _ in samples)
    assert buckets[-1].start + history.bucket_s > max(ts for ts, _ in samples)
    copy = HealthHistory.from_dict(msgpack.unpackb(msgpack.packb(history.to_dict())))
    assert copy.to_dict() == history.to_dict()


def test_history_downsamples_a_day_of_samples():
    history = HealthHistory(capacity=100, bucket_s=5.0)
    for i in range(17_280):   # one sample per 5 s for a day
        history.add(i * 5.0, i % 2)
    assert len(history.buckets) <= 100 and history.bucket_s >= 86_400 / 100
    # each bucket holds an even run of the alternating 0/1 samples
    assert all((b.low, b.high, b.mean) == (0, 1, 0.5) for b in history.buckets)
