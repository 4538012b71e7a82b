"""The HA monitor: heartbeats in, health states out (issue 6 completes it).

For now it records each master's last heartbeat and device state and
writes the health it implies to the master's record, so `masters` shows it.
"""
from __future__ import annotations

import time

from actors.messages import AdminReply, AdminRequest, DeviceStateChanged, Heartbeat
from runtime import config, logs
from storage import Store, masters
from supervision.actor import SupervisedActor


class HAMonitor(SupervisedActor):
    def on_start(self, ctx):
        self.ctx = ctx
        self.cfg = config.load(ctx.home)
        logs.configure(self.cfg.logging.level, actor="ha-monitor")
        self.store = Store(ctx.home)
        self.last: dict[str, float] = {}

    def on_message(self, msg, sender):
        if isinstance(msg, Heartbeat):
            self.last[msg.phone] = msg.ts
        elif isinstance(msg, DeviceStateChanged):
            health = "failed" if msg.new in ("logged_out", "banned", "outdated") else (
                "healthy" if msg.new == "connected" else "degraded")
            self.store.write(lambda txn: masters.update(txn, msg.phone, health=health))
        elif isinstance(msg, AdminRequest) and msg.command == "ha.status":
            now = time.time()
            self.send(msg.reply_to or sender, AdminReply(msg.ref, True, data={
                phone: {"heartbeat_age_s": round(now - ts, 3)} for phone, ts in self.last.items()}))
