"""Child specs, supervisor flags, and the pure supervision policies.

Nothing here touches thespian or processes, so all of it is tested directly:
- Backoff / BackoffState: how long a crashed child waits before its restart;
- IntensityWindow: when a supervisor gives up (too many restarts too fast);
- plan_exit: what a supervisor does when one child exits, per strategy,
  restart type and exit kind.

Decisions worth knowing (OTP and Akka are the references):
- The first restart after a stable run is immediate; the k-th consecutive
  one (k >= 2) waits Backoff.delay(k - 2, U[0,1)), i.e. min, 2·min, 4·min …
  capped at max, each stretched by up to `jitter`. A child that ran at least
  `reset_after_s` before it exited starts the count again.
- An exit is normal when the child said why first (`Exiting`) and the reason
  is 'normal', 'shutdown' or starts with 'shutdown:' (OTP's {shutdown, _});
  anything else, and any exit without a reason, is abnormal.
- Intensity counts restart decisions, not processes: a one_for_all restart of
  five children counts once.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Sequence

RestartType = Literal["permanent", "transient", "temporary"]
Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
RESTART_TYPES = ("permanent", "transient", "temporary")
STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
# A child's life as its supervisor sees it (ChildStatus.state):
#   starting   process created, Init sent, Started not yet back
#   running    Started received
#   restarting waiting for its backoff delay or its turn to start
#   stopped    not running and not to be restarted (terminated, or a transient child that ended normally)
CHILD_STATES = ("starting", "running", "restarting", "stopped")
DEFAULT_WORKER_SHUTDOWN_S = 5.0
_MAX_DOUBLINGS = 1000  # 2.0 ** 1024 overflows a float; the cap is reached long before


@dataclass(frozen=True)
class Backoff:
    """Delay between consecutive restarts of one crashing child (Akka's formula)."""
    min_s: float = 0.5
    max_s: float = 30.0
    jitter: float = 0.2
    reset_after_s: float = 10.0

    def __post_init__(self):
        if not (self.min_s > 0 and self.max_s >= self.min_s and self.jitter >= 0 and self.reset_after_s >= 0):
            raise ValueError(f"invalid backoff {self}")

    def delay(self, n: int, rand: float) -> float:
        """min(max, min·2^n)·(1 + rand·jitter), for n >= 0 and rand in [0, 1)."""
        base = min(self.max_s, self.min_s * 2.0 ** min(n, _MAX_DOUBLINGS))
        return base * (1.0 + rand * self.jitter)


Shutdown = float | Literal["brutal_kill", "infinity"]


@dataclass(frozen=True)
class ChildSpec:
    """How a supervisor starts, restarts and stops one child.

    shutdown: how the child is stopped (supervision/stopping.py):
      - seconds > 0: ActorExitRequest (SIGTERM), then SIGKILL after that long;
      - 'brutal_kill': SIGKILL at once;
      - 'infinity': ActorExitRequest, then wait for as long as it takes;
      - None (default): as OTP, 5 s for a worker and 'infinity' for a child that
        is itself a Supervisor, so a subtree always has the time to stop its own
        children in order (each within its own shutdown) before it is gone.
    """
    id: str
    actor: str                       # "package.module:ClassName", importable in the supervisor's process
    args: Any = None                 # handed to the child's on_start(args)
    restart: RestartType = "permanent"
    shutdown: Shutdown | None = None  # see above; resolved_shutdown() gives the one that applies
    backoff: Backoff = Backoff()

    def __post_init__(self):
        if not self.id or not isinstance(self.id, str):
            raise ValueError("a child spec needs a non-empty string id")
        if ":" not in self.actor:
            raise ValueError(f"child {self.id}: actor must be 'package.module:ClassName', got {self.actor!r}")
        if self.restart not in RESTART_TYPES:
            raise ValueError(f"child {self.id}: restart must be one of {RESTART_TYPES}")
        if not (self.shutdown in (None, "brutal_kill", "infinity")
                or (isinstance(self.shutdown, (int, float)) and self.shutdown > 0)):
            raise ValueError(f"child {self.id}: shutdown must be 'brutal_kill', 'infinity' or seconds > 0, "
                             f"got {self.shutdown!r}")


def resolved_shutdown(spec: ChildSpec, is_supervisor: bool) -> Shutdown:
    """The shutdown that applies to this child (OTP's defaults when the spec gives none)."""
    if spec.shutdown is not None:
        return spec.shutdown
    return "infinity" if is_supervisor else DEFAULT_WORKER_SHUTDOWN_S


@dataclass(frozen=True)
class SupervisorFlags:
    strategy: Strategy = "one_for_one"
    intensity: int = 1               # more than `intensity` restarts within `period_s` → give up and escalate
    period_s: float = 5.0
    # A worker that has not answered Started by then is killed: its start failed. A child that is a
    # supervisor has no such limit (OTP's start_link waits for its whole subtree): its start is
    # bounded by its own children's start timeouts.
    start_timeout_s: float = 5.0
    # How many children may be starting at once. 1 (OTP): each after the previous one's Started, in
    # start order. More, for children whose order does not matter (independent workers): a slow or
    # hanging start holds up no sibling. A window, not "all at once": 500 processes starting
    # together on 2 cores missed their start timeout and were killed in a loop (docs/scale.md).
    start_window: int = 1
    # False: children see only the parent's peers, not each other (independent workers need no
    # sibling's address, and n children × n restarts of Peers messages is what grows past a few
    # hundred children).
    sibling_peers: bool = True

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}")
        if self.intensity < 0 or self.period_s <= 0 or self.start_timeout_s <= 0 or self.start_window < 1:
            raise ValueError(f"invalid supervisor flags {self}")


@dataclass
class SupervisorArgs:
    flags: SupervisorFlags = field(default_factory=SupervisorFlags)
    children: list[ChildSpec] = field(default_factory=list)
    extra: Any = None                # data for subclasses (e.g. where the masters are stored)


def check_unique_ids(specs: Iterable[ChildSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise ValueError(f"duplicate child id {spec.id!r}")
        seen.add(spec.id)


# ---------------------------------------------------------------- backoff state

@dataclass
class BackoffState:
    """Consecutive quick exits of one child, and the delay before its next start."""
    policy: Backoff = Backoff()
    failures: int = 0  # exits since the last stable run

    def next_delay(self, ran_s: float, rand: float) -> float:
        """Seconds to wait before restarting a child that ran `ran_s` seconds."""
        if ran_s >= self.policy.reset_after_s:
            self.failures = 0
        delay = 0.0 if self.failures == 0 else self.policy.delay(self.failures - 1, rand)
        self.failures += 1
        return delay


# ---------------------------------------------------------------- intensity

@dataclass
class IntensityWindow:
    """OTP's restart intensity: at most `intensity` restarts in any `period_s` window."""
    intensity: int
    period_s: float
    _times: deque = field(default_factory=deque, repr=False)

    def allow(self, now: float) -> bool:
        """Record a restart at `now`. False when it makes more than `intensity`
        restarts within the last `period_s` seconds (then the supervisor gives up)."""
        self._times.append(now)
        while self._times and self._times[0] <= now - self.period_s:
            self._times.popleft()
        return len(self._times) <= self.intensity

    def count(self, now: float) -> int:
        return sum(1 for t in self._times if t > now - self.period_s)


# ---------------------------------------------------------------- exits and restart plans

def exit_is_abnormal(reason: str | None) -> bool:
    """None means the child died without saying why (crash, SIGKILL, hang)."""
    if reason is None:
        return True
    return not (reason in ("normal", "shutdown") or reason.startswith("shutdown:"))


def should_restart(restart: RestartType, abnormal: bool) -> bool:
    if restart == "permanent":
        return True
    if restart == "transient":
        return abnormal
    return False


@dataclass(frozen=True)
class ChildView:
    """What plan_exit needs to know about each child, in start order."""
    id: str
    restart: RestartType
    state: str  # one of CHILD_STATES


@dataclass(frozen=True)
class RestartPlan:
    restart: bool                    # False: the exited child stays down (see `delete`)
    stop: tuple[str, ...] = ()       # live siblings to stop first, in reverse start order
    start: tuple[str, ...] = ()      # children to start again, in start order
    delete: tuple[str, ...] = ()     # temporary children whose spec goes away


def restart_group(strategy: Strategy, order: Sequence[str], exited: str) -> list[str]:
    """The children restarted together with `exited`, in start order."""
    if strategy == "one_for_one":
        return [exited]
    if strategy == "one_for_all":
        return list(order)
    if strategy == "rest_for_one":
        return list(order[order.index(exited):])
    raise ValueError(f"unknown strategy {strategy!r}")


def plan_exit(strategy: Strategy, children: Sequence[ChildView], exited: str, abnormal: bool) -> RestartPlan:
    """What to do when child `exited` has ended (its own state no longer matters).

    Siblings in the group that are running or starting are stopped (reverse
    start order); all of the group is started again in start order, except
    siblings that were stopped on purpose (they stay stopped) and temporary
    siblings (stopped and deleted, as OTP does)."""
    by_id = {c.id: c for c in children}
    me = by_id[exited]
    if not should_restart(me.restart, abnormal):
        return RestartPlan(restart=False, delete=(exited,) if me.restart == "temporary" else ())
    group = restart_group(strategy, [c.id for c in children], exited)
    others = [by_id[i] for i in group if i != exited]
    stop = tuple(c.id for c in reversed(others) if c.state in ("running", "starting"))
    delete = tuple(c.id for c in others if c.restart == "temporary")
    start = tuple(i for i in group
                  if i == exited or (by_id[i].restart != "temporary" and by_id[i].state != "stopped"))
    return RestartPlan(restart=True, stop=stop, start=start, delete=delete)
