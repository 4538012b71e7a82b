"""Many independent children (the masters): started at once, a failing or hanging start holds
up no sibling and fails no supervisor, and the children do not see each other's addresses.

SupervisorFlags.start_window, SupervisorFlags.sibling_peers and Supervisor.later_children
(supervision/spec.py, supervision/supervisor.py). Real multiprocTCPBase systems (fixture
`actor_system`); order is read from the workers' event log, never from timings.
"""
from __future__ import annotations

import pytest

from supervision.spec import Backoff, ChildSpec, SupervisorArgs, SupervisorFlags
from supervision_actors import (GetPeers, LaterSupervisor, PeersAre, Worker, actor_path, ask,
                                kill_seen_processes, read_events, start_root, statuses, wait_until)

WORKER = actor_path(Worker)
QUICK = Backoff(min_s=0.05, max_s=0.2, jitter=0.2, reset_after_s=5.0)


@pytest.fixture(autouse=True)
def _no_orphans():
    yield
    kill_seen_processes()


def worker(cid, log, **args):
    return ChildSpec(cid, WORKER, {"log": log, **args}, backoff=QUICK)


def events(log, event):
    return [(t, cid) for t, cid, pid, ev in read_events(log) if ev == event]


def test_concurrent_start_starts_every_child_before_any_has_finished_its_start(actor_system, tmp_path):
    log = str(tmp_path / "events")
    children = [worker(f"w{i}", log, start_s=0.4) for i in range(4)]
    start_root(actor_system, SupervisorArgs(SupervisorFlags(start_window=8), children), timeout=10)
    starts, ready = events(log, "start"), events(log, "ready")
    assert sorted(c for _, c in starts) == ["w0", "w1", "w2", "w3"]
    assert len(ready) == 4
    assert max(t for t, _ in starts) < min(t for t, _ in ready), read_events(log)


def test_without_the_flag_children_still_start_one_after_the_other(actor_system, tmp_path):
    log = str(tmp_path / "events")
    children = [worker(f"w{i}", log, start_s=0.2) for i in range(3)]
    start_root(actor_system, SupervisorArgs(SupervisorFlags(), children), timeout=10)
    lines = [(cid, ev) for _, cid, _, ev in read_events(log)]
    assert lines == [("w0", "start"), ("w0", "ready"), ("w1", "start"), ("w1", "ready"),
                     ("w2", "start"), ("w2", "ready")]


def test_a_later_child_that_fails_to_start_neither_fails_the_supervisor_nor_holds_up_the_others(
        actor_system, tmp_path):
    log = str(tmp_path / "events")
    later = [worker("a", log), worker("bad", log, crash_on_start=True), worker("c", log)]
    args = SupervisorArgs(SupervisorFlags(intensity=1000, start_window=8), [],
                          extra={"log": log, "later": later})
    root = start_root(actor_system, args, cls=LaterSupervisor)  # Started: not failed by 'bad'
    st = wait_until(lambda: (lambda s: s if s.get("a") and s["a"].state == "running"
                             and s.get("c") and s["c"].state == "running" else None)(statuses(actor_system, root)),
                    timeout=5)
    assert st["bad"].state != "running"
    # … and it is restarted with backoff, as after a crash, not dropped as a failed StartChild
    wait_until(lambda: len([c for _, c in events(log, "start") if c == "bad"]) >= 3, timeout=5)
    assert "bad" in statuses(actor_system, root)


def test_a_later_child_whose_start_hangs_does_not_hold_up_its_siblings(actor_system, tmp_path):
    log = str(tmp_path / "events")
    later = [worker("slow", log, hang_once=str(tmp_path / "hung")), worker("b", log), worker("c", log)]
    args = SupervisorArgs(SupervisorFlags(intensity=1000, start_window=8, start_timeout_s=20), [],
                          extra={"log": log, "later": later})
    root = start_root(actor_system, args, cls=LaterSupervisor)
    st = wait_until(lambda: (lambda s: s if s["b"].state == "running" and s["c"].state == "running"
                             else None)(statuses(actor_system, root)), timeout=5)
    assert st["slow"].state == "starting"   # still in its (30 s) start while the others run


def test_without_sibling_peers_children_see_only_their_parents_peers(actor_system, tmp_path):
    log = str(tmp_path / "events")
    args = SupervisorArgs(SupervisorFlags(start_window=8, sibling_peers=False),
                          [worker("a", log), worker("b", log)])
    root = start_root(actor_system, args)
    st = statuses(actor_system, root)
    for cid in ("a", "b"):
        reply = ask(actor_system, st[cid].address, lambda ref: GetPeers(ref))
        assert isinstance(reply, PeersAre)
        assert not {"a", "b"} & set(reply.peers), reply.peers


def test_with_sibling_peers_children_see_each_other(actor_system, tmp_path):
    log = str(tmp_path / "events")
    root = start_root(actor_system, SupervisorArgs(SupervisorFlags(start_window=8),
                                                   [worker("a", log), worker("b", log)]))
    st = statuses(actor_system, root)
    reply = wait_until(lambda: (lambda r: r if "b" in r.peers else None)(
        ask(actor_system, st["a"].address, lambda ref: GetPeers(ref))), timeout=3)
    assert reply.peers["b"] == st["b"].address


def test_the_start_window_bounds_how_many_children_are_starting_at_once(actor_system, tmp_path):
    log = str(tmp_path / "events")
    children = [worker(f"w{i}", log, start_s=0.3) for i in range(5)]
    start_root(actor_system, SupervisorArgs(SupervisorFlags(start_window=2), children), timeout=15)
    starting, most = 0, 0
    for _, cid, _, ev in read_events(log):
        starting += {"start": 1, "ready": -1}.get(ev, 0)
        most = max(most, starting)
    assert most == 2 and len(events(log, "ready")) == 5, read_events(log)
