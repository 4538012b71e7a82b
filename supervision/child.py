"""A supervisor's record of one child: its spec and its current process."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from supervision.spec import BackoffState, ChildSpec, Shutdown, resolved_shutdown


def import_actor(path: str) -> type:
    """'package.module:ClassName' → the class."""
    module, _, name = path.partition(":")
    cls = importlib.import_module(module)
    for part in name.split("."):
        cls = getattr(cls, part)
    return cls


@dataclass
class Child:
    """A supervisor's record of one child spec and its current process."""
    spec: ChildSpec
    actor_class: type
    is_supervisor: bool
    state: str = "restarting"        # see spec.CHILD_STATES
    address: Any = None              # current process (None when there is none)
    pid: int | None = None
    generation: int = 0              # +1 at each process start; start timers carry it
    batch: int = 0                   # restart batch it waits in; queue entries and timers of older batches are stale
    restarts: int = 0
    started_at: float | None = None  # time.monotonic() of the current process start
    due_at: float | None = None      # when waiting for a backoff delay
    exit_reason: str | None = None   # what the current process said in Exiting
    last_exit: str | None = None
    backoff: BackoffState = field(default_factory=BackoffState)
    waiters: list = field(default_factory=list)  # (sender, ref, reply kind) answered when it has Started or failed
    # Why its next (or current) start happens, which decides what a failed start does (supervisor.py):
    # 'initial' | 'restart' | 'start_child' | 'restart_child'
    start_kind: str = "initial"
    start_error: str | None = None   # the reason the current process gave in StartFailed

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def shutdown(self) -> Shutdown:
        return resolved_shutdown(self.spec, self.is_supervisor)

    def owns(self, address) -> bool:
        return self.address is not None and address == self.address
