"""The master session's outbound half: sends that never block the session.

A mixin of MasterSession (actors/session.py). The balancer's SendNow queues
each entry on the session's send worker (transports/sender.py); the actor's
thread goes back to its heartbeats and inbound messages at once. When a send
finishes, its outcome arrives through the worker's fileno (watched beside the
transport's) and is committed here: delivered → the entry leaves the outbox;
transient → retried with backoff; final (not on WhatsApp, blocked, invalid) →
dead letter at once with its reason (balancing/outcomes.py). The balancer
hears the outcomes in batches (a SendResult when the worker has nothing left,
or every REPORT_BATCH sends, or REPORT_EVERY_S after the first one unreported):
one report per send made it dispatch once per send, and at 5,000 campaign
contacts that collapsed delivery to ~20 msg/s (bench/outbox.py).
"""
from __future__ import annotations

import time

import structlog

from actors.messages import SendResult
from balancing.notes import owes_note
from balancing.outcomes import DELIVERED, FINAL, classify, retry_delay
from balancing.pacing import TYPED_KINDS, begin, end, typing_seconds
from storage import conversations, handover_notes, metrics, outbound_media, outbox
from storage.faults import StoreFull
from transports.base import OutboundMedia, TransportError
from transports.sender import Done, Worker

log = structlog.get_logger("session")
STOP_WAIT_S = 5.0     # how long a stopping session waits for WhatsApp to let go
REPORT_BATCH = 16     # finished sends told to the balancer in one SendResult, at most ...
REPORT_EVERY_S = 0.01  # ... and at the latest this long after the first of them


def shown(entry) -> str:
    """An entry as its conversation shows it: a file by its kind and name, then the caption."""
    if not entry.media:
        return entry.text
    tag = f"[{entry.media['kind']}: {entry.media['file_name']}]"
    return f"{tag} {entry.text}" if entry.text else tag


class SessionSends:
    """Needs from MasterSession: phone, state, store, transport, cfg, send()."""

    def start_workers(self) -> None:
        self.sends = Worker(f"send:{self.phone}")       # sends, in order
        self.control = Worker(f"control:{self.phone}")  # connect, disconnect, logout, pair
        self.sending: dict[int, object] = {}            # entry id -> the entry being sent
        self.send_reply_to = None                       # the balancer that asked
        self.unreported = SendResult(master=self.phone)  # finished, not yet told to the balancer
        self.finished = SendResult(master=self.phone)    # finished, delivered marks not committed
        self.marks: list[tuple] = []                     # (entry, message id, ts) to mark delivered
        self.unreported_since = 0.0                     # time.monotonic() of its first outcome
        self.reply_state()                              # actors/session_replies.py

    def watched(self) -> list[int]:
        return [self.sends.fileno(), self.control.fileno()]

    def off_thread(self, job: str, fn) -> None:
        """A transport control call (connect, disconnect, ...) on the control worker."""
        self.control.submit(job, None, fn)

    def stop_workers(self) -> None:
        """Bounded: a close still blocked in WhatsApp after STOP_WAIT_S is left behind."""
        self.sends.close(0)
        self.control.submit("close", None, self.transport.close)
        if not self.control.close(STOP_WAIT_S):
            log.warning("transport_close_still_blocked", after_s=STOP_WAIT_S)

    def poll_workers(self, hold_marks: bool = False) -> None:
        """Outcomes of finished calls; `hold_marks`: the delivered marks wait for commit_marks()
        (or join the inbound transaction of the same poll: one commit, not two)."""
        for done in self.control.poll():
            if done.error is not None:
                log.warning("transport_call_failed", call=done.job, error=str(done.error))
        finished = self.sends.poll()
        if finished:
            self._sends_done(finished)
        if not hold_marks:
            self.commit_marks()

    # --- SendNow ----------------------------------------------------------------------

    def _send_entries(self, ids: list[int], reply_to) -> None:
        """Queue each pending entry on the send worker; report the ones that cannot go now."""
        self.send_reply_to = reply_to
        result = SendResult(master=self.phone)
        for entry_id in ids:
            if entry_id in self.sending:
                continue   # still on its way (the balancer asked again): its outcome follows
            with self.store.read() as txn:
                entry = outbox.get(txn, entry_id)
            if entry is None or entry.state != "pending":
                continue  # delivered by an earlier attempt
            if self.state != "connected":
                result.deferred.append(entry_id)
                continue
            # The balancer's limiter let it go (and counted it): never deferred here. Noted, so
            # that a reply this session claims itself keeps the limits' spacing after it.
            self.noted_send(entry.to, time.time())
            self.submit_send(entry)
        if result.deferred and reply_to is not None:
            self.send(reply_to, result)

    def submit_send(self, entry) -> None:
        """Onto the send worker, after the hand-over note this master still owes the customer."""
        if owes_note(entry.kind):
            self._send_waiting_note(entry.to)
        self.sending[entry.id] = entry
        if entry.kind in TYPED_KINDS and typing_seconds(entry.text, self.cfg.session) > 0:
            # read receipt and "typing…" now; the send when its typing time is up (on_timer "typed")
            self.sends.submit("pace", entry.id, lambda e=entry: begin(self.transport, e, self.cfg.session))
        else:
            self.sends.submit("send", entry.id, lambda e=entry: self._send_one(e))

    def _send_waiting_note(self, customer: str) -> None:
        """A failover's hand-over note owed by this master goes just before its first message
        to the customer (balancing/notes.py); the worker runs them in that order."""
        if self.sends.pending("note", customer):
            return
        with self.store.read() as txn:
            note = handover_notes.get(txn, customer)
        if note is None or note.master != self.phone:
            return
        self.sends.submit("note", customer, lambda: (
            note, self.transport.send(customer, note.text, f"note:{customer}:{note.ts}"), time.time()))

    def _note_done(self, done: Done) -> None:
        if done.error is not None:   # it stays waiting: the next message tries it again
            log.warning("handover_note_failed", to=done.ref, error=str(done.error))
            return
        note, message_id, ts = done.result

        def sent(txn):
            current = handover_notes.get(txn, note.customer)
            if current is not None and current.ts == note.ts:
                handover_notes.drop(txn, note.customer)
            conversations.add_message(txn, conversations.Message(
                customer=note.customer, master=self.phone, direction="out", text=note.text,
                ts=ts, message_id=message_id))
            metrics.incr(txn, f"messages_out:{self.phone}")
        self.held_write(sent)   # the note went: its mark waits for room rather than being lost

    def _typed(self, entry_id: int) -> None:
        """An entry's typing time is up (session on_timer "typed"): "typing…" off, then the send."""
        entry = self.sending.get(entry_id)
        if entry is not None:
            self.sends.submit("send", entry_id, lambda e=entry: (end(self.transport, e), self._send_one(e))[1])

    def _send_one(self, entry) -> tuple[str, float]:
        """On the send worker's thread: the blocking send, with the entry's file read from the
        home. Returns (message id, when)."""
        media = self._media_of(entry)
        if media is None:
            return self.transport.send(entry.to, entry.text, entry.key), time.time()
        return self.transport.send(entry.to, entry.text, entry.key, media=media), time.time()

    def _media_of(self, entry) -> OutboundMedia | None:
        """The entry's file (stored once in the home, storage/outbound_media.py); a file gone
        from the home is a final failure: no retry can bring it back."""
        ref = entry.media
        if not ref:
            return None
        try:
            data = outbound_media.read(self.store.home, ref["sha256"])
        except (outbound_media.MediaMissing, ValueError) as e:
            raise TransportError(str(e), retryable=False, reason="invalid") from e
        return OutboundMedia(ref["kind"], data, ref["mime"], ref["file_name"])

    def _sends_done(self, finished: list[Done]) -> None:
        result = SendResult(master=self.phone)
        delivered = []
        for done in finished:
            if done.job == "note":
                self._note_done(done)
                continue
            if done.job == "pace":   # typing is on: send when its time is up (balancing/pacing.py)
                self.after(done.result if done.error is None else 0.0, f"typed:{done.ref}", done.ref)
                continue
            entry = self.sending.pop(done.ref, None)
            if entry is None:
                continue
            if entry.id in self.claimed:
                result.claimed.append((entry.id, self.claimed.pop(entry.id)))
            outcome = classify(done.error)
            if outcome.kind == DELIVERED:
                message_id, ts = done.result
                delivered.append((entry, message_id, ts))
                result.sent.append(entry.id)
            else:
                self._send_failed(entry, outcome)
                result.failed.append(entry.id)
            if done.seconds > self.cfg.health.heartbeat_s:
                log.info("slow_send", entry=entry.id, seconds=round(done.seconds, 1))
        self.marks += delivered
        self.finished.sent += result.sent
        self.finished.failed += result.failed
        self.finished.claimed += result.claimed

    def commit_marks(self) -> None:
        """One commit for every send seen finished since the last; only then may the balancer
        hear of them (it would read a sent entry still pending, and send it again)."""
        if self.marks:
            try:
                self._delivered(self.marks)
            except StoreFull as e:   # kept, and told to the balancer only once written (store_room.py)
                self.store_full(e)
                return
            self.marks = []
        result, self.finished = self.finished, SendResult(master=self.phone)
        self.unreported.sent += result.sent
        self.unreported.failed += result.failed
        self.unreported.claimed += result.claimed
        told = len(self.unreported.sent) + len(self.unreported.failed)
        if told and not self.unreported_since:
            self.unreported_since = time.monotonic()
        if not self.sending or told >= REPORT_BATCH:
            self.report_sends()
        elif told and not self.timer_pending("report-sends"):
            self.after(REPORT_EVERY_S, "report-sends")

    def report_if_due(self) -> None:
        """On every message: under load thespian's timers come late (actors/session.py), and a
        late report holds the balancer's window and this session's reply budget."""
        if self.unreported_since and time.monotonic() - self.unreported_since >= REPORT_EVERY_S:
            self.report_sends()

    def report_sends(self) -> None:
        """Tell the balancer the outcomes gathered since the last report (its window frees)."""
        result, self.unreported = self.unreported, SendResult(master=self.phone)
        self.unreported_since = 0.0
        self.cancel_timer("report-sends")
        balancer = self.send_reply_to or self.peers.get("balancer")
        if balancer is not None and (result.sent or result.failed):
            self.send(balancer, result)

    def _delivered(self, sent: list[tuple]) -> None:
        self.store.write(lambda txn: self.mark_delivered(txn, sent))

    def mark_delivered(self, txn, sent: list[tuple]) -> None:
        """The transport acknowledged: each entry leaves the outbox, into its conversation."""
        for entry, message_id, ts in sent:
            outbox.delivered(txn, entry.id, message_id, self.phone)
            if entry.kind != "alert":   # an alert to an admin is not a customer's conversation
                conversations.add_message(txn, conversations.Message(
                    customer=entry.to, master=self.phone, direction="out", text=shown(entry),
                    ts=ts, message_id=message_id))
            metrics.incr(txn, f"messages_out:{self.phone}")
            if entry.claimed_by == self.phone:   # left from here, without the balancer
                metrics.incr(txn, f"replies_direct:{self.phone}")

    def _send_failed(self, entry, outcome) -> None:
        o = self.cfg.outbox
        final = outcome.kind == FINAL
        delay = retry_delay(entry.attempts, o.retry_min_s, o.retry_max_s)
        self.held_write(lambda txn: outbox.failed(txn, entry.id, outcome.error, time.time() + delay,
                                                    o.max_attempts, final=final))
        log.warning("send_failed", entry=entry.id, to=entry.to, error=outcome.error,
                    outcome=outcome.kind, reason=outcome.reason)
