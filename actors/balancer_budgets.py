"""The balancer's reply budgets: how many replies each session may send itself.

A mixin of Balancer (actors/balancer.py). A session that receives a message from a customer
whose conversation it owns sends the reply itself, without a SendNow (actors/session_replies.py),
but only within the budget granted here: the balancer still owns the limits. It grants a usable
master's session REPLY_BUDGET replies, with the spacing of `[limits]` (reply_gap_s, the master's
floor) when limits are on; each reply the session reports it sent itself (SendResult.claimed) is
recorded in that master's rate limiter and topped up; a master that is not usable (not
connected, failed, failed over, stopped, in its failover grace) has its budget revoked.
"""
from __future__ import annotations

import time

from actors.messages import ReplyBudget, SendResult

REPLY_BUDGET = 64      # replies a session may have claimed and not yet reported (a window)


class ReplyBudgets:
    """Needs from Balancer: sessions, granted, in_grace, limiters, limits, views(), _records,
    _usable(), send()."""

    def grant_budgets(self, phone: str | None = None) -> None:
        """Top up the usable masters' sessions, revoke the others' (only what changed is sent)."""
        self.views()   # fresh enough records (balancing/dispatch_cost.py)
        for p in [phone] if phone is not None else list(self.sessions):
            address, record = self.sessions.get(p), self._records.get(p)
            if address is None:
                continue
            usable = record is not None and self._usable(record) and p not in self.in_grace
            held = self.granted.get(p, 0)
            if usable and held < REPLY_BUDGET:
                on = self.limits.enabled
                self.send(address, ReplyBudget(add=REPLY_BUDGET - held,
                                               reply_gap_s=self.limits.reply_gap_s if on else 0.0,
                                               min_gap_s=self.limits.min_gap_s if on else 0.0))
                self.granted[p] = REPLY_BUDGET
            elif not usable and held:
                self.send(address, ReplyBudget(revoke=True))
                self.granted[p] = 0

    def budget_used(self, msg: SendResult) -> None:
        """Replies a session sent itself: into its master's limiter, and its budget topped up."""
        if not msg.claimed:
            return
        self.granted[msg.master] = max(0, self.granted.get(msg.master, 0) - len(msg.claimed))
        limiter, now = self.limiters.get(msg.master), time.time()
        if limiter is not None:
            for _, to in msg.claimed:
                limiter.record("reply", to, now)
        self.grant_budgets(msg.master)
