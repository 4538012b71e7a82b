"""The daemon's supervision tree, as data (docs/architecture.md, "The tree").

    root (one_for_one)
    ├── sim          only with --transport sim: the simulated WhatsApp network
    ├── ha-monitor
    ├── balancer
    ├── admin
    └── masters      one_for_one, tolerant; one `master:+PHONE` child per running master
"""
from __future__ import annotations

import os

from actors.masters import backoff
from runtime.config import Config
from runtime.context import Context
from supervision.spec import ChildSpec, SupervisorArgs, SupervisorFlags


# Sessions starting at once: enough to keep the cores busy, few enough that each answers within
# its start timeout on a loaded host (docs/scale.md).
MASTERS_START_WINDOW = max(4, 4 * (os.cpu_count() or 1))


def root_args(ctx: Context, cfg: Config) -> SupervisorArgs:
    worker = dict(args=ctx, restart="permanent", shutdown=5.0, backoff=backoff(cfg))
    children = []
    if ctx.transport == "sim":
        children.append(ChildSpec(id="sim", actor="actors.sim_network:SimNetwork", **worker))
    children += [
        ChildSpec(id="ha-monitor", actor="actors.ha_monitor:HAMonitor", **worker),
        ChildSpec(id="balancer", actor="actors.balancer:Balancer", **worker),
        ChildSpec(id="admin", actor="actors.gateway:AdminGateway", **worker),
        ChildSpec(id="masters", actor="actors.masters:MastersSupervisor",
                  args=SupervisorArgs(
                      flags=SupervisorFlags("one_for_one", cfg.supervisor.masters_intensity,
                                            cfg.supervisor.masters_period_s,
                                            start_window=MASTERS_START_WINDOW, sibling_peers=False),
                      children=[], extra=ctx),
                  restart="permanent", shutdown=15.0, backoff=backoff(cfg)),
    ]
    return SupervisorArgs(
        flags=SupervisorFlags("one_for_one", cfg.supervisor.intensity, cfg.supervisor.period_s),
        children=children, extra=ctx)
