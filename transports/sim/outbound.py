"""The simulated network's outbound extras: typing presence and read receipts (issue 15).

A mixin of SimServer (transports/sim/server.py), beside MessagingOps. Real
WhatsApp shows "typing…" while a chat presence is "composing" and turns a
customer's ticks blue on a read receipt; the sim records both per customer, so
a test can check that a reply was preceded by typing for the time its length
asks, and that the messages it answers were marked read (`activity`).
"""
from __future__ import annotations

import time

from transports.sim import protocol as p

MAX_RECORDED = 1000    # per customer: a long demo must not grow without bound


class OutboundOps:
    """Needs from SimServer: self.state (with `activity`), self._emit."""

    def _op_typing(self, conn, req_id, frame: dict) -> None:
        """The account shows typing to `to` (`state` composing) or stops (paused)."""
        if conn.account is None:
            raise p.BadRequest("connect first", p.NOT_CONNECTED)
        to = p.require_phone(frame, "to")
        state = frame.get("state")
        if state not in ("composing", "paused"):
            raise p.BadRequest(f"state: composing or paused, got {state!r}")
        self._record(to, {"what": "typing", "from": conn.account, "state": state, "ts": time.time()})
        self._emit(conn, p.reply(req_id, {}))

    def _op_read(self, conn, req_id, frame: dict) -> None:
        """The account marks `customer`'s messages `ids` read (blue ticks)."""
        if conn.account is None:
            raise p.BadRequest("connect first", p.NOT_CONNECTED)
        customer, ids = p.require_phone(frame, "customer"), frame.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise p.BadRequest("ids: a non-empty list of message ids")
        self._record(customer, {"what": "read", "from": conn.account, "ids": ids, "ts": time.time()})
        self._emit(conn, p.reply(req_id, {}))

    def _op_activity(self, conn, req_id, frame: dict) -> None:
        """Control: the typing and read receipts `customer` saw, oldest first."""
        customer = p.require_phone(frame, "customer")
        self._emit(conn, p.reply(req_id, list(self.state.activity.get(customer, []))))

    def _record(self, customer: str, item: dict) -> None:
        seen = self.state.activity.setdefault(customer, [])
        seen.append(item)
        del seen[:-MAX_RECORDED]
