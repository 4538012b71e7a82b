"""Supervisor: an OTP supervisor as a thespian actor.

Args are SupervisorArgs (flags + child specs). It starts its children one at
a time in start order, each after the previous answered Started, so a child
finds its earlier siblings in Init.peers (as OTP's synchronous start_link).
It answers Started itself only once all its static children run. With
SupervisorFlags.start_window > 1 up to that many children start at once
(children whose order does not matter); `later_children` are added just after the
supervisor's own Started, so their failed starts are crashes (intensity,
backoff) that neither block nor fail its start. A failed
start (StartFailed, an exit before Started, a start timeout) does what OTP's
supervisor.erl does:
- a static child at the supervisor's own start: the children already started
  are stopped in reverse order and the supervisor answers
  StartFailed('failed_to_start_child <id>: <reason>'), then exits;
- StartChild: SupervisorError 'failed_to_start_child', the spec is not kept;
- RestartChild of a terminated child: the same error, the child stays terminated;
neither counts against the intensity nor touches another child. A failed
restart after a crash is a crash again (intensity, then backoff).

When a child exits (ChildActorExited; `Exiting` before it says why), the pure
plan in spec.plan_exit decides. A restart counts against the intensity
window; when that is exceeded the supervisor stops every child in reverse
start order, tells its parent `Exiting('shutdown: intensity exceeded')` and
exits: the parent decides (escalation). Restarts wait for the exited child's
backoff delay (the first one after a stable run is immediate).

Stopping a child blocks the supervisor until the child's pid is gone (at most
its shutdown timeout, then SIGKILL), as in OTP. Because the supervisor ends
the process itself, it handles the consequences right away and forgets the
child's address: the ChildActorExited notices that arrive afterwards (one or
two per exit) match no current child and are ignored. Stale timers are
dropped by generation (SupervisedActor.after) and by restart batch.

A root supervisor is created from outside:
    root = asys.createActor(Supervisor, globalName='root')
    asys.ask(root, Init('root', SupervisorArgs(...), {}), timeout)  # → Started
"""
from __future__ import annotations

import itertools
import logging
import random
import time

from thespian.actors import ActorExitRequest, ChildActorExited

from supervision.actor import SupervisedActor
from supervision.child import Child, import_actor
from supervision.messages import (ChildStarted, Children, CountChildren, Counts, DeleteChild,
                                  Done, Exiting, Init, Peers, RestartChild, StartChild, StartFailed, Started,
                                  SupervisorError, TerminateChild, WhichChildren)
from supervision.spec import (BackoffState, ChildSpec, ChildView, IntensityWindow, SupervisorArgs,
                              check_unique_ids, exit_is_abnormal, plan_exit)
from supervision.status import StatusQueries
from supervision.stopping import stop_process, stop_processes
from supervision.thespian_internals import child_pid, report_every_dead_child


def _log() -> logging.Logger:
    return logging.getLogger("supervision.Supervisor")


class Supervisor(StatusQueries, SupervisedActor):

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.args: SupervisorArgs | None = None
        self._children: list[Child] = []          # in start order
        self._intensity: IntensityWindow | None = None
        self._queue: list[tuple[str, int]] = []   # (child id, batch) due to start, in order
        self._starting: set[str] = set()          # children whose Started we wait for (at most start_window)
        self._batches = itertools.count(1)
        self._init_queries()
        self._parent_peers: dict = {}
        self._stopping = False
        self._initial: list[str] = []             # static children that have not answered Started yet

    # ------------------------------------------------------------ overridable

    def initial_children(self, args: SupervisorArgs) -> list[ChildSpec]:
        """The children started with the supervisor (override to read them from storage)."""
        return list(args.children)

    def later_children(self, args: SupervisorArgs) -> list[ChildSpec]:
        """Children added right after the supervisor has started (override to read them from
        storage). Their start is not part of the supervisor's: a failed one is a crash (intensity,
        then backoff), never a failed start of the supervisor or of its parent."""
        return []

    # ------------------------------------------------------------ lifecycle

    def on_start(self, args: SupervisorArgs) -> None:
        report_every_dead_child(self)
        self.defer_start()  # Started once every static child runs (_started), or StartFailed (_abort_start)
        self.args = args
        self._intensity = IntensityWindow(args.flags.intensity, args.flags.period_s)
        self._parent_peers = dict(self.peers)
        specs = self.initial_children(args)
        check_unique_ids(specs)
        for spec in specs:
            self._add(spec)
        self._initial = [c.id for c in self._children]
        self._schedule(list(self._initial), delay=0.0, count_restart=False, kind="initial")
        if not self._initial:
            self._start_complete()

    def _start_complete(self) -> None:
        """Every static child runs: answer Started, then start the later children."""
        self.start_done()
        specs = [s for s in self.later_children(self.args) if self._get(s.id) is None]
        check_unique_ids(specs)
        for spec in specs:
            self._add(spec)
        if specs:
            self._schedule([s.id for s in specs], delay=0.0, count_restart=False, kind="restart")

    def on_stop(self) -> None:
        self._stopping = True
        self._stop_all()

    def exit_recursively(self) -> bool:
        return False  # its children are already stopped, in order

    def on_peers(self, peers: dict) -> None:
        self._parent_peers = dict(peers)
        self._broadcast_peers(parent_changed=True)

    # ------------------------------------------------------------ messages

    def on_message(self, msg, sender) -> None:
        if isinstance(msg, ChildActorExited):
            child = self._owner_of(msg.childAddress)
            if child is not None and not self._stopping:
                self._exited(child)
        elif isinstance(msg, Started):
            self._started(msg, sender)
        elif isinstance(msg, StartFailed):
            child = self._owner_of(sender)
            if child is not None and child.state == "starting":
                child.start_error = msg.reason  # its process ends next: _exited handles the failure
        elif isinstance(msg, Exiting):
            child = self._owner_of(sender)
            if child is not None:
                child.exit_reason = msg.reason
        elif isinstance(msg, Children):
            self._sub_answer(msg)
        elif isinstance(msg, (StartChild, TerminateChild, DeleteChild, RestartChild, WhichChildren, CountChildren)):
            if self._stopping:
                self.send(sender, SupervisorError(msg.ref, "supervisor is stopping", "stopping"))
            else:
                self._request(msg, sender)

    def on_timer(self, name: str, payload) -> None:
        kind, _, key = name.partition(":")
        if kind == "restart":
            ids, batch = payload
            for cid in ids:
                child = self._get(cid)
                if child is not None and child.state == "restarting" and child.batch == batch:
                    child.due_at = None
                    self._queue.append((cid, batch))
            self._pump()
        elif kind == "start":
            child = self._get(key)
            if child is not None and child.state == "starting" and child.generation == payload:
                _log().error("child %s did not answer Started within %.1f s: killing it",
                             key, self.args.flags.start_timeout_s)
                if child.pid is not None:
                    stop_process(child.pid, "brutal_kill")
                child.exit_reason = None
                self._exited(child, what="start timeout")
        elif kind == "query":
            self._query_timed_out(payload)

    # ------------------------------------------------------------ starting

    def _add(self, spec: ChildSpec) -> Child:
        cls = import_actor(spec.actor)
        child = Child(spec=spec, actor_class=cls, is_supervisor=issubclass(cls, Supervisor),
                      backoff=BackoffState(spec.backoff))
        self._children.append(child)
        return child

    def _schedule(self, ids: list[str], delay: float, count_restart: bool = True, kind: str = "restart") -> None:
        """Start these children (in this order) after `delay` seconds; `kind`: why (Child.start_kind)."""
        batch = next(self._batches)
        due = time.monotonic() + delay if delay > 0 else None
        for cid in ids:
            child = self._get(cid)
            child.state, child.batch, child.due_at, child.start_kind = "restarting", batch, due, kind
            child.restarts += 1 if count_restart else 0
        if delay > 0:
            self.after(delay, f"restart:{batch}", (tuple(ids), batch))
        else:
            self._queue.extend((cid, batch) for cid in ids)
            self._pump()

    def _pump(self) -> None:
        """Start the next due children (earliest in start order) while fewer than the flags'
        start_window are starting (1: one at a time, as OTP)."""
        position = {c.id: i for i, c in enumerate(self._children)}
        self._queue.sort(key=lambda entry: position.get(entry[0], -1))
        window = self.args.flags.start_window
        while len(self._starting) < window and self._queue and not self._stopping:
            cid, batch = self._queue.pop(0)
            child = self._get(cid)
            if child is not None and child.state == "restarting" and child.batch == batch:
                self._spawn(child)

    def _spawn(self, child: Child) -> None:
        child.generation += 1
        child.address = self.createActor(child.actor_class)
        child.pid = child_pid(self, child.address)
        child.state, child.started_at, child.exit_reason, child.due_at = "starting", time.monotonic(), None, None
        child.start_error = None
        self._starting.add(child.id)
        self.send(child.address, Init(child.id, child.spec.args, self._peers_for_children()))
        if not child.is_supervisor:  # a supervisor's start is bounded by its children's (see SupervisorFlags)
            self.after(self.args.flags.start_timeout_s, f"start:{child.id}", child.generation)

    def _started(self, msg: Started, sender) -> None:
        child = self._get(msg.child_id)
        if child is None or child.state != "starting" or not child.owns(sender):
            return  # from a process we already ended
        child.state, child.address = "running", sender
        child.pid = child.pid or msg.pid
        self.cancel_timer(f"start:{child.id}")
        self._starting.discard(child.id)
        self._answer_waiters(child, None)
        self._broadcast_peers()
        self._settle_initial(child.id)
        self._pump()

    def _settle_initial(self, cid: str) -> None:
        """A static child has started (or was terminated meanwhile): Started once none is left."""
        if cid in self._initial:
            self._initial.remove(cid)
            if not self._initial:
                self._start_complete()

    # ------------------------------------------------------------ exits

    def _exited(self, child: Child, what: str = "abnormal") -> None:
        """Child's process has ended without the supervisor asking: apply the restart plan."""
        failure = None
        if child.state == "starting":
            failure = child.start_error or ("no Started within %g s" % self.args.flags.start_timeout_s
                                            if what == "start timeout" else "exited before it answered Started")
            if child.id in self._initial:
                return self._abort_start(child, failure)
            if child.start_kind in ("start_child", "restart_child"):
                return self._request_failed(child, failure)
        now = time.monotonic()
        reason = child.exit_reason
        child.last_exit = child.start_error or (reason if reason is not None else what)
        ran_s = now - (child.started_at or now)
        self._forget_process(child)
        if child.waiters:  # a RestartChild of a running child: its new start failed; it goes on as after a crash
            self._answer_waiters(child, f"failed_to_start_child {child.id}: {failure}", "failed_to_start_child")
        plan = plan_exit(self.args.flags.strategy, self._views(), child.id, exit_is_abnormal(reason))
        if not plan.restart:
            if plan.delete:
                self._remove(child)
            else:
                child.state = "stopped"
        elif not self._intensity.allow(now):
            self._give_up()
            return
        else:
            for cid in plan.stop:
                self._stop_child(self._get(cid))
            for cid in plan.delete:
                self._remove(self._get(cid))
            delay = child.backoff.next_delay(ran_s, random.random())
            self._schedule(list(plan.start), delay)
        self._broadcast_peers()
        self._pump()

    def _abort_start(self, child: Child, failure: str) -> None:
        """A static child failed to start: stop the ones started (reverse order), fail our own start."""
        _log().error("supervisor %s: child %s failed to start (%s); stopping the children started before it",
                     self.child_id, child.id, failure)
        self._stopping = True
        self._forget_process(child)
        self._stop_all()
        self.fail_start(f"failed_to_start_child {child.id}: {failure}")

    def _request_failed(self, child: Child, failure: str) -> None:
        """StartChild / RestartChild (of a terminated child) failed: answer why, change nothing else."""
        _log().error("supervisor %s: child %s failed to start (%s)", self.child_id, child.id, failure)
        self._forget_process(child)
        child.state, child.last_exit = "stopped", f"failed to start: {failure}"
        self._answer_waiters(child, f"failed_to_start_child {child.id}: {failure}", "failed_to_start_child")
        if child.start_kind == "start_child":
            self._remove(child)  # the spec is not kept (OTP)
        self._pump()

    def _hold_dependents(self, child: Child) -> None:
        """`child`, waiting for its restart, is terminated: the siblings that were to start after
        it in the same restart (rest_for_one, one_for_all) depend on it and stay down, as in OTP."""
        if self.args.flags.strategy == "one_for_one":
            return
        for later in self._children[self._children.index(child) + 1:]:
            if later.state == "restarting" and later.batch == child.batch:
                later.state, later.due_at = "stopped", None
                self._answer_waiters(later, f"child {later.id} waits for {child.id}, which was terminated")

    def _give_up(self) -> None:
        _log().error("supervisor %s: more than %d restarts in %.1f s, stopping with its children",
                     self.child_id, self.args.flags.intensity, self.args.flags.period_s)
        self._stopping = True
        self._stop_all()
        self.stop("shutdown: intensity exceeded")

    # ------------------------------------------------------------ stopping

    def _stop_child(self, child: Child, kill: bool = False) -> None:
        """End the child's process (blocking, at most its shutdown timeout) and forget it."""
        if child.pid is not None:
            stop_process(child.pid, "brutal_kill" if kill else child.shutdown)
        elif child.address is not None:  # pid unknown: ask, without being able to wait
            self.send(child.address, ActorExitRequest())
        if child.address is not None:
            child.last_exit = "killed" if kill else "shutdown"
        self._forget_process(child)
        child.state = "stopped"

    def _stop_all(self) -> None:
        if self.args.flags.start_window > 1:
            # Children whose order does not matter (they start in a window) stop together: one
            # shared wait instead of one per child; the loop below then finds them gone.
            stop_processes([(c.pid, c.shutdown) for c in self._children
                            if c.address is not None and c.pid is not None])
        for child in reversed(self._children):
            if child.address is not None:
                self._stop_child(child)
            child.state, child.due_at = "stopped", None
            self._answer_waiters(child, "supervisor is stopping", "stopping")

    def _forget_process(self, child: Child) -> None:
        child.address = child.pid = None
        child.exit_reason = None
        self.cancel_timer(f"start:{child.id}")
        self._starting.discard(child.id)

    def _remove(self, child: Child) -> None:
        self._children = [c for c in self._children if c is not child]

    # ------------------------------------------------------------ requests

    def _request(self, msg, sender) -> None:
        if isinstance(msg, WhichChildren):
            return self._which_children(msg, sender)
        if isinstance(msg, CountChildren):
            sups = sum(1 for c in self._children if c.is_supervisor)
            active = sum(1 for c in self._children if c.address is not None)
            return self.send(sender, Counts(msg.ref, len(self._children), active, sups, len(self._children) - sups))
        if isinstance(msg, StartChild):
            existing = self._get(msg.spec.id)
            if existing is not None:
                code = "already_started" if existing.address is not None else "already_present"
                return self.send(sender, SupervisorError(msg.ref, f"child {msg.spec.id!r} already exists", code))
            try:
                child = self._add(msg.spec)
            except Exception as exc:  # a bad spec is the caller's error, not a reason to crash
                return self.send(sender, SupervisorError(msg.ref, f"cannot add child {msg.spec.id!r}: {exc}",
                                                         "bad_spec"))
            child.waiters.append((sender, msg.ref, "start"))
            return self._schedule([child.id], delay=0.0, count_restart=False, kind="start_child")
        child = self._get(msg.child_id)
        if child is None:
            return self.send(sender, SupervisorError(msg.ref, f"no child {msg.child_id!r}", "not_found"))
        if isinstance(msg, (DeleteChild, RestartChild)) and child.state == "restarting":
            # OTP's {error, restarting}: it waits for its restart; no second start, no forgetting it
            return self.send(sender, SupervisorError(msg.ref, f"child {child.id!r} is restarting", "restarting"))
        if isinstance(msg, TerminateChild):
            if child.state == "restarting":
                self._hold_dependents(child)
            self._stop_child(child)
            self._answer_waiters(child, f"child {child.id} was terminated")
            self._settle_initial(child.id)
            if child.spec.restart == "temporary":
                self._remove(child)
            self.send(sender, Done(msg.ref))
            self._broadcast_peers()
            self._pump()
        elif isinstance(msg, DeleteChild):
            if child.state in ("running", "starting"):
                return self.send(sender, SupervisorError(msg.ref, f"child {child.id!r} is running", "running"))
            self._remove(child)
            self.send(sender, Done(msg.ref))
        elif isinstance(msg, RestartChild):
            # A terminated child whose start fails stays terminated (OTP); a running one that we
            # stop here is kept alive as after a crash (this request is ours, not OTP's).
            kind = "restart_child" if child.state == "stopped" else "restart"
            self._stop_child(child, kill=msg.kill)
            child.waiters.append((sender, msg.ref, "restart"))
            self._broadcast_peers()
            self._schedule([child.id], delay=0.0, kind=kind)

    def _answer_waiters(self, child: Child, error: str | None, code: str = "") -> None:
        waiters, child.waiters = child.waiters, []
        for sender, ref, kind in waiters:
            if error is not None:
                self.send(sender, SupervisorError(ref, error, code))
            else:
                self.send(sender, ChildStarted(ref, child.id) if kind == "start" else Done(ref))

    # ------------------------------------------------------------ small helpers

    def child_address(self, cid: str):
        """The address of a running child, or None (starting, restarting, stopped, unknown)."""
        child = self._get(cid)
        return child.address if child is not None and child.state == "running" else None

    def _get(self, cid: str) -> Child | None:
        return next((c for c in self._children if c.id == cid), None)

    def _owner_of(self, address) -> Child | None:
        return next((c for c in self._children if c.owns(address)), None)

    def _views(self) -> list[ChildView]:
        return [ChildView(c.id, c.spec.restart, c.state) for c in self._children]

    def _peers_for_children(self) -> dict:
        peers = dict(self._parent_peers)
        if self.args is not None and not self.args.flags.sibling_peers:
            return peers
        peers.update({c.id: c.address for c in self._children if c.state == "running"})
        return peers

    def _broadcast_peers(self, parent_changed: bool = False) -> None:
        if self.args is None or not (parent_changed or self.args.flags.sibling_peers):
            return  # what the children see has not changed (siblings are not part of it)
        peers = self._peers_for_children()
        for child in self._children:
            if child.state == "running":
                self.send(child.address, Peers(peers))
