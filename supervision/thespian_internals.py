"""Where the project reaches into thespian 4.0.1 internals (the supervisor's two, and one setting).

Both are small, isolated here, and covered by the supervision tests; setup.cfg
pins thespian==4.0.1.
"""
from __future__ import annotations

import logging


def child_pid(actor, address) -> int | None:
    """The pid of a child that `actor` has just created with createActor.

    thespian forks the child inside createActor and keeps the process in the
    actor's `_child_procs`; knowing the pid before the child answers lets the
    supervisor kill a child that hangs in its start."""
    try:
        for info in actor._myRef._child_procs:
            if info.childAddr == address:
                return info.childProc.pid
    except Exception:
        pass
    return None


def report_every_dead_child(actor) -> None:
    """Make sure every dead child process produces a ChildActorExited.

    thespian notices a SIGKILLed child on SIGCHLD by scanning its list of
    child processes for dead ones. But when it handles another child's
    goodbye it also prunes every dead process from that list *silently*: a
    child SIGKILLed at about the same moment as a sibling stopped is then
    never reported (seen in test_transient_and_temporary_children). This
    wraps the pruning so that the processes it drops are reported too
    (duplicates are harmless: the supervisor ignores exits it already handled).
    """
    from thespian.actors import ChildActorExited
    from thespian.system.transport import TransmitIntent

    manager = actor._myRef
    if getattr(manager, "_supervision_reaping_fixed", False):
        return
    original = manager._childExited

    def _childExited(childAddr):
        before = list(getattr(manager, "_child_procs", []))
        original(childAddr)
        remaining = getattr(manager, "_child_procs", [])
        for info in before:
            if any(info is r for r in remaining):
                continue
            addr = getattr(info, "childRealAddr", info.childAddr)
            try:
                manager.transport.scheduleTransmit(
                    None, TransmitIntent(manager.transport.myAddress, ChildActorExited(addr)))
            except Exception:
                logging.getLogger("supervision").exception("cannot report the exit of %s", addr)

    manager._childExited = _childExited
    manager._supervision_reaping_fixed = True


def close_idle_sockets_after(seconds: float) -> None:
    """In this process, close a connection unused for `seconds` (thespian keeps one from every
    sender open for 20 minutes). Each turn of thespian's loop builds a new selector with every
    open socket in it: an actor that heard once from each of 500 sessions re-registered 500
    idle sockets on every turn (docs/scale.md). thespian reads this module global whenever it
    parks a socket."""
    from datetime import timedelta

    from thespian.system.transport import TCPTransport
    TCPTransport.MAX_IDLE_SOCKET_PERIOD = timedelta(seconds=seconds)
