"""Supervisors under supervisors: escalation, shutdown, peers, status, dynamic children.

Real multiprocTCPBase systems and real processes (fixture `actor_system`).
"""
from __future__ import annotations

import os
import signal
import time

import pytest

from thespian.actors import ActorExitRequest

from supervision.processes import alive
from supervision.messages import (ChildStarted, CountChildren, Counts, DeleteChild, Done, RestartChild, StartChild,
                                  SupervisorError, TerminateChild)
from supervision.spec import Backoff, ChildSpec, SupervisorArgs, SupervisorFlags
from supervision.supervisor import Supervisor
from supervision_actors import (GetPeers, LoggingSupervisor, PeersAre, Ping, Pong, Worker, actor_path, ask,
                                kill_seen_processes, read_events, running_with_new_pid, start_root, statuses,
                                wait_until)

WORKER = actor_path(Worker)
SUPERVISOR = actor_path(LoggingSupervisor)
QUICK = Backoff(min_s=0.05, max_s=0.2, jitter=0.2, reset_after_s=5.0)


@pytest.fixture(autouse=True)
def _no_orphans():
    yield
    kill_seen_processes()


def worker(cid, log=None, **kw):
    return ChildSpec(cid, WORKER, {"log": log, **kw.pop("args", {})}, backoff=kw.pop("backoff", QUICK), **kw)


def sup(cid, *children, log=None, strategy="one_for_one", intensity=10, **kw):
    args = SupervisorArgs(SupervisorFlags(strategy, intensity, 5.0), list(children), extra={"log": log})
    return ChildSpec(cid, SUPERVISOR, args, backoff=QUICK, **kw)


def root_args(*children, intensity=10):
    return SupervisorArgs(SupervisorFlags("one_for_one", intensity, 5.0), list(children))


def running(asys, addr, ids):
    st = statuses(asys, addr)
    return st if set(ids) <= set(st) and all(st[i].state == "running" for i in ids) else None


def test_intensity_exceeded_stops_the_children_and_tells_the_parent(actor_system, tmp_path):
    log = str(tmp_path / "events")
    # 'mid' allows 1 restart in 5 s. It is transient under root: had root not been told a
    # shutdown reason, the exit would count as a crash and root would restart it.
    root = start_root(actor_system, root_args(
        sup("mid", worker("w1", log), worker("w2", log), log=log, intensity=1, restart="transient")))
    mid = wait_until(lambda: running(actor_system, root, ["mid"]))["mid"]
    kids = wait_until(lambda: running(actor_system, mid.address, ["w1", "w2"]))
    os.kill(kids["w2"].pid, signal.SIGKILL)                 # restart 1: allowed
    again = wait_until(lambda: running_with_new_pid(actor_system, mid.address, "w2", kids["w2"].pid))
    os.kill(again.pid, signal.SIGKILL)                      # restart 2 within 5 s: too many
    wait_until(lambda: not alive(mid.pid), timeout=3)
    assert not alive(kids["w1"].pid)
    st = statuses(actor_system, root)["mid"]
    assert st.state == "stopped" and st.last_exit == "shutdown: intensity exceeded" and st.restarts == 0
    events = [(cid, ev) for t, cid, pid, ev in read_events(log)]
    assert events[-2:] == [("w1", "stop"), ("mid", "stop")]  # children first, then the supervisor


def test_a_sigkilled_supervisor_takes_its_children_within_1s(actor_system):
    root = start_root(actor_system, root_args(sup("mid", worker("w1"), worker("w2"))))
    mid = wait_until(lambda: running(actor_system, root, ["mid"]))["mid"]
    kids = wait_until(lambda: running(actor_system, mid.address, ["w1", "w2"]))
    os.kill(mid.pid, signal.SIGKILL)
    t0 = time.monotonic()
    wait_until(lambda: not alive(kids["w1"].pid) and not alive(kids["w2"].pid), timeout=1.0, pause=0.002)
    assert time.monotonic() - t0 < 1.0
    # root restarts 'mid', which starts new children
    new_mid = wait_until(lambda: running_with_new_pid(actor_system, root, "mid", mid.pid))
    assert wait_until(lambda: running(actor_system, new_mid.address, ["w1", "w2"]))


def test_children_stop_in_reverse_start_order_when_their_supervisor_stops(actor_system, tmp_path):
    log = str(tmp_path / "events")
    root = start_root(actor_system, root_args(worker("a", log), worker("b", log), worker("c", log)))
    kids = wait_until(lambda: running(actor_system, root, "abc"))
    actor_system.tell(root, ActorExitRequest())
    wait_until(lambda: not any(alive(kids[c].pid) for c in "abc"), timeout=3)
    stops = [cid for t, cid, pid, ev in read_events(log) if ev == "stop"]
    assert stops == ["c", "b", "a"]


def test_a_child_stuck_in_sigstop_is_killed_at_its_shutdown_timeout(actor_system):
    root = start_root(actor_system, root_args(worker("stuck", shutdown=0.5), worker("fine", shutdown=0.5)))
    kids = wait_until(lambda: running(actor_system, root, ["stuck", "fine"]))
    os.kill(kids["stuck"].pid, signal.SIGSTOP)
    t0 = time.monotonic()
    actor_system.tell(root, ActorExitRequest())
    wait_until(lambda: not alive(kids["fine"].pid), timeout=2)   # stopped first (reverse order), at once
    fine_gone = time.monotonic() - t0
    wait_until(lambda: not alive(kids["stuck"].pid), timeout=3, pause=0.002)
    stuck_gone = time.monotonic() - t0
    assert fine_gone < 0.4
    assert 0.45 <= stuck_gone - fine_gone and stuck_gone <= 1.5, (fine_gone, stuck_gone)


def test_peers_reach_grandchildren_and_follow_restarts(actor_system):
    root = start_root(actor_system, root_args(worker("balancer"), sup("masters", worker("m1"), worker("m2"))))
    top = wait_until(lambda: running(actor_system, root, ["balancer", "masters"]))
    masters = wait_until(lambda: running(actor_system, top["masters"].address, ["m1", "m2"]))

    def peers_of_m1():
        reply = ask(actor_system, masters["m1"].address, GetPeers)
        assert isinstance(reply, PeersAre)
        return reply.peers

    peers = wait_until(lambda: (p := peers_of_m1()) and {"balancer", "masters", "m1", "m2"} <= set(p) and p)
    assert peers["balancer"] == top["balancer"].address and peers["m2"] == masters["m2"].address
    os.kill(top["balancer"].pid, signal.SIGKILL)            # an uncle restarts …
    new = wait_until(lambda: running_with_new_pid(actor_system, root, "balancer", top["balancer"].pid))
    # … and the grandchild learns its new address
    wait_until(lambda: peers_of_m1().get("balancer") == new.address)
    reply = ask(actor_system, peers_of_m1()["balancer"], Ping)
    assert isinstance(reply, Pong) and reply.pid == new.pid


def test_which_children_recursive_and_a_hung_sub_supervisor(actor_system):
    root = start_root(actor_system, root_args(worker("w"), sup("mid", worker("x"), sup("low", worker("y")))))
    wait_until(lambda: running(actor_system, root, ["w", "mid"]))
    flat = statuses(actor_system, root)
    assert flat["mid"].is_supervisor and not flat["w"].is_supervisor and flat["mid"].children is None

    def tree():
        st = statuses(actor_system, root, recursive=True)
        mid = {c.id: c for c in st["mid"].children or []}
        low = {c.id: c for c in (mid["low"].children or [])} if "low" in mid else {}
        return (st, mid, low) if low.get("y") and low["y"].state == "running" else None

    st, mid, low = wait_until(tree)
    assert mid["x"].state == "running" and alive(mid["x"].pid) and alive(low["y"].pid)
    # A hung sub-supervisor does not hang the status: it answers after the timeout, without its subtree.
    os.kill(st["mid"].pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        st = statuses(actor_system, root, recursive=True, timeout_s=0.5)
        assert 0.45 <= time.monotonic() - t0 < 1.5
        assert st["mid"].children is None and st["w"].state == "running"
    finally:
        os.kill(st["mid"].pid, signal.SIGCONT)


def test_dynamic_children(actor_system):
    root = start_root(actor_system, root_args(worker("static")))
    wait_until(lambda: running(actor_system, root, ["static"]))
    reply = ask(actor_system, root, lambda ref: StartChild(ref, worker("dyn", shutdown=0.3)))
    assert isinstance(reply, ChildStarted) and reply.child_id == "dyn"
    dyn = statuses(actor_system, root)["dyn"]
    assert dyn.state == "running" and isinstance(ask(actor_system, dyn.address, Ping), Pong)
    dup = ask(actor_system, root, lambda ref: StartChild(ref, worker("dyn")))
    assert isinstance(dup, SupervisorError) and "already exists" in dup.message
    bad = ask(actor_system, root, lambda ref: StartChild(ref, ChildSpec("bad", "no.such.module:Actor")))
    assert isinstance(bad, SupervisorError)
    counts = ask(actor_system, root, CountChildren)
    assert isinstance(counts, Counts) and (counts.specs, counts.active) == (2, 2)

    # RestartChild(kill=True) ends even a hung child at once
    os.kill(dyn.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    assert isinstance(ask(actor_system, root, lambda ref: RestartChild(ref, "dyn", kill=True)), Done)
    assert time.monotonic() - t0 < 0.3  # not the 0.3 s shutdown timeout plus a start
    assert not alive(dyn.pid)
    restarted = statuses(actor_system, root)["dyn"]
    assert restarted.state == "running" and restarted.pid != dyn.pid and restarted.restarts == 1

    in_use = ask(actor_system, root, lambda ref: DeleteChild(ref, "dyn"))
    assert isinstance(in_use, SupervisorError) and "running" in in_use.message
    assert isinstance(ask(actor_system, root, lambda ref: TerminateChild(ref, "dyn")), Done)
    assert not alive(restarted.pid) and statuses(actor_system, root)["dyn"].state == "stopped"
    assert isinstance(ask(actor_system, root, lambda ref: DeleteChild(ref, "dyn")), Done)
    assert "dyn" not in statuses(actor_system, root)
    missing = ask(actor_system, root, lambda ref: TerminateChild(ref, "dyn"))
    assert isinstance(missing, SupervisorError)


def test_a_terminated_child_is_not_started_by_its_pending_backoff_timer(actor_system, tmp_path):
    log, flag = str(tmp_path / "events"), tmp_path / "refuse"
    slow = Backoff(min_s=0.4, max_s=0.4, jitter=0.0, reset_after_s=10.0)
    root = start_root(actor_system, root_args(
        worker("flappy", log, args={"fail_if": str(flag)}, backoff=slow), intensity=100))
    flag.touch()
    os.kill(statuses(actor_system, root)["flappy"].pid, signal.SIGKILL)
    # kill, immediate restart (fails), then a 0.4 s wait
    st = wait_until(lambda: (s := statuses(actor_system, root)["flappy"]).next_start_in_s is not None and s)
    assert st.state == "restarting" and 0 < st.next_start_in_s <= 0.4
    assert isinstance(ask(actor_system, root, lambda ref: TerminateChild(ref, "flappy")), Done)
    starts = len(read_events(log))
    time.sleep(0.7)  # past the wakeup that was armed before the terminate
    assert len(read_events(log)) == starts
    assert statuses(actor_system, root)["flappy"].state == "stopped"


def test_the_root_supervisor_is_created_from_outside_and_answers_started(actor_system):
    root = start_root(actor_system, root_args(worker("a")), cls=Supervisor, name="root")
    again = actor_system.createActor(Supervisor, globalName="root")
    assert again == root  # the global name reaches the same actor
    assert wait_until(lambda: running(actor_system, root, ["a"]))
