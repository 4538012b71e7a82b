"""Messages between supervisors, their children, and whoever asks them.

Plain dataclasses: thespian pickles them between processes. Every request
that expects a reply carries `ref`, a correlation id the reply repeats,
because ActorSystem.ask() returns whatever message arrives first, including
a late reply to an earlier request.

Addresses (thespian ActorAddress) are typed `Any` to keep this module free of
thespian imports.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from supervision.spec import ChildSpec

Address = Any


# ---------------------------------------------------------------- supervisor ↔ child

@dataclass
class Init:
    """First message to a new child. The child answers Started to the sender."""
    child_id: str
    args: Any
    peers: dict[str, Address] = field(default_factory=dict)


@dataclass
class Started:
    child_id: str
    pid: int


@dataclass
class StartFailed:
    """Child → whoever sent Init, instead of Started: its start failed (the process then ends).

    A supervisor whose static child failed to start answers this too, with
    reason 'failed_to_start_child <id>: <that child's reason>' (OTP's
    {failed_to_start_child, Id, Reason}), after stopping the children it had started."""
    child_id: str
    reason: str


@dataclass
class Exiting:
    """Child → its supervisor, just before it stops on purpose.

    'normal', 'shutdown' and 'shutdown: …' count as a normal exit (a transient
    child is then not restarted); any other reason is abnormal."""
    reason: str


@dataclass
class Peers:
    """Supervisor → children: the current address of every sibling by id,
    merged with the peers the supervisor got from its own parent."""
    addresses: dict[str, Address]


# ---------------------------------------------------------------- requests to a supervisor

@dataclass
class StartChild:
    """Add a child at run time and start it. → ChildStarted once it answered Started, or
    SupervisorError; when its start fails the spec is not kept and nothing else changes."""
    ref: Any
    spec: ChildSpec


@dataclass
class TerminateChild:
    """Stop a child and keep its spec (a temporary child's spec is deleted). → Done."""
    ref: Any
    child_id: str


@dataclass
class DeleteChild:
    """Forget a child that is not running. → Done (SupervisorError 'running' or 'restarting' otherwise)."""
    ref: Any
    child_id: str


@dataclass
class RestartChild:
    """Start a terminated child again now; a running one is first stopped (kill=True: SIGKILL at
    once, for a hung child). → Done once it answered Started. SupervisorError 'restarting' for a
    child waiting for its restart; 'failed_to_start_child' when the start fails: a terminated
    child then stays terminated (OTP), a running one goes on being restarted as after a crash."""
    ref: Any
    child_id: str
    kill: bool = False


@dataclass
class WhichChildren:
    """→ Children. recursive: sub-supervisors are asked too; one that has not
    answered within timeout_s shows children=None."""
    ref: Any
    recursive: bool = False
    timeout_s: float = 1.0


@dataclass
class CountChildren:
    ref: Any


# ---------------------------------------------------------------- replies

@dataclass
class ChildStarted:
    ref: Any
    child_id: str


@dataclass
class Done:
    ref: Any


@dataclass
class SupervisorError:
    """A request refused or failed. `code` is OTP's error word, for programs:
    not_found | already_present | already_started | running | restarting |
    failed_to_start_child | bad_spec | stopping."""
    ref: Any
    message: str
    code: str = ""


@dataclass
class ChildStatus:
    id: str
    pid: int | None
    state: str                       # starting | running | restarting | stopped
    restarts: int                    # how many times this child was started again
    uptime_s: float | None           # since its current process started; None when not running
    next_start_in_s: float | None    # None unless waiting for a backoff delay
    is_supervisor: bool
    children: list[ChildStatus] | None = None  # sub-supervisor's children when asked recursively and answered
    address: Address = None          # thespian address of the current process (None when not running)
    last_exit: str | None = None     # reason of the last exit; 'abnormal' when it gave none


@dataclass
class Children:
    ref: Any
    children: list[ChildStatus]


@dataclass
class Counts:
    ref: Any
    specs: int
    active: int
    supervisors: int
    workers: int


@dataclass
class Ping:
    """→ Pong, answered by every SupervisedActor from its own message loop: a probe of a
    worker that has no heartbeat of its own (a hung or stopped process never answers)."""
    ref: Any


@dataclass
class Pong:
    ref: Any
    child_id: str | None
    pid: int
