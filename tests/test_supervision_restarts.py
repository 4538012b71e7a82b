"""A supervisor restarting its children, on real multiprocTCPBase systems and real processes."""
from __future__ import annotations

import os
import signal
import time

import pytest

from supervision.messages import CountChildren, Counts
from supervision.spec import Backoff, ChildSpec, SupervisorArgs, SupervisorFlags
from supervision_actors import (Crash, Ping, Pong, StopWith, Worker, actor_path, ask, read_events,
                                kill_seen_processes, running_with_new_pid, start_root, statuses, wait_until)
from supervision.processes import alive

WORKER = actor_path(Worker)
QUICK = Backoff(min_s=0.05, max_s=0.2, jitter=0.2, reset_after_s=5.0)


@pytest.fixture(autouse=True)
def _no_orphans():
    yield
    kill_seen_processes()


def worker(cid, log=None, **kw):
    args = {"log": log, **{k: kw.pop(k) for k in list(kw) if k in ("crash_on_start", "hang_once", "fail_if")}}
    return ChildSpec(cid, WORKER, args, backoff=kw.pop("backoff", QUICK), **kw)


def root_args(*children, strategy="one_for_one", intensity=10, period_s=5.0, start_timeout_s=5.0):
    return SupervisorArgs(SupervisorFlags(strategy, intensity, period_s, start_timeout_s), list(children))


def all_running(asys, root, n):
    st = statuses(asys, root)
    return st if len(st) == n and all(s.state == "running" for s in st.values()) else None


def starts_after(log, t0):
    return [(cid, pid) for t, cid, pid, ev in read_events(log) if ev == "start" and t > t0]


def test_sigkilled_child_gets_a_new_process_that_serves(actor_system):
    root = start_root(actor_system, root_args(worker("a"), worker("b")))
    before = wait_until(lambda: all_running(actor_system, root, 2))
    os.kill(before["a"].pid, signal.SIGKILL)
    after = wait_until(lambda: running_with_new_pid(actor_system, root, "a", before["a"].pid))
    assert after.restarts == 1 and after.last_exit == "abnormal"
    pong = ask(actor_system, after.address, Ping)
    assert isinstance(pong, Pong) and pong.pid == after.pid != before["a"].pid
    st = statuses(actor_system, root)
    assert st["b"].pid == before["b"].pid and st["b"].restarts == 0  # one_for_one: sibling untouched


@pytest.fixture
def logged_system(home, port):
    """Like the actor_system fixture, with thespian's log going to a file under home."""
    from daemon import system
    from runtime import procs

    path = os.path.join(home, "actors.log")
    defs = {"version": 1,
            "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
            "handlers": {"file": {"class": "logging.FileHandler", "filename": path, "formatter": "plain"}},
            "root": {"handlers": ["file"], "level": "INFO"}}
    asys = system.start(home, port, log_defs=defs)
    try:
        yield asys, path
    finally:
        try:
            asys.shutdown()
        finally:
            procs.kill_all(procs.processes_of(home))


def test_an_exception_ends_the_process_and_logs_the_traceback(logged_system):
    asys, log_path = logged_system
    root = start_root(asys, root_args(worker("a")))
    before = wait_until(lambda: all_running(asys, root, 1))
    asys.tell(before["a"].address, Crash())
    assert wait_until(lambda: not alive(before["a"].pid), timeout=2)
    after = wait_until(lambda: running_with_new_pid(asys, root, "a", before["a"].pid))
    assert after.last_exit == "abnormal"
    assert isinstance(ask(asys, after.address, Ping), Pong)
    log = wait_until(lambda: (text := open(log_path).read()) and "told to crash" in text and text, timeout=3)
    assert f"actor a (Worker, pid {before['a'].pid}) crashed on Crash()" in log
    assert "Traceback" in log and "RuntimeError: a was told to crash" in log
    assert "retryable exception" not in log  # thespian's retry-then-PoisonMessage never ran


def test_one_for_all_restarts_every_child_in_start_order(actor_system, tmp_path):
    log = str(tmp_path / "events")
    root = start_root(actor_system, root_args(worker("a", log), worker("b", log), worker("c", log),
                                              strategy="one_for_all"))
    before = wait_until(lambda: all_running(actor_system, root, 3))
    t0 = time.monotonic()
    os.kill(before["b"].pid, signal.SIGKILL)
    wait_until(lambda: len(starts_after(log, t0)) == 3 and all_running(actor_system, root, 3))
    assert [cid for cid, _ in starts_after(log, t0)] == ["a", "b", "c"]
    stops = [cid for t, cid, pid, ev in read_events(log) if ev == "stop" and t > t0]
    assert stops == ["c", "a"]  # the live siblings, in reverse start order
    after = statuses(actor_system, root)
    assert all(after[c].pid != before[c].pid and not alive(before[c].pid) for c in "abc")


def test_rest_for_one_restarts_the_child_and_those_started_after_it(actor_system, tmp_path):
    log = str(tmp_path / "events")
    root = start_root(actor_system, root_args(worker("a", log), worker("b", log), worker("c", log),
                                              strategy="rest_for_one"))
    before = wait_until(lambda: all_running(actor_system, root, 3))
    t0 = time.monotonic()
    os.kill(before["b"].pid, signal.SIGKILL)
    wait_until(lambda: len(starts_after(log, t0)) == 2 and all_running(actor_system, root, 3))
    assert [cid for cid, _ in starts_after(log, t0)] == ["b", "c"]
    after = statuses(actor_system, root)
    assert after["a"].pid == before["a"].pid and after["a"].restarts == 0
    assert after["b"].pid != before["b"].pid and after["c"].pid != before["c"].pid


def test_transient_and_temporary_children(actor_system):
    root = start_root(actor_system, root_args(
        worker("t-normal", restart="transient"), worker("t-crash", restart="transient"),
        worker("temp", restart="temporary"), worker("perm-normal")))
    before = wait_until(lambda: all_running(actor_system, root, 4))
    actor_system.tell(before["t-normal"].address, StopWith("normal"))
    actor_system.tell(before["t-crash"].address, StopWith("lost my socket"))
    actor_system.tell(before["perm-normal"].address, StopWith("normal"))
    os.kill(before["temp"].pid, signal.SIGKILL)
    wait_until(lambda: running_with_new_pid(actor_system, root, "t-crash", before["t-crash"].pid))
    wait_until(lambda: running_with_new_pid(actor_system, root, "perm-normal", before["perm-normal"].pid))
    wait_until(lambda: not alive(before["t-normal"].pid) and not alive(before["temp"].pid))
    time.sleep(0.3)  # room for a wrong restart to show up
    st = statuses(actor_system, root)
    assert st["t-normal"].state == "stopped" and st["t-normal"].pid is None
    assert st["t-normal"].last_exit == "normal" and st["t-normal"].restarts == 0
    assert st["t-crash"].last_exit == "lost my socket" and st["t-crash"].restarts == 1
    assert "temp" not in st, st["temp"]  # a temporary child is never restarted; its spec goes away (OTP)
    counts = ask(actor_system, root, CountChildren)
    assert isinstance(counts, Counts) and (counts.specs, counts.active, counts.workers) == (3, 2, 3)


def test_one_exit_reported_twice_counts_as_one_restart(actor_system):
    """A child stopping on purpose reaches its supervisor twice (thespian's goodbye and SIGCHLD).
    With intensity 1, counting both would make the supervisor give up."""
    root = start_root(actor_system, root_args(worker("a"), intensity=1, period_s=5.0))
    before = wait_until(lambda: all_running(actor_system, root, 1))
    actor_system.tell(before["a"].address, StopWith("normal"))  # permanent: restarted anyway
    after = wait_until(lambda: running_with_new_pid(actor_system, root, "a", before["a"].pid))
    time.sleep(0.3)
    st = statuses(actor_system, root)["a"]
    assert st.restarts == 1 and st.pid == after.pid and st.last_exit == "normal"


def test_observed_backoff_delays_are_within_the_formula_bounds(actor_system, tmp_path):
    log, flag = str(tmp_path / "events"), tmp_path / "refuse"
    policy = Backoff(min_s=0.1, max_s=0.4, jitter=0.2, reset_after_s=10.0)
    root = start_root(actor_system, root_args(
        worker("flappy", log, fail_if=str(flag), backoff=policy), intensity=100))
    flag.touch()  # from now on every start fails (a failing first start would fail the root's start)
    t0 = time.monotonic()
    os.kill(statuses(actor_system, root)["flappy"].pid, signal.SIGKILL)
    wait_until(lambda: len(starts_after(log, t0)) >= 5, timeout=6)
    starts = [t0] + [t for t, cid, pid, ev in read_events(log) if ev == "start" and t > t0][:5]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    overhead = 0.25  # crash, SIGCHLD, createActor, Init: ~20 ms here, generous for a loaded machine
    # restart 1 (after the kill) is immediate, then min·2^n·(1 + U·jitter) capped at max: 0.1, 0.2, 0.4, 0.4
    expected = [0.0] + [policy.delay(n, 0.0) for n in range(4)]
    for gap, low in zip(gaps, expected):
        assert low <= gap <= low * (1 + policy.jitter) + overhead, (gaps, expected)
    status = statuses(actor_system, root)["flappy"]
    assert status.restarts >= 5
    if status.state == "restarting":
        assert 0 <= status.next_start_in_s <= policy.max_s * (1 + policy.jitter)


def test_children_start_one_at_a_time_and_a_hung_start_is_killed(actor_system, tmp_path):
    log, marker = str(tmp_path / "events"), str(tmp_path / "hung-once")
    open(marker, "w").close()  # b's first start does not hang (that would fail the root's start)
    root = start_root(actor_system, root_args(worker("a", log), worker("b", log, hang_once=marker), worker("c", log),
                                              strategy="rest_for_one", start_timeout_s=0.4))
    events = read_events(log, peers=True)  # root answered Started: all three have started, one at a time
    assert [cid for t, cid, pid, ev in events if ev == "start"] == ["a", "b", "c"]
    peers = {cid: ev.split(" ", 1)[1] if " " in ev else "" for t, cid, pid, ev in events if ev.startswith("peers")}
    assert peers["c"] == "a,b" and peers["a"] == ""  # each child finds its earlier siblings in Init
    os.remove(marker)  # b's next start hangs
    t0 = time.monotonic()
    os.kill(statuses(actor_system, root)["b"].pid, signal.SIGKILL)  # rest_for_one: b, then c, again
    wait_until(lambda: [cid for cid, _ in starts_after(log, t0)].count("c") == 1, timeout=3)
    starts = [(t, cid, pid) for t, cid, pid, ev in read_events(log) if ev == "start" and t > t0]
    assert [cid for _, cid, _ in starts] == ["b", "b", "c"]
    (t_b1, _, hung_pid), (t_b2, _, _), (t_c, _, _) = starts
    # killed at the 0.4 s start timeout (counted from its spawn, a little before its log line), then restarted
    assert 0.3 <= t_b2 - t_b1 < 1.0
    assert not alive(hung_pid) and t_c > t_b2  # c waited for b
