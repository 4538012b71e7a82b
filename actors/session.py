"""MasterSession: one actor per master, owning its WhatsApp transport.

Inbound, in one LMDB write transaction: de-duplicate by WhatsApp message
id, append to the conversation, compute command replies and put them in
the outbox. Only then is the message acknowledged to the network, so a
crash at any instruction neither loses a message nor handles it twice.
Outbound: the balancer says which outbox entries to send (SendNow); the
entry leaves the outbox only once the transport acknowledged it.
"""
from __future__ import annotations

import os
import random
import time

import structlog
from thespian.actors import ThespianWatch, WatchMessage

from actors.masters import backoff
from agents import inbound as lead_inbound
from actors.session_replies import SessionReplies
from actors.session_sends import SessionSends
from actors import store_room
from actors.store_room import StoreRoom
from masters import device
from masters.reconnect import step_in_after
from conversations import media, media_resume
from conversations.backlog import BacklogTally
from conversations.inbound import Rules, handle_inbound
from actors.messages import (AdminReply, AdminRequest, Alert, DeviceStateChanged, Heartbeat,
                             InboundMessage, Link, ReplyBudget, SendNow)
from runtime import config, logs
from runtime.beatboard import BeatWriter
from storage import Store, masters, pairing
from storage.faults import StoreFull
from supervision.actor import SupervisedActor
from transports import events as ev
from transports.base import TransportError

log = structlog.get_logger("session")
# What conversations/inbound.py handles; the offline sync's frame is the session's own.
INBOUND_EVENTS = (ev.Inbound, ev.Edited, ev.Revoked, ev.Reaction, ev.Undecryptable, ev.LidResolved)
NUDGE_EVERY_S = 0.02         # the balancer hears of new inbound messages at most this often


def make_transport(ctx, cfg, phone: str):
    sessions = os.path.join(ctx.home, "sessions")
    os.makedirs(sessions, mode=0o700, exist_ok=True)
    os.chmod(sessions, 0o700)   # WhatsApp session keys: the owner's only, whatever made it first
    if ctx.transport == "sim":
        from transports.sim.transport import SimTransport
        keepalive = cfg.sim.keepalive_s
        return SimTransport(phone, "127.0.0.1", ctx.sim_port, os.path.join(sessions, f"{phone}.sim"),
                            send_timeout=cfg.session.send_timeout_s, keepalive_s=keepalive,
                            # a hung sim must not hold a reconnect much longer than a ping would
                            connect_timeout=min(5.0, max(1.0, 2 * keepalive)))
    from transports.neonize.transport import NeonizeTransport
    store = cfg.neonize.database or os.path.join(sessions, f"{phone}.sqlite")
    return NeonizeTransport(phone, store, send_timeout_s=cfg.session.send_timeout_s)


class MasterSession(SessionReplies, SessionSends, StoreRoom, SupervisedActor):   # actors/session_replies.py, _sends.py, store_room.py
    def on_start(self, args):
        self.ctx, self.phone = args["ctx"], args["phone"]
        self.cfg = config.load(self.ctx.home)
        logs.configure(self.cfg.logging.level, actor=f"master:{self.phone}", master=self.phone)
        self.store = Store(self.ctx.home)
        self.attempts = 0
        self.replace_retry_used = False
        self.connected_since: float | None = None   # time.time() of the last Connected
        self.own_logout_pending = False   # a relink logged out: its LoggedOut is expected
        self.last_beat = 0.0                 # time.monotonic() of the last heartbeat sent
        try:   # periodic heartbeats go to the monitor's board, not as messages (runtime/beatboard.py)
            self.beats: BeatWriter | None = BeatWriter(self.ctx.home, self.phone)
        except (OSError, ValueError) as e:
            log.warning("heartbeat_board_unavailable", error=str(e))
            self.beats = None
        self.nudge: InboundMessage | None = None   # the latest inbound the balancer has not heard of
        self.nudged_at = 0.0
        self.nudge_armed = False
        self.held_inbound: list = []   # polled but not stored for want of room: not acknowledged
        with self.store.read() as txn:
            record = masters.get(txn, self.phone)
        self.state = record.device_state if record else "unlinked"
        self.transport = make_transport(self.ctx, self.cfg, self.phone)
        self.start_workers()   # WhatsApp's blocking calls run there, never on this thread
        self.start_replies()   # before announcing: a previous process's claims go back to the balancer
        self.backlog = BacklogTally()   # for the admins' one summary per reconnect
        self.media = media.MediaFetcher(os.path.join(self.ctx.home, "media"), self.cfg.session.media_max_bytes)
        self.resume_media = media_resume.Resume(self.store, self.phone, self.media, self.transport)
        # Always announce: the balancer learns this process's address from it.
        self._set_state(self._resume_state(), "session started", announce=True)
        if self.state == "connecting":
            self.off_thread("connect", self.transport.connect)
        elif self.state == "replaced":
            # Restarted while waiting for its one careful retry: it still gets it (once).
            self.replace_retry_used = True
            self.after(self.cfg.session.replaced_wait_s, "reconnect")
        self._heartbeat()
        log.info("session_started", state=self.state)

    def _resume_state(self) -> str:
        """Where a (re)started session picks up: dead states stay dead."""
        if self.state in ("logged_out", "outdated", "replaced"):
            return self.state
        if self.state in ("unlinked", "pairing"):
            return "unlinked"
        return "connecting"  # connected/disconnected/connecting/banned: try (a ban answers Banned again)

    # thespian calls this; the base class dispatches to on_message
    def receiveMessage(self, msg, sender):
        super().receiveMessage(msg, sender)
        transport = getattr(self, "transport", None)
        if transport is not None:
            return ThespianWatch([transport.fileno(), self.media.fileno(), *self.watched()])
        return None

    def on_message(self, msg, sender):
        # Under a steady stream of messages thespian's wakeups come late (measured: no heartbeat
        # for over 15 s at 500 msg/s), and the session looks hung. While busy, beat from here.
        if time.monotonic() - self.last_beat >= self.cfg.health.heartbeat_s:
            self._beat()
        self.report_if_due()   # the same for send reports (actors/session_sends.py)
        if isinstance(msg, WatchMessage):
            self._media_done(self.media.ready())
            self.poll_workers(hold_marks=True)   # their delivered marks join the inbound commit
            self._on_events(self.transport.poll())
            self.commit_marks()
        elif isinstance(msg, SendNow):
            self._send_entries(msg.entry_ids, sender)
        elif isinstance(msg, ReplyBudget):
            self.on_budget(msg)
        elif isinstance(msg, Link):
            self._link(msg)

    def on_stop(self):
        if getattr(self, "control", None) is not None:
            self.stop_workers()
        elif getattr(self, "transport", None) is not None:
            self.transport.close()
        if getattr(self, "media", None) is not None:
            self.media.close()

    # --- transport events ----------------------------------------------------

    def _on_events(self, events: list) -> None:
        """In order; each run of consecutive conversation events is handled as one batch.

        The offline sync's start and end only frame the backlog's summary to the admins."""
        batch: list = []
        for event in events:
            if isinstance(event, INBOUND_EVENTS):
                batch.append(event)
                continue
            if batch:
                self._inbound(batch)
                batch = []
            if isinstance(event, ev.OfflineSyncStarted):
                self.backlog.sync_started()
            elif isinstance(event, ev.OfflineSyncCompleted):
                self._backlog_alert(self.backlog.sync_completed(self.phone))
            else:
                self._on_event(event)
        if batch:
            self._inbound(batch)
        self._backlog_alert(self.backlog.flush(self.phone))

    def _backlog_alert(self, text: str | None) -> None:
        monitor = self.peers.get("ha-monitor")
        if text is None:
            return
        log.warning("offline_backlog", summary=text)
        if monitor is not None:
            self.send(monitor, Alert("warning", "offline_backlog", self.phone, text, time.time()))

    def _media_done(self, outcomes: list) -> None:
        """Record the downloads the media worker finished (conversations/media.py)."""
        if outcomes:
            self.held_write(lambda txn: [media.record(txn, o) and o.state == "stored" and
                                          lead_inbound.on_media_stored(txn, o.customer, o.message_id, o.path)
                                          for o in outcomes])
            for o in outcomes:
                log.info("media", message_id=o.message_id, state=o.state, path=o.path, error=o.error)

    def _on_event(self, event) -> None:
        if isinstance(event, (ev.Receipt,) + ev.CONVERSATION_EVENTS):
            return
        if isinstance(event, ev.LoggedOut) and self.own_logout_pending:
            self.own_logout_pending = False
            log.info("own_logout_seen", reason=event.reason)
            return
        if isinstance(event, ev.Connected):
            self.own_logout_pending = False
        now = time.time()
        stable_for = now - self.connected_since if self.connected_since is not None else 0.0
        reset_attempts, new_replace = device.forgiven(
            self.state, event, stable_for=stable_for, reset_after_s=self.cfg.backoff.reset_after_s,
            replace_forgiven_s=self.cfg.session.replace_forgiven_s)
        if reset_attempts:
            self.attempts = 0
        if new_replace:
            self.replace_retry_used = False
        r = device.react(self.state, event, now=now, attempts=self.attempts,
                         replace_retry_used=self.replace_retry_used,
                         replaced_wait_s=self.cfg.session.replaced_wait_s, backoff=self._backoff)
        if r.reset_attempts:
            self.attempts = 0
        if r.used_replace_retry:
            self.replace_retry_used = True
        if isinstance(event, ev.QRCode):
            self._save_pairing("qr", event.data)
        elif isinstance(event, ev.PairingCode):
            self._save_pairing("code", event.code)
        if self.state == "pairing" and r.state == "unlinked":
            self._pairing_ended(r.reason)
        self._set_state(r.state, r.reason or type(event).__name__)
        if r.reconnect_in is not None:   # after whatsmeow's own redial had its chance
            self.after(step_in_after(event, r.reconnect_in, self.cfg.session.reconnect_grace_s), "reconnect")

    def _backoff(self, n: int) -> float:
        return backoff(self.cfg).delay(n, random.random())

    def _inbound(self, batch: list[ev.Inbound]) -> None:
        """Handle the inbound messages of one poll in ONE write transaction (under load that is
        one commit for many messages, not one each), then ack them, then tell the others.

        A full disk: the batch is held, not acknowledged, and tried again (actors/store_room.py);
        later batches queue behind it so a conversation keeps its order."""
        if self.held_inbound:
            self._hold_inbound(batch)
            return
        now = time.time()
        rules = Rules(now=now, backlog_max_age_s=self.cfg.session.backlog_max_age_s,
                      resolve=getattr(self.transport, "phone_for_lid", None),
                      leads=lambda txn, master, customer, msg, first: lead_inbound.on_customer_message(
                          txn, master, customer, msg, first, now, self.cfg.leads))
        marks = self.marks   # sends seen finished in this poll: one commit for both

        def write(txn):
            self.mark_delivered(txn, marks)
            return self.claim_replies(txn, handle_inbound(txn, self.phone, batch, self.cfg.chat, rules, self.cfg))
        try:
            handled, claimed = self.store.write(write)   # claim_replies: actors/session_replies.py
        except StoreFull as e:
            self._hold_inbound(batch)
            self.store_full(e)
            return
        self.marks = []
        for event in batch:
            if getattr(event, "message_id", ""):
                self.transport.ack(event.message_id)  # only now may the network forget it
        self.send_claimed(claimed)
        admin = self.peers.get("admin")
        for h in handled:
            for f in h.forwards:
                if admin is not None:
                    self.send(admin, AdminRequest(f.command, f.args, chat_to=h.customer,
                                                  chat_command=f.chat_command))
            if h.fetch:
                self.media.submit(h.customer, h.event.message_id, h.event.media)
            if h.held and h.from_customer:
                self.backlog.add(h.customer)
        if handled:
            event = handled[-1].event
            self.nudge = InboundMessage(self.phone, handled[-1].customer, getattr(event, "text", ""),
                                        event.message_id, event.timestamp)
            self._nudge_balancer()

    def _hold_inbound(self, batch: list) -> None:
        self.held_inbound += batch
        if len(self.held_inbound) > store_room.HELD_MAX:   # not acknowledged: delivered again later
            log.error("store_full_inbound_let_go", held=len(self.held_inbound) - store_room.HELD_MAX)
            del self.held_inbound[store_room.HELD_MAX:]

    def _inbound_again(self) -> bool:
        """The held inbound messages, tried again (store_room's timer). True when all are stored."""
        batch, self.held_inbound = self.held_inbound, []
        if batch:
            self._inbound(batch)
        self.commit_marks()
        return not self.held_inbound and not self.marks

    def _nudge_balancer(self) -> None:
        """Tell the balancer new messages (and their replies) are in, at most every NUDGE_EVERY_S.

        The balancer only needs a nudge to look at the outbox. One per message at hundreds
        a second outruns it, and thespian then holds this session's other sends (heartbeats
        too: measured lost for 15 s at 500 msg/s) behind the queue to the balancer."""
        balancer = self.peers.get("balancer")
        if self.nudge is None or balancer is None:
            return
        wait = self.nudged_at + NUDGE_EVERY_S - time.monotonic()
        if wait > 0:
            if not self.nudge_armed:   # one pending timer is enough
                self.nudge_armed = True
                self.after(wait, "nudge")
            return
        self.send(balancer, self.nudge)
        self.nudge, self.nudged_at = None, time.monotonic()

    # --- outbound: actors/session_sends.py ---------------------------------------------

    # --- linking ----------------------------------------------------------------

    def _link(self, msg: Link) -> None:
        if msg.relink:
            # Our own logout's LoggedOut (from the control worker, later) must not read
            # as a dead device: peers would fail the master over, the CLI would give up.
            self.own_logout_pending = True
        self.replace_retry_used = False
        self.attempts = 0
        self._set_state("pairing", "relink" if msg.relink else "link")
        self.off_thread("link", lambda: self._logout_then_pair(msg.relink, msg.code))
        self.after(self.cfg.session.pairing_timeout_s, "pairing_timeout")
        if msg.reply_to is not None:
            self.send(msg.reply_to, AdminReply(msg.ref, True, data={"linking": self.phone}))

    def _logout_then_pair(self, relink: bool, code: bool) -> None:
        """On the control worker: a relink's logout (its failure only logged), then pairing."""
        if relink:
            try:
                self.transport.logout()
            except TransportError as e:
                log.warning("logout_failed", error=str(e))
        self.transport.pair(phone_code=code)

    def _save_pairing(self, kind: str, value: str) -> None:
        """The CLI shows what the phone needs from here (QR data or the code), or why it failed."""
        self.held_write(lambda txn: pairing.put(txn, self.phone, kind, value))

    def _pairing_ended(self, reason: str) -> None:
        """A pairing that failed or timed out: tell the CLI why, then stop it (no more QR codes;
        neonize's stop can take seconds during a QR pairing)."""
        self._save_pairing("failed", reason)
        self.off_thread("disconnect", self.transport.disconnect)

    # --- state, timers, heartbeats ---------------------------------------------

    def _set_state(self, new: str, reason: str, announce: bool = False) -> None:
        old = self.state
        self.state = new
        if new != "connected":
            self.connected_since = None
        elif old != "connected" or self.connected_since is None:
            self.connected_since = time.time()
        self.held_write(lambda txn: masters.update(txn, self.phone, device_state=self.state, pid=os.getpid()),
                        key="device_state")   # the latest state is what a held save writes
        if old != new or announce:
            log.info("device_state", old=old, new=new, reason=reason)
            change = DeviceStateChanged(self.phone, old, new, reason, time.time())
            for peer in ("ha-monitor", "balancer"):
                if peer in self.peers:
                    self.send(self.peers[peer], change)
            if new == "connected" and old != new:
                self._beat(message=True)   # a restarted session is healthy again now, not a heartbeat later (issue 13)
                self.resume_media()   # files an earlier process left pending (conversations/media_resume.py)

    def on_timer(self, name: str, payload) -> None:
        if name == "heartbeat":
            self._heartbeat()
        elif name.startswith("typed:"):
            self._typed(payload)
        elif name == "report-sends":
            self.report_sends()
        elif name == store_room.TIMER:
            self.on_store_room(then=self._inbound_again)
        elif name == "nudge":
            self.nudge_armed = False
            self._nudge_balancer()
        elif name == "reconnect" and self.state in ("disconnected", "banned", "replaced"):
            self.attempts += 1
            self._set_state("connecting", f"reconnect attempt {self.attempts}")
            self.off_thread("connect", self.transport.connect)
        elif name == "pairing_timeout" and self.state == "pairing":
            why = (f"pairing timed out after {self.cfg.session.pairing_timeout_s:g} s: nobody "
                   "scanned the QR code or typed the code on the phone")
            self._pairing_ended(why)
            self._set_state("unlinked", why)

    def _heartbeat(self) -> None:
        """The timer's beat; it re-arms itself (skipping the send if a busy beat just went)."""
        if time.monotonic() - self.last_beat >= self.cfg.health.heartbeat_s / 2:
            self._beat()
        self.after(self.cfg.health.heartbeat_s, "heartbeat")

    def _beat(self, message: bool = False) -> None:
        """A heartbeat: written to the board; also sent as a message when the monitor must hear it
        at once (or when there is no board)."""
        self.last_beat = time.monotonic()
        beats = getattr(self, "beats", None)
        if beats is not None:
            beats.beat(self.state, os.getpid(), time.time())
        monitor = self.peers.get("ha-monitor")
        if monitor is not None and (message or beats is None):
            self.send(monitor, Heartbeat(self.phone, self.state, os.getpid(), time.time()))
