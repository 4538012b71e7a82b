"""The root supervisor: the daemon's only globally named actor.

The CLI reaches everything through it: tree status is answered here (by the
supervisor library), admin commands are passed to the admin gateway.

When its own restart intensity is exceeded it gives up, and the daemon ends
with it (as an OTP node whose top supervisor exits): it SIGTERMs the Admin
that created it, which shuts the whole actor system down. Otherwise an Admin
with no tree would keep the port, looking alive.
"""
from __future__ import annotations

import os
import signal

from actors.messages import AdminReply, AdminRequest
from actors.root_watch import RootWatch
from supervision.messages import Pong
from supervision.supervisor import Supervisor

END_DAEMON_AFTER_S = 0.3


class Root(RootWatch, Supervisor):
    def on_start(self, args) -> None:
        super().on_start(args)
        self.start_watch(args.extra)   # a hung HA monitor, a gone keeper: actors/root_watch.py

    def on_message(self, msg, sender):
        if isinstance(msg, Pong):
            self.watch_pong(msg, sender)
            return
        if isinstance(msg, AdminRequest):
            gateway = self.child_address("admin")
            if gateway is None:
                self.send(sender, AdminReply(msg.ref, False, error="the admin gateway is restarting; try again"))
                return
            msg.reply_to = msg.reply_to or sender
            self.send(gateway, msg)
            return
        super().on_message(msg, sender)

    def stop(self, reason: str = "normal") -> None:
        if not reason.startswith("shutdown"):
            super().stop(reason)
            return
        # Gave up (intensity exceeded; the tree is already stopped). End the daemon in a
        # moment, not at once: the log record saying why must reach the logger first.
        self.after(END_DAEMON_AFTER_S, "end-daemon")

    def on_timer(self, name, payload) -> None:
        if name == "watch":
            self.watch_tick()
            return
        if name == "end-daemon":
            os.kill(os.getppid(), signal.SIGTERM)  # the Admin shuts the whole system down
            return
        super().on_timer(name, payload)
