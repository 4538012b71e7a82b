"""An Erlang/OTP-style supervisor for thespian actors (no WhatsApp knowledge).

- spec.py       child specs, flags, and the pure policies (backoff, intensity, restart plans)
- messages.py   the messages between supervisors, their children and callers
- actor.py      SupervisedActor: base class of every supervised actor (Init, let it crash, timers, peers)
- child.py      a supervisor's record of one child
- supervisor.py Supervisor: strategies, failed starts, dynamic children, escalation, ordered shutdown
- status.py     WhichChildren, recursive over sub-supervisors
- stopping.py   ending a child's process: SIGTERM (thespian's ActorExitRequest), then SIGKILL
- processes.py  pid liveness and PR_SET_PDEATHSIG (supervision imports nothing of the project)
- hooks.py      functions the application runs in every actor's start (e.g. naming its logs)
- thespian_internals.py  a child's pid at creation; a fix so every dead child is reported
"""
from supervision.spec import Backoff, ChildSpec, SupervisorArgs, SupervisorFlags

__all__ = ["Backoff", "ChildSpec", "SupervisorArgs", "SupervisorFlags"]
