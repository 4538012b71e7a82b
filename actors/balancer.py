"""The load balancer actor: the only dispatcher of the durable outbox, and failover.

It decides which master sends each pending entry (dispatch.py), hands
entries to the sessions in bounded windows (an unbounded burst collapses
thespian's transmit queue), and frees them when the session reports back.
Sessions announce themselves with DeviceStateChanged, which is how it learns
their addresses.

Failover (actors/balancer_failover.py; balancing/failover.py does the
transaction): a master entering a dead device state, or declared `failed` by
the HA monitor, has its conversations and outbox moved to healthy siblings — once (`state.down`), under the failover
gate (one at a time per master, paused after too many). With no healthy
sibling the failover waits (`state.waiting`) and completes as soon as a
master is usable again. What must survive a restart is in LMDB (meta).
"""
from __future__ import annotations

import time
from collections import deque
from datetime import timedelta

import structlog
from thespian.actors import WakeupMessage

from balancing import failover as fo
from actors.balancer_admin import BalancerAdmin
from actors.balancer_budgets import ReplyBudgets
from actors.balancer_failover import BalancerFailover
from balancing.dispatch import plan_dispatch
from balancing.dispatch_cost import free_slots, read_caps, views_ttl
from balancing.handover import RestorePlan
from balancing.ratelimit import RateLimiter, limits_from_config
from balancing.strategies import RoundRobinState
from actors.messages import (AdminReply, AdminRequest, DeviceStateChanged, HealthChanged,
                             InboundMessage, OutboxChanged, SendNow, SendResult, ToMaster)
from runtime import config, logs
from runtime.vocabulary import TRANSIENT_DEVICE_STATES
from storage import Store, balancer as balancer_store, conversations, masters, outbox
from supervision import messages as sup, thespian_internals
from supervision.actor import SupervisedActor
from storage.faults import StoreFull
from actors.store_room import StoreRoom

log = structlog.get_logger("balancer")

WINDOW = 64            # entries in flight per master
IN_FLIGHT_TIMEOUT_S = 45.0
TICK_S = 0.5
DISPATCH_BATCH_S = 0.005   # between the end of one dispatch and the start of the next


class Balancer(BalancerFailover, ReplyBudgets, BalancerAdmin, StoreRoom, SupervisedActor):   # their files: actors/balancer_*.py
    def on_start(self, ctx):
        self.ctx = ctx
        self.refusals_said: set[tuple] = set()
        self.cfg = config.load(ctx.home)
        logs.configure(self.cfg.logging.level, actor="balancer")
        self.store = Store(ctx.home)
        f = self.cfg.failover
        with self.store.read() as txn:
            self.state = fo.load_state(txn, f.lock_timeout_s, f.max_per_window, f.window_s, f.strategy)
            saved_limits = balancer_store.get_limits(txn)
        self.limits = limits_from_config(self.cfg.limits)
        self.limiters = {p: RateLimiter.from_dict(d, self.limits) for p, d in saved_limits.items()}
        self.sessions: dict[str, object] = {}      # phone → address
        self.device: dict[str, str] = {}           # phone → device state
        self.in_flight: dict[int, tuple[str, float]] = {}  # entry id → (master, since)
        self.granted: dict[str, int] = {}          # master → reply budget its session holds
        self.rr = RoundRobinState()
        self.recovering: set[str] = set()          # back after a failover: new conversations first
        self.fresh: dict[str, str] = {}            # customer → master picked before its conversation exists
        self.watchers: dict[int, list] = {}        # entry id → [(ref, reply_to, deadline)]
        self.restoring: dict[str, RestorePlan] = {}  # `failover restore` in progress, batch by batch
        self.restoring_step: dict[str, int] = {}
        self.sent_log: dict[str, deque] = {}       # master → send times (throughput)
        self._views, self._views_at, self._views_ttl = None, 0.0, 0.0
        self._masters_address = None
        self._dispatched_at = 0.0
        self.in_grace: set[str] = set()            # failed, but may be back within [failover] grace_s
        thespian_internals.close_idle_sockets_after(10.0)   # (500 sessions' idle connections made each loop turn dearer)
        self.on_peers(self.peers)
        self.wakeupAfter(timedelta(seconds=TICK_S), payload="tick")
        log.info("balancer_started", strategy=self.state.strategy, failed_over=sorted(self.state.down),
                 limits="on" if self.limits.enabled else "off")

    def on_peers(self, peers):
        """A (re)started balancer, or masters supervisor, learns the running sessions from it:
        a session announces itself only when it starts or changes state."""
        address = peers.get("masters")
        if address is not None and address != self._masters_address:
            self._masters_address = address
            self.send(address, sup.WhichChildren(ref="balancer-sessions"))

    def _children(self, msg: sup.Children) -> None:
        with self.store.read() as txn:
            records = {m.phone: m for m in masters.all(txn)}
        for child in msg.children:
            phone = child.id.removeprefix("master:")
            if child.id.startswith("master:") and child.address is not None and phone not in self.sessions:
                self.sessions[phone] = child.address
                if phone in records:
                    self.device.setdefault(phone, records[phone].device_state)
        self._views = None
        for phone, state in list(self.device.items()):
            if state in fo.DEAD_STATES and phone not in self.state.down:
                # it died while this balancer was not there to hear it
                self.failover(phone, f"device {state} (found after a balancer restart)")
        self.dispatch()

    # ------------------------------------------------------------------ messages

    def on_message(self, msg, sender):
        if isinstance(msg, DeviceStateChanged):
            self._device_changed(msg, sender)
        elif isinstance(msg, HealthChanged):
            self._health_changed(msg)
        elif isinstance(msg, (OutboxChanged, InboundMessage)):
            self.dispatch_soon()
        elif isinstance(msg, SendResult):
            self._send_result(msg)
        elif isinstance(msg, ToMaster):
            self._forward(msg, sender)
        elif isinstance(msg, sup.Children):
            self._children(msg)
        elif isinstance(msg, WakeupMessage) and msg.payload == "tick":
            self._tick()
            self.wakeupAfter(timedelta(seconds=TICK_S), payload="tick")
        elif isinstance(msg, AdminRequest):
            self.run_command(msg, sender)

    def _device_changed(self, msg: DeviceStateChanged, sender) -> None:
        if self.sessions.get(msg.phone) not in (None, sender):
            self._release(msg.phone)   # a new session process: the old one's sends never answer
            self.granted[msg.phone] = 0   # ... and it starts without budget
        self.sessions[msg.phone] = sender
        before = self.device.get(msg.phone)
        self.device[msg.phone] = msg.new
        if msg.new in fo.DEAD_STATES:
            self.failover(msg.phone, f"device {msg.new}" + (f": {msg.reason}" if msg.reason else ""))
        elif msg.new == "connected" and before != "connected":
            self._recovered(msg.phone)
        self.dispatch()
        self.grant_budgets(msg.phone)

    def _send_result(self, msg: SendResult) -> None:
        self.budget_used(msg)   # replies the session sent itself (actors/balancer_budgets.py)
        now = time.time()
        for entry_id in msg.sent:
            self.in_flight.pop(entry_id, None)
            self.sent_log.setdefault(msg.master, deque()).append(now)
            for ref, reply_to, _ in self.watchers.pop(entry_id, []):
                self.send(reply_to, AdminReply(ref, True, data={"id": entry_id, "state": "sent",
                                                                 "master": msg.master}))
        for entry_id in msg.failed + msg.deferred:
            self.in_flight.pop(entry_id, None)
        if msg.sent or msg.failed:
            self.dispatch_soon()

    def _forward(self, msg: ToMaster, sender) -> None:
        address = self.sessions.get(msg.phone)
        if address is None:
            if msg.reply_to is not None:
                self.send(msg.reply_to, AdminReply(msg.ref, False, error=f"master {msg.phone} has no running session"))
            return
        self.send(address, msg.msg)

    def _tick(self) -> None:
        now_m, now = time.monotonic(), time.time()
        for entry_id, (_, since) in list(self.in_flight.items()):
            if now_m - since > IN_FLIGHT_TIMEOUT_S:   # a session that died mid-send never answers
                del self.in_flight[entry_id]
        for entry_id, waiting in list(self.watchers.items()):
            for w in [w for w in waiting if w[2] <= now]:
                waiting.remove(w)
                self.send(w[1], AdminReply(w[0], True, data={"id": entry_id, "state": "queued"}))
            if not waiting:
                del self.watchers[entry_id]
        if self.state.waiting:
            self._complete_waiting()
        self.dispatch()
        self.regrant_budgets(now_m)   # a safety net: changes grant at once

    def _release(self, phone: str) -> None:
        self.in_flight = {i: (m, t) for i, (m, t) in self.in_flight.items() if m != phone}

    # ------------------------------------------------------------------ failover

    def _usable(self, m) -> bool:
        return (self.device.get(m.phone) == "connected" and m.phone in self.sessions
                and m.health != "failed" and m.phone not in self.state.down and m.desired == "running")

    def views(self, fresh: bool = False):
        """MasterViews with conversation counts (recounted as balancing/dispatch_cost.py allows)."""
        if fresh or self._views is None or time.monotonic() - self._views_at > self._views_ttl:
            started = time.monotonic()
            with self.store.read() as txn:
                self._views = fo.master_views(txn, self._usable, refused=self._refused_value)
                self._records = {m.phone: m for m in masters.all(txn)}
            self._views_at = time.monotonic()
            self._views_ttl = views_ttl(self._views_at - started)
            for phone in list(self.recovering):   # caught up with the others: no longer first
                mine = next((v for v in self._views if v.phone == phone), None)
                usable = [v.conversations for v in self._views if v.healthy]
                if mine is None or (usable and mine.conversations >= sum(usable) / len(usable)):
                    self.recovering.discard(phone)
        return self._views

    def _hold(self) -> set[str]:
        """Owners worth waiting for: running, not failed over, only reconnecting."""
        return {p for p, m in self._records.items()
                if m.desired == "running" and p not in self.state.down
                and (p in self.in_grace
                     or m.health != "failed" and self.device.get(p, m.device_state) in TRANSIENT_DEVICE_STATES)}

    def dispatch_soon(self) -> None:
        """Dispatch within DISPATCH_BATCH_S: under a burst one pass over the outbox serves many
        messages, instead of one pass per message (which falls behind and never catches up)."""
        if self.timer_pending("dispatch-soon"):
            return
        since = time.monotonic() - self._dispatched_at
        if since >= DISPATCH_BATCH_S:
            self.dispatch()         # quiet until now: no reason to wait
        else:
            self.after(DISPATCH_BATCH_S - since, "dispatch-soon")

    def dispatch(self) -> None:
        """Hand due pending entries to masters, at most WINDOW in flight per master, reading
        the outbox in proportion to the free room (balancing/dispatch_cost.py)."""
        now = time.time()
        with self.store.read() as txn:
            if not outbox.pending(txn, now=now, limit=1, campaign_limit=1, skip=self.in_flight):
                return   # nothing due: no view of every master to build (idle at 500 masters, docs/scale.md)
        views = self.views()
        usable = [v.phone for v in views if v.healthy]
        free = free_slots((m for m, _ in self.in_flight.values()), usable, WINDOW)
        if not free:
            return
        self.limiters.update({p: RateLimiter(self.limits) for p in self._records if p not in self.limiters})
        with self.store.read() as txn:
            entries = outbox.pending(txn, now=now, skip=self.in_flight, **read_caps(free, len(usable), WINDOW))
            owners: dict[str, str | None] = {}

            def owner_of(customer: str) -> str | None:
                if customer not in owners:
                    conv = conversations.get(txn, customer)
                    owners[customer] = conv.master if conv else None
                return owners[customer]
            plan = plan_dispatch(entries, views, owner_of, self._hold(),
                                 {i: m for i, (m, _) in self.in_flight.items()}, WINDOW,
                                 self.limiters, self.state.strategy, self.rr, now,
                                 self.recovering, self.fresh)
        if len(self.fresh) > 10000:
            self.fresh.clear()
        if plan.moves:
            def assign(txn):
                for entry_id, target in plan.moves.items():
                    e = outbox.get(txn, entry_id)
                    if e is not None:
                        e.master = target
                        outbox.put(txn, e)
                if self.limits.enabled:
                    balancer_store.put_limits(txn, {p: lim.to_dict() for p, lim in self.limiters.items()})
            try:
                self.store.write(assign)
            except StoreFull as e:   # nothing sent: the entries wait in the outbox for room
                self.store_full(e)
                return
        if plan.next_in < TICK_S:
            # A master's gap ends before the next tick: look again exactly then, or a
            # rate-limited master sends one entry per tick instead of one per gap.
            self.after(plan.next_in, "dispatch")
        for master, ids in plan.per_master.items():
            since = time.monotonic()
            for entry_id in ids:
                self.in_flight[entry_id] = (master, since)
            self.send(self.sessions[master], SendNow(ids))
        self._dispatched_at = time.monotonic()   # the next one waits DISPATCH_BATCH_S from here
