"""The root supervisor: the daemon's only globally named actor.

The CLI reaches everything through it: tree status is answered here (by the
supervisor library), admin commands are passed to the admin gateway.
"""
from __future__ import annotations

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
