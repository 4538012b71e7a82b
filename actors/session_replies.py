"""Replies that leave from the session that received the message, without crossing the balancer.

A mixin of MasterSession (actors/session.py), beside its sends (actors/session_sends.py).
Issue 18: with the balancer on every reply's path (session → balancer → session → balancer)
the reply path's p99 collapsed under load. Now, inside the inbound transaction that queued a
reply in the durable outbox (conversations/inbound.py), the session CLAIMS it when

- it owns the customer's conversation (the entry is assigned to this master),
- it is connected and has room in its reply budget, which only the balancer grants
  (ReplyBudget: how many claimed replies may be unfinished at once; actors/balancer_budgets.py)
  and revokes when the master is not usable,
- the balancer's spacing allows it against this master's own sends ([limits] reply_gap_s and
  the master's floor, carried in the grant), and no hand-over note waits in the outbox
  (a note goes before anything else to its customer: the balancer orders those).

A claimed entry is out of the balancer's lanes in that same transaction, so the balancer
never sends it too (storage/outbox.py `claim`); the session sends it on its send worker and
marks it delivered itself. A (re)started session gives its claims back to the balancer
(`release_claims`): a crash between the send and the delivered mark resends at most once,
as before. Everything else (no budget, another owner, a note pending) is left to the balancer.
"""
from __future__ import annotations

import time

import structlog

from actors.messages import ReplyBudget
from storage import outbox, outbox_lanes

log = structlog.get_logger("session")


class SessionReplies:
    """Needs from MasterSession: phone, state, store, and SessionSends' submit_send()."""

    def start_replies(self) -> None:
        """At the session's start: a previous process's claims go back to the balancer."""
        released = self.held_write(lambda txn: outbox.release_claims(txn, self.phone))
        if released:   # claimed, perhaps sent, never marked delivered: the balancer sends them again
            log.info("claims_released", entries=released)

    def reply_state(self) -> None:
        """No budget until the balancer grants one (SessionSends.start_workers calls this)."""
        self.reply_budget = 0                 # claimed replies that may be unfinished at once
        self.reply_gaps = (0.0, 0.0)          # (per contact, between two sends of this master)
        self.claimed: dict[int, str] = {}     # entry id → contact: claimed, outcome not reported
        self.last_send_at = 0.0               # this master's latest send (any kind, at submission)
        self.last_to: dict[str, float] = {}   # contact → latest send, within the contact gap

    def on_budget(self, msg: ReplyBudget) -> None:
        self.reply_budget = msg.size
        self.reply_gaps = (msg.reply_gap_s, msg.min_gap_s)

    def spaced(self, to: str, now: float) -> bool:
        """Would the balancer's spacing let a send to `to` go now, given this master's sends?"""
        per_contact, floor = self.reply_gaps
        return (now - self.last_send_at >= floor
                and now - self.last_to.get(to, -per_contact) >= per_contact)

    def noted_send(self, to: str, now: float) -> None:
        self.last_send_at = max(self.last_send_at, now)
        self.last_to[to] = now
        if len(self.last_to) > 1000:   # only those within the contact gap matter
            gap = self.reply_gaps[0]
            self.last_to = {c: t for c, t in self.last_to.items() if now - t < gap}

    def claim_replies(self, txn, handled: list) -> tuple[list, list]:
        """In the inbound transaction: claim the replies this session may send itself."""
        claimed = []
        if self.state != "connected" or len(self.claimed) >= self.reply_budget:
            return handled, claimed
        if next(outbox_lanes.ids(txn, "handover"), None) is not None:
            return handled, claimed   # hand-over notes are ordered by the balancer
        now, contacts = time.time(), {}
        for h in handled:
            for entry_id in h.reply_ids:
                if len(self.claimed) + len(claimed) >= self.reply_budget:
                    return handled, claimed
                entry = outbox.get(txn, entry_id)
                if entry is None or entry.master != self.phone:
                    continue
                if self.reply_gaps[0] > 0 and entry.to in contacts:
                    continue   # the contact gap: the next part is the balancer's, after it
                if not self.spaced(entry.to, now) or claimed and self.reply_gaps[1] > 0:
                    continue   # the limits' floor: one send of this master at a time, then the balancer's
                outbox.claim(txn, entry, self.phone)
                contacts[entry.to] = True
                claimed.append(entry)
        return handled, claimed

    def send_claimed(self, claimed: list) -> None:
        """After the commit: each claimed reply goes to the send worker, like a SendNow entry."""
        now = time.time()
        for entry in claimed:   # each holds a unit of the budget until its outcome is in
            self.claimed[entry.id] = entry.to
            self.noted_send(entry.to, now)
            self.submit_send(entry)
