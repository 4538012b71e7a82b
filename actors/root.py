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
from supervision.supervisor import Supervisor


class Root(Supervisor):
    def on_message(self, msg, sender):
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
        super().stop(reason)
        if reason.startswith("shutdown"):  # gave up (intensity exceeded): end the daemon
            os.kill(os.getppid(), signal.SIGTERM)
