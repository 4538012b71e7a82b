"""Where OTP's supervisor speaks, ours does the same (OTP's supervisor.erl and its test suite).

- a static child that fails to start fails the supervisor's own start
  ({failed_to_start_child, Id, Reason}), after the children it had started are stopped;
- start_child / restart_child whose start fails answer an error and change nothing;
- rest_for_one: a child waiting for a sibling that was terminated stays down;
- delete_child / restart_child of a restarting child answer {error, restarting};
- a child that is a supervisor gets an unbounded shutdown by default (infinity).

Real multiprocTCPBase systems and real processes (fixture `actor_system`).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from supervision.child import Child
from supervision.messages import (DeleteChild, Done, Init, RestartChild, StartChild, StartFailed, SupervisorError,
                                  TerminateChild)
from supervision.processes import alive
from supervision.spec import Backoff, ChildSpec, SupervisorArgs, SupervisorFlags, resolved_shutdown
from supervision.stopping import stop_process
from supervision.supervisor import Supervisor
from supervision_actors import (LoggingSupervisor, Worker, actor_path, ask, kill_seen_processes, read_events,
                                running_with_new_pid, start_root, statuses, wait_until)

WORKER = actor_path(Worker)
SUPERVISOR = actor_path(LoggingSupervisor)
QUICK = Backoff(min_s=0.05, max_s=0.2, jitter=0.2, reset_after_s=5.0)
SLOW = Backoff(min_s=0.5, max_s=0.5, jitter=0.0, reset_after_s=10.0)  # a wide backoff window to act in


@pytest.fixture(autouse=True)
def _no_orphans():
    yield
    kill_seen_processes()


def worker(cid, log=None, backoff=QUICK, **args):
    return ChildSpec(cid, WORKER, {"log": log, **args}, backoff=backoff)


def flags(strategy="one_for_one", intensity=10):
    return SupervisorFlags(strategy, intensity, 5.0)


def sup(cid, *children, log=None):
    return ChildSpec(cid, SUPERVISOR, SupervisorArgs(flags(), list(children), extra={"log": log}), backoff=QUICK)


def events(log):
    return [(cid, ev) for t, cid, pid, ev in read_events(log)]


def pids(log, cid):
    return [pid for t, c, pid, ev in read_events(log) if c == cid and ev == "start"]


def starts(log, cid, after=0.0):
    return sum(1 for t, c, pid, ev in read_events(log) if c == cid and ev == "start" and t > after)


def running(asys, addr, ids):
    st = statuses(asys, addr)
    return st if set(ids) <= set(st) and all(st[i].state == "running" for i in ids) else None


def start_failing_root(asys, args):
    """Create a root (logging its own start) and send Init: → the reply."""
    root = asys.createActor(LoggingSupervisor, globalName="root")
    return asys.ask(root, Init("root", args, {}), 10)


# ---------------------------------------------------------------- failed_to_start_child

def test_a_static_child_that_fails_to_start_fails_the_supervisor_start(actor_system, tmp_path):
    log = str(tmp_path / "events")
    args = SupervisorArgs(flags(), [worker("a", log), worker("b", log, crash_on_start=True), worker("c", log)],
                          extra={"log": log})
    reply = start_failing_root(actor_system, args)
    assert isinstance(reply, StartFailed), f"the supervisor answered {reply!r}"
    assert reply.child_id == "root"
    assert reply.reason.startswith("failed_to_start_child b: "), reply.reason
    assert "RuntimeError: b refuses to start" in reply.reason
    # a was started, then stopped before the answer; c was never started; b was tried once
    assert events(log) == [("root", "start"), ("a", "start"), ("b", "start"), ("a", "stop")]
    root_pid, a_pid, b_pid = pids(log, "root")[0], pids(log, "a")[0], pids(log, "b")[0]
    wait_until(lambda: not alive(root_pid) and not alive(a_pid) and not alive(b_pid), timeout=3)
    time.sleep(0.3)
    assert events(log)[-1] == ("a", "stop")  # nothing restarted afterwards


def test_a_sub_supervisor_that_fails_to_start_fails_its_parent_naming_both(actor_system, tmp_path):
    log = str(tmp_path / "events")
    args = SupervisorArgs(flags(), [worker("first", log),
                                    sup("mid", worker("w1", log), worker("w2", log, crash_on_start=True), log=log),
                                    worker("last", log)], extra={"log": log})
    reply = start_failing_root(actor_system, args)
    assert isinstance(reply, StartFailed), f"the supervisor answered {reply!r}"
    assert reply.reason.startswith("failed_to_start_child mid: failed_to_start_child w2: "), reply.reason
    assert "w2 refuses to start" in reply.reason
    assert events(log) == [("root", "start"), ("first", "start"), ("mid", "start"), ("w1", "start"),
                           ("w2", "start"), ("w1", "stop"), ("first", "stop")]
    every = [pids(log, c)[0] for c in ("root", "first", "mid", "w1", "w2")]
    wait_until(lambda: not any(alive(p) for p in every), timeout=3)


def test_a_supervisor_answers_started_only_once_its_static_children_run(actor_system, tmp_path):
    log = str(tmp_path / "events")
    root = start_root(actor_system, SupervisorArgs(flags(), [worker("a", log), sup("mid", worker("w", log), log=log)]))
    # no polling: at the answer the whole subtree is up, as after OTP's start_link
    st = statuses(actor_system, root)
    assert st["a"].state == "running" and st["mid"].state == "running"
    assert statuses(actor_system, st["mid"].address)["w"].state == "running"


# ---------------------------------------------------------------- start_child / restart_child

def test_start_child_whose_start_fails_answers_an_error_and_changes_nothing(actor_system, tmp_path):
    log = str(tmp_path / "events")
    # one_for_all with intensity 1: had the failure counted as a crash, 'healthy' would be
    # restarted with it, and the next crash would exceed the intensity.
    root = start_root(actor_system, SupervisorArgs(flags("one_for_all", intensity=1), [worker("healthy", log)]))
    before = statuses(actor_system, root)["healthy"]
    reply = ask(actor_system, root, lambda ref: StartChild(ref, worker("bad", log, crash_on_start=True)))
    assert isinstance(reply, SupervisorError), reply
    time.sleep(0.5)  # room for a wrong restart to show up
    st = statuses(actor_system, root)
    assert "bad" not in st                                  # the spec is not kept
    assert starts(log, "bad") == 1                          # tried once, never restarted
    assert st["healthy"].pid == before.pid and st["healthy"].restarts == 0
    assert reply.code == "failed_to_start_child" and "bad refuses to start" in reply.message
    os.kill(before.pid, signal.SIGKILL)                     # intensity untouched: 1 restart still allowed
    assert wait_until(lambda: running_with_new_pid(actor_system, root, "healthy", before.pid))


def test_restart_child_of_a_terminated_child_whose_start_fails_leaves_it_terminated(actor_system, tmp_path):
    log, flag = str(tmp_path / "events"), tmp_path / "refuse"
    root = start_root(actor_system, SupervisorArgs(flags(), [worker("x", log, fail_if=str(flag)), worker("y", log)]))
    before = statuses(actor_system, root)
    assert isinstance(ask(actor_system, root, lambda ref: TerminateChild(ref, "x")), Done)
    flag.touch()
    reply = ask(actor_system, root, lambda ref: RestartChild(ref, "x"))
    assert isinstance(reply, SupervisorError), reply
    time.sleep(0.5)
    st = statuses(actor_system, root)
    assert st["x"].state == "stopped" and st["x"].pid is None
    assert starts(log, "x") == 2                            # the first start, and the one failed attempt
    assert st["y"].pid == before["y"].pid and st["y"].restarts == 0
    assert reply.code == "failed_to_start_child" and "cannot start while" in reply.message
    flag.unlink()                                           # it can still be started when it can start
    assert isinstance(ask(actor_system, root, lambda ref: RestartChild(ref, "x")), Done)
    assert statuses(actor_system, root)["x"].state == "running"


def test_restart_child_of_a_running_child_whose_start_fails_keeps_restarting_it(actor_system, tmp_path):
    """Restarting a running child is ours, not OTP's: a failed new start is then a crash (kept alive)."""
    log, flag = str(tmp_path / "events"), tmp_path / "refuse"
    root = start_root(actor_system, SupervisorArgs(flags(), [worker("x", log, fail_if=str(flag))]))
    before = statuses(actor_system, root)["x"]
    flag.touch()
    reply = ask(actor_system, root, lambda ref: RestartChild(ref, "x", kill=True))
    assert isinstance(reply, SupervisorError) and reply.code == "failed_to_start_child", reply
    assert "cannot start while" in reply.message
    flag.unlink()
    after = wait_until(lambda: running_with_new_pid(actor_system, root, "x", before.pid))
    assert after.restarts >= 2 and starts(log, "x") >= 3  # first start, the failed one, the good one


# ---------------------------------------------------------------- restarting children

def crash_loop(asys, root, log, flag, cid):
    """Make `cid` (started with fail_if=flag) fail its restarts; return once it waits in backoff."""
    pid = wait_until(lambda: running(asys, root, [cid]))[cid].pid
    flag.touch()
    os.kill(pid, signal.SIGKILL)   # restart 1 is immediate and fails; the next waits SLOW.min_s
    return wait_until(lambda: (s := statuses(asys, root)[cid]).next_start_in_s is not None and s, timeout=3)


def test_rest_for_one_a_child_waiting_for_a_terminated_sibling_stays_down(actor_system, tmp_path):
    log, flag = str(tmp_path / "events"), tmp_path / "refuse"
    root = start_root(actor_system, SupervisorArgs(flags("rest_for_one"), [
        worker("a", log), worker("b", log, SLOW, fail_if=str(flag)), worker("c", log, SLOW)]))
    before = wait_until(lambda: running(actor_system, root, "abc"))
    t0 = time.monotonic()
    crash_loop(actor_system, root, log, flag, "b")
    assert statuses(actor_system, root)["c"].state == "restarting"  # waits for b, as it depends on b
    assert isinstance(ask(actor_system, root, lambda ref: TerminateChild(ref, "b")), Done)
    time.sleep(SLOW.min_s + 0.4)                            # past the backoff both were waiting for
    st = statuses(actor_system, root)
    assert st["b"].state == "stopped" and st["c"].state == "stopped" and st["c"].pid is None
    assert starts(log, "c", after=t0) == 0                  # not started without the child it depends on
    assert st["a"].pid == before["a"].pid


def test_delete_and_restart_of_a_restarting_child_answer_restarting(actor_system, tmp_path):
    log, flag = str(tmp_path / "events"), tmp_path / "refuse"
    root = start_root(actor_system, SupervisorArgs(flags(intensity=100), [worker("flappy", log, SLOW, fail_if=str(flag))]))
    crash_loop(actor_system, root, log, flag, "flappy")
    tried = starts(log, "flappy")
    delete = ask(actor_system, root, lambda ref: DeleteChild(ref, "flappy"))
    restart = ask(actor_system, root, lambda ref: RestartChild(ref, "flappy"))
    assert starts(log, "flappy") == tried                   # no extra start
    st = statuses(actor_system, root)["flappy"]
    assert st.state == "restarting"                         # still there, still waiting for its backoff
    for reply in (delete, restart):
        assert isinstance(reply, SupervisorError) and reply.code == "restarting", reply


# ---------------------------------------------------------------- shutdown of supervisor children

def test_a_supervisor_child_defaults_to_an_unbounded_shutdown():
    spec = ChildSpec("s", "m:C")
    assert spec.shutdown is None
    assert resolved_shutdown(spec, is_supervisor=True) == "infinity"
    assert resolved_shutdown(spec, is_supervisor=False) == 5.0
    assert resolved_shutdown(ChildSpec("s", "m:C", shutdown=2.0), is_supervisor=True) == 2.0
    assert resolved_shutdown(ChildSpec("s", "m:C", shutdown="infinity"), is_supervisor=False) == "infinity"
    assert Child(spec, Supervisor, is_supervisor=True).shutdown == "infinity"
    with pytest.raises(ValueError):
        ChildSpec("s", "m:C", shutdown="forever")


def test_an_infinite_shutdown_waits_for_the_process_however_long():
    # a process that takes 0.5 s to stop after SIGTERM; shutdown=infinity waits, never SIGKILLs
    code = ("import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(0.5), sys.exit(0)))\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        assert stop_process(proc.pid, "infinity") == "exited"
        assert time.monotonic() - t0 >= 0.45
        assert proc.wait(2) == 0                               # it ended by itself, not by SIGKILL
    finally:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- hooks

def test_hooks_registered_before_the_system_starts_run_in_every_actor_before_on_start(home, port, tmp_path):
    from daemon import system
    from runtime import procs
    from supervision import hooks
    import supervision_actors

    log = str(tmp_path / "events")
    supervision_actors.HOOK_LOG = log
    hooks.on_child_init(supervision_actors.record_child_init)
    hooks.on_child_init(supervision_actors.record_child_init)  # twice: still once
    try:
        asys = system.start(home, port)  # forks after the registration: every actor inherits it
        try:
            start_root(asys, SupervisorArgs(flags(), [worker("a", log), sup("mid", worker("w", log), log=log)],
                                            extra={"log": log}), cls=LoggingSupervisor)
            seen = [(cid, ev) for cid, ev in events(log)]
            for cid in ("root", "a", "mid", "w"):
                assert seen.count((cid, "init-hook")) == 1, seen
                assert seen.index((cid, "init-hook")) < seen.index((cid, "start"))
        finally:
            asys.shutdown()
            procs.kill_all(procs.processes_of(home))
    finally:
        hooks._child_init.remove(supervision_actors.record_child_init)
        supervision_actors.HOOK_LOG = None
