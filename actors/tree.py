"""The daemon's supervision tree, as data (ARCHITECTURE.md §1).

    root (one_for_one)
    ├── sim          only with --transport sim: the simulated WhatsApp network
    ├── ha-monitor
    ├── balancer
    ├── admin
    └── masters      one_for_one, tolerant; one `master:+PHONE` child per running master
"""
from __future__ import annotations

from dataclasses import dataclass

from runtime.config import Config
from supervision.spec import Backoff, ChildSpec, SupervisorArgs, SupervisorFlags


@dataclass(frozen=True)
class Context:
    """What every actor of one daemon needs to know about where it runs."""
    home: str
    port: int
    transport: str = "neonize"     # neonize | sim
    sim_port: int = 0
    bind: str = "127.0.0.1"


def backoff(cfg: Config) -> Backoff:
    b = cfg.backoff
    return Backoff(min_s=b.min_s, max_s=b.max_s, jitter=b.jitter, reset_after_s=b.reset_after_s)


def master_child(ctx: Context, cfg: Config, phone: str) -> ChildSpec:
    return ChildSpec(id=f"master:{phone}", actor="actors.session:MasterSession",
                     args={"ctx": ctx, "phone": phone}, restart="permanent",
                     shutdown=5.0, backoff=backoff(cfg))


def root_args(ctx: Context, cfg: Config) -> SupervisorArgs:
    worker = dict(args=ctx, restart="permanent", shutdown=5.0, backoff=backoff(cfg))
    children = []
    if ctx.transport == "sim":
        children.append(ChildSpec(id="sim", actor="actors.sim_network:SimNetwork", **worker))
    children += [
        ChildSpec(id="ha-monitor", actor="actors.ha_monitor:HAMonitor", **worker),
        ChildSpec(id="balancer", actor="actors.balancer.actor:Balancer", **worker),
        ChildSpec(id="admin", actor="actors.admin:AdminGateway", **worker),
        ChildSpec(id="masters", actor="actors.masters:MastersSupervisor",
                  args=SupervisorArgs(
                      flags=SupervisorFlags("one_for_one", cfg.supervisor.masters_intensity,
                                            cfg.supervisor.masters_period_s),
                      children=[], extra=ctx),
                  restart="permanent", shutdown=15.0, backoff=backoff(cfg)),
    ]
    return SupervisorArgs(
        flags=SupervisorFlags("one_for_one", cfg.supervisor.intensity, cfg.supervisor.period_s),
        children=children, extra=ctx)
