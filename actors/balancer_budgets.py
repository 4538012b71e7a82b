"""The balancer's reply budgets: how many replies each session may send itself.

A mixin of Balancer (actors/balancer.py). A session that receives a message from a customer
whose conversation it owns sends the reply itself, without a SendNow (actors/session_replies.py),
but only within the budget granted here: the balancer still owns the limits. It grants a usable
master's session a budget of REPLY_BUDGET claimed replies unfinished at once (a window, like its
own per master: a unit comes back when the send's outcome is in, with no round trip here, which
under load was the bottleneck), with the spacing of `[limits]` (reply_gap_s, the master's floor)
when limits are on; each reply the session reports it sent itself (SendResult.claimed) is
recorded in that master's rate limiter; a master that is not usable (not connected, failed,
failed over, stopped, in its failover grace) has its budget revoked (0).
"""
from __future__ import annotations

import time

from actors.messages import ReplyBudget, SendResult

REPLY_BUDGET = 64      # claimed replies a session may have unfinished at once (as WINDOW)


GRANT_EVERY_S = 5.0   # device and health changes grant at once; this is the safety net


class ReplyBudgets:
    """Needs from Balancer: sessions, granted, in_grace, limiters, limits, views(), _records,
    _usable(), send()."""

    def grant_budgets(self, phone: str | None = None) -> None:
        """Grant the usable masters' sessions their budget, revoke the others' (only changes are sent)."""
        self.views()   # fresh enough records (balancing/dispatch_cost.py)
        for p in [phone] if phone is not None else list(self.sessions):
            address, record = self.sessions.get(p), self._records.get(p)
            if address is None:
                continue
            usable = record is not None and self._usable(record) and p not in self.in_grace
            size = REPLY_BUDGET if usable else 0
            if self.granted.get(p, 0) != size:
                on = self.limits.enabled
                self.send(address, ReplyBudget(size, reply_gap_s=self.limits.reply_gap_s if on else 0.0,
                                               min_gap_s=self.limits.min_gap_s if on else 0.0))
                self.granted[p] = size

    def regrant_budgets(self, now_m: float) -> None:
        """Every budget re-checked every GRANT_EVERY_S (the balancer's tick is 0.5 s, and each
        pass builds a view of every master: at 500 idle masters that was its whole idle cost)."""
        if now_m - getattr(self, "_granted_at", 0.0) >= GRANT_EVERY_S:
            self._granted_at = now_m
            self.grant_budgets()

    def budget_used(self, msg: SendResult) -> None:
        """Replies a session sent itself: into its master's rate limiter."""
        limiter, now = self.limiters.get(msg.master), time.time()
        if limiter is not None:
            for _, to in msg.claimed:
                limiter.record("reply", to, now)
