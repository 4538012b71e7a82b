"""The pure supervision policies, without any actor system."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.actor import Timers
from supervision.spec import (Backoff, BackoffState, ChildSpec, ChildView, IntensityWindow, SupervisorFlags,
                              check_unique_ids, exit_is_abnormal, plan_exit, restart_group, should_restart)

backoffs = st.builds(
    lambda lo, factor, jitter, reset: Backoff(lo, lo * factor, jitter, reset),
    st.floats(0.001, 10), st.floats(1, 1000), st.floats(0, 2), st.floats(0, 100))
rands = st.floats(0, 1, exclude_max=True)


# ---------------------------------------------------------------- backoff

@given(backoffs, st.integers(0, 5000), rands)
def test_backoff_delay_stays_within_the_formula_bounds(policy, n, rand):
    delay = policy.delay(n, rand)
    base = min(policy.max_s, policy.min_s * 2.0 ** min(n, 1000))
    assert base <= delay <= base * (1 + policy.jitter) + 1e-9
    assert policy.min_s <= delay <= policy.max_s * (1 + policy.jitter) + 1e-9


@given(backoffs, rands, st.integers(0, 60))
def test_backoff_grows_with_n_until_the_cap(policy, rand, n):
    assert policy.delay(n, rand) <= policy.delay(n + 1, rand)
    if policy.min_s * 2 ** n >= policy.max_s:
        assert policy.delay(n, 0.0) == policy.max_s


def test_backoff_defaults_match_the_issue():
    b = Backoff()
    assert (b.min_s, b.max_s, b.jitter, b.reset_after_s) == (0.5, 30.0, 0.2, 10.0)
    assert [b.delay(n, 0.0) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert b.delay(0, 0.999) == pytest.approx(0.5 * 1.1998)


@given(backoffs, st.lists(st.tuples(st.floats(0, 200), rands), min_size=1, max_size=40))
def test_backoff_state_first_restart_immediate_then_formula_and_reset(policy, exits):
    """Replays exits (how long the child ran, random draw) against a simple model."""
    state = BackoffState(policy)
    quick = 0  # consecutive exits since the last stable run
    for ran_s, rand in exits:
        if ran_s >= policy.reset_after_s:
            quick = 0
        delay = state.next_delay(ran_s, rand)
        if quick == 0:
            assert delay == 0.0
        else:
            assert delay == policy.delay(quick - 1, rand)
            assert delay <= policy.max_s * (1 + policy.jitter) + 1e-9
        quick += 1


# ---------------------------------------------------------------- intensity

@settings(max_examples=300)
@given(st.integers(0, 6), st.floats(0.1, 20),
       st.lists(st.floats(0, 100), max_size=60).map(sorted))
def test_intensity_window_counts_restarts_in_the_period(intensity, period, times):
    window = IntensityWindow(intensity, period)
    for i, now in enumerate(times):
        in_window = sum(1 for t in times[: i + 1] if t > now - period)
        assert window.allow(now) == (in_window <= intensity)
        assert window.count(now) == in_window


def test_intensity_otp_default_one_in_five_seconds():
    w = IntensityWindow(1, 5.0)
    assert w.allow(0.0)          # one restart is fine
    assert not w.allow(4.9)      # a second within 5 s is one too many
    w2 = IntensityWindow(1, 5.0)
    assert w2.allow(0.0) and w2.allow(5.1)  # spaced out: fine


# ---------------------------------------------------------------- exits

def test_exit_kinds():
    assert exit_is_abnormal(None)                 # ChildActorExited with no Exiting first
    assert exit_is_abnormal("crash")
    assert not exit_is_abnormal("normal")
    assert not exit_is_abnormal("shutdown")
    assert not exit_is_abnormal("shutdown: intensity exceeded")
    assert exit_is_abnormal("shutdownish")


def test_restart_types():
    assert should_restart("permanent", True) and should_restart("permanent", False)
    assert should_restart("transient", True) and not should_restart("transient", False)
    assert not should_restart("temporary", True) and not should_restart("temporary", False)


def views(*specs):
    """views(('a', 'permanent', 'running'), …) or views('a', 'b') for permanent running children."""
    return [ChildView(*s) if isinstance(s, tuple) else ChildView(s, "permanent", "running") for s in specs]


def test_plan_one_for_one_touches_only_the_exited_child():
    plan = plan_exit("one_for_one", views("a", "b", "c"), "b", abnormal=True)
    assert (plan.restart, plan.stop, plan.start, plan.delete) == (True, (), ("b",), ())


def test_plan_one_for_all_stops_others_in_reverse_and_restarts_all_in_order():
    plan = plan_exit("one_for_all", views("a", "b", "c", "d"), "b", abnormal=True)
    assert plan.stop == ("d", "c", "a")
    assert plan.start == ("a", "b", "c", "d")


def test_plan_rest_for_one_restarts_the_exited_and_later_children():
    plan = plan_exit("rest_for_one", views("a", "b", "c", "d"), "b", abnormal=True)
    assert plan.stop == ("d", "c")
    assert plan.start == ("b", "c", "d")


def test_plan_temporary_and_stopped_siblings():
    children = views("a", ("t", "temporary", "running"), ("s", "transient", "stopped"),
                     ("w", "permanent", "restarting"))
    plan = plan_exit("one_for_all", children, "a", abnormal=True)
    assert plan.stop == ("t",)                 # only live siblings are stopped
    assert plan.delete == ("t",)               # a temporary sibling is not started again
    assert plan.start == ("a", "w")            # a stopped sibling stays stopped; a waiting one joins


def test_plan_no_restart_for_normal_transient_or_any_temporary():
    assert plan_exit("one_for_all", views(("a", "transient", "running"), "b"), "a", False).restart is False
    assert plan_exit("one_for_all", views(("a", "transient", "running"), "b"), "a", True).restart is True
    plan = plan_exit("one_for_one", views(("a", "temporary", "running")), "a", True)
    assert (plan.restart, plan.delete) == (False, ("a",))


ids = st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=8, unique=True)


@given(st.sampled_from(["one_for_one", "one_for_all", "rest_for_one"]), ids, st.data())
def test_plan_properties(strategy, order, data):
    restarts = data.draw(st.lists(st.sampled_from(["permanent", "transient", "temporary"]),
                                  min_size=len(order), max_size=len(order)))
    states = data.draw(st.lists(st.sampled_from(["running", "starting", "restarting", "stopped"]),
                                min_size=len(order), max_size=len(order)))
    children = [ChildView(i, r, s) for i, r, s in zip(order, restarts, states)]
    exited = data.draw(st.sampled_from(order))
    abnormal = data.draw(st.booleans())
    plan = plan_exit(strategy, children, exited, abnormal)
    me = next(c for c in children if c.id == exited)
    assert plan.restart == should_restart(me.restart, abnormal)
    if not plan.restart:
        assert plan.stop == plan.start == ()
        return
    group = restart_group(strategy, order, exited)
    pos = {cid: i for i, cid in enumerate(order)}
    assert exited in plan.start and exited not in plan.stop
    assert set(plan.stop) <= set(group) and set(plan.start) <= set(group)
    assert [pos[i] for i in plan.start] == sorted(pos[i] for i in plan.start)          # start order
    assert [pos[i] for i in plan.stop] == sorted((pos[i] for i in plan.stop), reverse=True)  # reverse
    by_id = {c.id: c for c in children}
    assert all(by_id[i].state in ("running", "starting") for i in plan.stop)
    assert all(by_id[i].restart != "temporary" for i in plan.start if i != exited)
    if strategy == "rest_for_one":
        assert all(pos[i] >= pos[exited] for i in plan.stop + plan.start)


# ---------------------------------------------------------------- specs and timers

def test_specs_are_validated():
    with pytest.raises(ValueError):
        ChildSpec("", "m:C")
    with pytest.raises(ValueError):
        ChildSpec("a", "no_colon")
    with pytest.raises(ValueError):
        ChildSpec("a", "m:C", restart="sometimes")
    with pytest.raises(ValueError):
        ChildSpec("a", "m:C", shutdown=0)
    with pytest.raises(ValueError):
        SupervisorFlags(strategy="one_for_some")
    with pytest.raises(ValueError):
        Backoff(min_s=2, max_s=1)
    with pytest.raises(ValueError):
        check_unique_ids([ChildSpec("a", "m:C"), ChildSpec("a", "m:D")])
    assert ChildSpec("a", "m:C", shutdown="brutal_kill").shutdown == "brutal_kill"


def test_timers_deliver_only_the_latest_arming():
    t = Timers()
    first = t.arm("restart")
    second = t.arm("restart")          # re-armed: the first wakeup is stale
    assert not t.fire("restart", first)
    assert t.fire("restart", second)
    assert not t.fire("restart", second)  # delivered once
    third = t.arm("restart")
    t.cancel("restart")
    assert not t.pending("restart") and not t.fire("restart", third)
    other = t.arm("other")
    assert t.fire("other", other)
