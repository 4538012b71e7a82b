"""An Erlang/OTP-style supervisor for thespian actors (no WhatsApp knowledge).

- spec.py       child specs, flags, and the pure policies (backoff, intensity, restart plans)
- messages.py   the messages between supervisors, their children and callers
- actor.py      SupervisedActor: base class of every supervised actor (Init, let it crash, timers, peers)
- child.py      a supervisor's record of one child
- supervisor.py Supervisor: strategies, dynamic children, escalation, ordered shutdown, status
- stopping.py   ending a child's process: SIGTERM (thespian's ActorExitRequest), then SIGKILL
- thespian_internals.py  a child's pid at creation; a fix so every dead child is reported
"""
from supervision.spec import Backoff, ChildSpec, SupervisorArgs, SupervisorFlags

__all__ = ["Backoff", "ChildSpec", "SupervisorArgs", "SupervisorFlags"]
