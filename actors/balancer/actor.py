"""The load balancer actor: the only dispatcher of the durable outbox.

It decides which master sends each pending entry (the owner of the
conversation while it can, else a pick by strategy), hands entries to the
sessions in bounded windows (an unbounded burst collapses thespian's
transmit queue), and frees them when the session reports back. Sessions
announce themselves with DeviceStateChanged, which is how it learns their
addresses.
"""
from __future__ import annotations

import time
from datetime import timedelta

import structlog
from thespian.actors import WakeupMessage

from actors.balancer.strategies import MasterView, RoundRobinState, route
from actors.messages import (AdminReply, AdminRequest, DeviceStateChanged, InboundMessage,
                             OutboxChanged, SendNow, SendResult)
from runtime import config, logs
from storage import Store, conversations, masters, outbox
from supervision.actor import SupervisedActor

log = structlog.get_logger("balancer")

WINDOW = 64            # entries in flight per master
IN_FLIGHT_TIMEOUT_S = 45.0
TICK_S = 0.5


class ToMaster:
    """Anyone → balancer: pass `msg` on to the session of `phone`."""
    def __init__(self, phone: str, msg, reply_to=None, ref: str = ""):
        self.phone, self.msg, self.reply_to, self.ref = phone, msg, reply_to, ref


class Balancer(SupervisedActor):
    def on_start(self, ctx):
        self.ctx = ctx
        self.cfg = config.load(ctx.home)
        logs.configure(self.cfg.logging.level, actor="balancer")
        self.store = Store(ctx.home)
        self.sessions: dict[str, object] = {}      # phone → address
        self.device: dict[str, str] = {}           # phone → device state
        self.in_flight: dict[int, tuple[str, float]] = {}  # entry id → (master, since)
        self.rr = RoundRobinState()
        self.strategy = self.cfg.failover.strategy
        self.wakeupAfter(timedelta(seconds=TICK_S), payload="tick")

    def on_message(self, msg, sender):
        if isinstance(msg, DeviceStateChanged):
            self.sessions[msg.phone] = sender
            self.device[msg.phone] = msg.new
            self.dispatch()
        elif isinstance(msg, (OutboxChanged, InboundMessage)):
            self.dispatch()
        elif isinstance(msg, SendResult):
            for entry_id in msg.sent + msg.failed + msg.deferred:
                self.in_flight.pop(entry_id, None)
            if msg.sent or msg.failed:
                self.dispatch()
        elif isinstance(msg, ToMaster):
            self._forward(msg, sender)
        elif isinstance(msg, WakeupMessage) and msg.payload == "tick":
            self._expire_in_flight()
            self.dispatch()
            self.wakeupAfter(timedelta(seconds=TICK_S), payload="tick")
        elif isinstance(msg, AdminRequest) and msg.command == "balancer.status":
            self.send(msg.reply_to or sender, AdminReply(msg.ref, True, data={
                "strategy": self.strategy, "in_flight": len(self.in_flight), "devices": self.device}))

    def _forward(self, msg: ToMaster, sender) -> None:
        address = self.sessions.get(msg.phone)
        if address is None:
            if msg.reply_to is not None:
                self.send(msg.reply_to, AdminReply(msg.ref, False, error=f"master {msg.phone} has no running session"))
            return
        self.send(address, msg.msg)

    def _expire_in_flight(self) -> None:
        """A session that died mid-send never answers: its entries go back to pending."""
        now = time.monotonic()
        for entry_id, (_, since) in list(self.in_flight.items()):
            if now - since > IN_FLIGHT_TIMEOUT_S:
                del self.in_flight[entry_id]

    def views(self, txn) -> list[MasterView]:
        out = []
        for m in masters.all(txn):
            out.append(MasterView(phone=m.phone, role=m.role if m.role in ("primary", "backup") else "backup",
                                  priority=m.priority, weight=m.weight or 1.0, region=m.region,
                                  healthy=self._usable(m), conversations=0, outbox_depth=0))
        return out

    def _usable(self, m) -> bool:
        return (self.device.get(m.phone) == "connected" and m.phone in self.sessions
                and m.health != "failed")

    def dispatch(self) -> None:
        """Hand due pending entries to masters, at most WINDOW in flight per master."""
        now = time.time()
        per_master: dict[str, list[int]] = {}
        moves: dict[int, str] = {}
        with self.store.read() as txn:
            views = self.views(txn)
            if not any(v.healthy for v in views):
                return
            load = {}
            for entry_id, (master, _) in self.in_flight.items():
                load[master] = load.get(master, 0) + 1
            for entry in outbox.pending(txn, now=now, limit=2000):
                if entry.id in self.in_flight:
                    continue
                if entry.via:
                    target = entry.via if any(v.phone == entry.via and v.healthy for v in views) else None
                else:
                    owner = entry.master
                    if owner is None:
                        conv = conversations.get(txn, entry.to)
                        owner = conv.master if conv else None
                    target = route(owner, views, entry.to, self.strategy, self.rr)
                if target is None or load.get(target, 0) >= WINDOW:
                    continue
                load[target] = load.get(target, 0) + 1
                per_master.setdefault(target, []).append(entry.id)
                if target != entry.master:
                    moves[entry.id] = target
        if moves:
            def assign(txn):
                for entry_id, target in moves.items():
                    e = outbox.get(txn, entry_id)
                    if e is not None:
                        e.master = target
                        outbox.put(txn, e)
            self.store.write(assign)
        for master, ids in per_master.items():
            since = time.monotonic()
            for entry_id in ids:
                self.in_flight[entry_id] = (master, since)
            self.send(self.sessions[master], SendNow(ids))
