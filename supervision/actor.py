"""SupervisedActor: the base class of every actor under a Supervisor.

What it gives a subclass:
- the start handshake: on `Init` it remembers its id, supervisor and peers,
  runs the hooks the application registered (supervision/hooks.py), calls
  `on_start(args)` and answers `Started(child_id, pid)`. An exception from
  on_start fails the start: it answers `StartFailed(child_id, reason)` instead
  and the process ends. A subclass that finishes its start later (a
  Supervisor, once its children run) calls `defer_start()` in on_start, then
  `start_done()` or `fail_start(reason)`;
- let it crash: an exception escaping on_start/on_message/on_timer/on_peers is
  logged with its traceback and the process ends at once (exit code 1), so
  the supervisor restarts a clean instance. Thespian alone would retry the
  message once and answer PoisonMessage, keeping possibly broken state;
- `stop(reason)`: tell the supervisor why (`Exiting`), then exit;
- `after(seconds, name, payload)`: a named timer. Thespian's wakeupAfter cannot
  be cancelled, so each arming gets a generation and only the latest one of a
  name is delivered (to `on_timer`); `cancel_timer(name)` drops it;
- `self.peers`: addresses of the supervisor's other children (and of its
  parent's children), kept current from `Peers` messages;
- PR_SET_PDEATHSIG: the process dies with the process that created it.

How a stop requested from outside ends the process: ActorExitRequest (sent
by a supervisor as SIGTERM, which thespian turns into an ActorExitRequest, or
by anyone as a message) → `on_stop()` → the process exits (queued messages
get at most 0.2 s to leave), without thespian's goodbye. The supervisor that
stops a child waits for the pid to disappear and must not have to answer
that goodbye first (it is blocked in its stop, as an OTP supervisor is); it
learns of the exit from SIGCHLD.
A stop on purpose (`self.stop`) instead goes through thespian's own exit,
which delivers `Exiting` and the goodbye before the process ends.
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from thespian.actors import Actor, ActorExitRequest, WakeupMessage

from supervision import hooks, processes
from supervision.messages import Exiting, Init, Peers, Ping, Pong, StartFailed, Started


def _log(actor: Actor) -> logging.Logger:
    # Looked up at call time: thespian replaces the logging root in each actor process after fork.
    return logging.getLogger(f"supervision.{type(actor).__name__}")


class Timers:
    """Generations of named timers: only the latest arming of a name counts."""

    def __init__(self):
        self._current: dict[str, int] = {}
        self._generations = itertools.count(1)

    def arm(self, name: str) -> int:
        generation = next(self._generations)
        self._current[name] = generation
        return generation

    def cancel(self, name: str) -> None:
        self._current.pop(name, None)

    def pending(self, name: str) -> bool:
        return name in self._current

    def fire(self, name: str, generation: int) -> bool:
        """True (and the timer is done) when this is the latest arming of `name`."""
        if self._current.get(name) != generation:
            return False
        del self._current[name]
        return True


@dataclass(frozen=True)
class TimerPayload:
    name: str
    generation: int
    payload: Any = None


class SupervisedActor(Actor):
    """Subclasses override on_start / on_message / on_timer / on_peers / on_stop."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.child_id: str | None = None
        self.parent = None          # address of the supervisor (or of whoever sent Init)
        self.peers: dict = {}
        self._timers = Timers()
        self._stopping_on_purpose = False
        self._stop_requests = 0
        self._start_deferred = False
        self._start_waiters: list | None = []  # who sent Init, until Started/StartFailed is sent (then None)
        # Only inside an actor process (a multiprocessing child), never in a test process
        # that happens to instantiate the class.
        if multiprocessing.parent_process() is not None:
            processes.die_with_parent()

    # ------------------------------------------------------------ overridables

    def on_start(self, args: Any) -> None:
        """Called once, on Init, before Started is sent. Raise to fail the start."""

    def on_message(self, msg: Any, sender) -> None:
        """Every message that is not supervision plumbing."""

    def on_timer(self, name: str, payload: Any) -> None:
        """A timer armed with `after` is due (stale and cancelled ones never arrive)."""

    def on_peers(self, peers: dict) -> None:
        """self.peers has just changed (a sibling or an uncle restarted)."""

    def on_stop(self) -> None:
        """The actor is about to end (any stop but a crash).
        Keep it short: the supervisor SIGKILLs the process after the child's shutdown timeout."""

    # ------------------------------------------------------------ helpers for subclasses

    def stop(self, reason: str = "normal") -> None:
        """End this actor on purpose; the supervisor learns `reason` first."""
        if self._stopping_on_purpose:
            return
        self._stopping_on_purpose = True
        if self.parent is not None:
            self.send(self.parent, Exiting(reason))
        self.send(self.myAddress, ActorExitRequest())

    def defer_start(self) -> None:
        """Called in on_start: Started is not sent on its return but by start_done() (or fail_start)."""
        self._start_deferred = True

    def start_done(self) -> None:
        """Answer Started to whoever sent Init (once)."""
        waiters, self._start_waiters = self._start_waiters or [], None
        for sender in waiters:
            self.send(sender, Started(self.child_id, os.getpid()))

    def fail_start(self, reason: str) -> None:
        """Answer StartFailed(reason) to whoever sent Init, then end the process (exit code 1,
        without on_stop: like a crash, but the supervisor knows why)."""
        _log(self).error("actor %s (%s, pid %d) failed to start: %s",
                         self.child_id, type(self).__name__, os.getpid(), reason)
        waiters, self._start_waiters = self._start_waiters or [], None
        for sender in waiters:
            self.send(sender, StartFailed(self.child_id, reason))
        self._end_process(1, flush_s=1.0)

    def after(self, seconds: float, name: str, payload: Any = None) -> None:
        """Call on_timer(name, payload) in `seconds`, replacing any pending timer of that name."""
        generation = self._timers.arm(name)
        self.wakeupAfter(timedelta(seconds=max(0.0, seconds)), TimerPayload(name, generation, payload))

    def cancel_timer(self, name: str) -> None:
        self._timers.cancel(name)

    def timer_pending(self, name: str) -> bool:
        return self._timers.pending(name)

    # ------------------------------------------------------------ thespian entry point

    def receiveMessage(self, msg, sender):
        if isinstance(msg, ActorExitRequest):
            self._exit_requested(msg)
            return
        try:
            self._dispatch(msg, sender)
        except Exception:
            self._crash(msg)

    def _dispatch(self, msg, sender) -> None:
        if isinstance(msg, Init):
            self._init(msg, sender)
        elif isinstance(msg, Ping):
            self.send(sender, Pong(msg.ref, self.child_id, os.getpid()))
        elif isinstance(msg, Peers):
            self.peers = dict(msg.addresses)
            self.on_peers(self.peers)
        elif isinstance(msg, WakeupMessage) and isinstance(msg.payload, TimerPayload):
            if self._timers.fire(msg.payload.name, msg.payload.generation):
                self.on_timer(msg.payload.name, msg.payload.payload)
        else:
            self.on_message(msg, sender)

    def _init(self, msg: Init, sender) -> None:
        if self.child_id is not None:  # a repeated Init (e.g. a retried ask)
            if self._start_waiters is None:
                self.send(sender, Started(self.child_id, os.getpid()))  # already started
            else:
                self._start_waiters.append(sender)  # answered with the first one
            return
        self.child_id, self.parent, self.peers = msg.child_id, sender, dict(msg.peers)
        self._start_waiters = [sender]
        try:
            hooks.run_child_init(self.child_id)
            self.on_start(msg.args)
        except Exception as exc:
            _log(self).critical("actor %s (%s, pid %d) raised in its start",
                                self.child_id, type(self).__name__, os.getpid(), exc_info=True)
            self.fail_start(f"{type(exc).__name__}: {exc}")
        if not self._start_deferred and not self._stopping_on_purpose:
            self.start_done()

    def _exit_requested(self, msg: ActorExitRequest) -> None:
        self._stop_requests += 1
        if self._stop_requests == 1:
            try:
                self.on_stop()
            except Exception:
                _log(self).exception("actor %s: on_stop failed", self.child_id)
            if self._stopping_on_purpose:
                if not self.exit_recursively():
                    msg.notRecursive()
                return  # thespian's own exit delivers Exiting and the goodbye, then ends the process
        # Asked to stop from outside (or asked again while stopping): end now.
        self._end_process(0, flush_s=0.2)

    def exit_recursively(self) -> bool:
        """On a stop on purpose, should thespian stop this actor's own thespian children?
        Yes for plain actors; a Supervisor has already stopped its children in order."""
        return True

    def _crash(self, msg) -> None:
        _log(self).critical("actor %s (%s, pid %d) crashed on %r; its process ends",
                            self.child_id, type(self).__name__, os.getpid(), msg, exc_info=True)
        self._end_process(1, flush_s=1.0)  # the log record travels to thespian's logger as a message

    def _end_process(self, code: int, flush_s: float) -> None:
        """Let queued messages (log records, on_stop's sends) leave, then end the process.

        thespian's transmit-only run does not honour its time limit when a
        receiver does not answer (e.g. the supervisor, blocked while it stops
        us): a watchdog thread ends the process after flush_s regardless."""
        from thespian.system.transport import TransmitOnly

        watchdog = threading.Timer(flush_s, os._exit, args=(code,))
        watchdog.daemon = True
        watchdog.start()
        try:
            transport = self._myRef.transport
            while transport.run(TransmitOnly, timedelta(seconds=flush_s)):
                pass
        except Exception:
            pass
        finally:
            os._exit(code)
