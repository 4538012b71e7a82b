"""What a supervisor answers to WhichChildren: its children's status, and recursively its subtree's.

A mixin of Supervisor (supervisor.py), which owns `_children` and the actor
methods used here (send, after, cancel_timer). A recursive query asks every
running sub-supervisor with half of the time left, so each level's timeout
fires before its parent's; a sub-supervisor that does not answer in time
(hung) shows children=None instead of hanging the status.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from supervision.child import Child
from supervision.messages import ChildStatus, Children, WhichChildren


@dataclass
class _Query:
    """A recursive WhichChildren waiting for sub-supervisors' answers."""
    sender: Any
    ref: Any
    statuses: list[ChildStatus]
    waiting: dict = field(default_factory=dict)  # our sub-request ref → index in statuses


class StatusQueries:
    _children: list[Child]

    def _init_queries(self) -> None:
        self._refs = itertools.count(1)
        self._queries: dict[str, _Query] = {}     # our query id → query
        self._sub_refs: dict[str, str] = {}       # ref of a question to a sub-supervisor → our query id

    def _status(self, child: Child, now: float) -> ChildStatus:
        running = child.state == "running"
        return ChildStatus(
            id=child.id, pid=child.pid, state=child.state, restarts=child.restarts,
            uptime_s=now - child.started_at if running and child.started_at else None,
            next_start_in_s=max(0.0, child.due_at - now) if child.state == "restarting" and child.due_at else None,
            is_supervisor=child.is_supervisor, address=child.address if running else None,
            last_exit=child.last_exit)

    def _which_children(self, msg: WhichChildren, sender) -> None:
        now = time.monotonic()
        statuses = [self._status(c, now) for c in self._children]
        subs = [(i, c) for i, c in enumerate(self._children) if c.is_supervisor and c.state == "running"]
        if not msg.recursive or not subs:
            return self.send(sender, Children(msg.ref, statuses))
        qid = f"{self.child_id}:{next(self._refs)}"
        query = _Query(sender, msg.ref, statuses)
        for i, c in subs:
            sub_ref = f"{qid}/{i}"
            query.waiting[sub_ref] = i
            self._sub_refs[sub_ref] = qid
            # Half our time for the level below, so its own timeout fires before ours.
            self.send(c.address, WhichChildren(sub_ref, True, msg.timeout_s / 2))
        self._queries[qid] = query
        self.after(msg.timeout_s, f"query:{qid}", qid)

    def _sub_answer(self, msg: Children) -> None:
        qid = self._sub_refs.pop(msg.ref, None) if isinstance(msg.ref, str) else None
        query = self._queries.get(qid)
        if query is None or msg.ref not in query.waiting:
            return  # late (already answered at the timeout), or not ours
        query.statuses[query.waiting.pop(msg.ref)].children = msg.children
        if not query.waiting:
            del self._queries[qid]
            self.cancel_timer(f"query:{qid}")
            self.send(query.sender, Children(query.ref, query.statuses))

    def _query_timed_out(self, qid: str) -> None:
        """Answer with what has come (sub-supervisors that did not answer show children=None)."""
        query = self._queries.pop(qid, None)
        if query is not None:
            for sub_ref in query.waiting:
                self._sub_refs.pop(sub_ref, None)
            self.send(query.sender, Children(query.ref, query.statuses))
