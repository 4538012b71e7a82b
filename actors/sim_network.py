"""The simulated WhatsApp network as a supervised child of the daemon (--transport sim)."""
from __future__ import annotations

import os

from runtime import config, logs
from supervision.actor import SupervisedActor
from transports.sim.server import SimServer


class SimNetwork(SupervisedActor):
    def on_start(self, ctx):
        cfg = config.load(ctx.home)
        logs.configure(cfg.logging.level, actor="sim")
        # its own store: the sim stands in for WhatsApp's servers, not for our data
        self.server = SimServer(host=ctx.bind, port=ctx.sim_port,
                                state_dir=os.path.join(ctx.home, "sim"))
        self.server.start_in_thread()

    def on_stop(self):
        self.server.close()
