"""The masters supervisor: one MasterSession per master whose desired state is running."""
from __future__ import annotations

from runtime import config
from runtime.config import Config
from runtime.context import Context
from storage import Store, masters
from supervision.spec import Backoff, ChildSpec
from supervision.supervisor import Supervisor


def backoff(cfg: Config) -> Backoff:
    """The [backoff] section as the supervisor's restart backoff (the formula is Backoff's)."""
    b = cfg.backoff
    return Backoff(min_s=b.min_s, max_s=b.max_s, jitter=b.jitter, reset_after_s=b.reset_after_s)


def master_child(ctx: Context, cfg: Config, phone: str) -> ChildSpec:
    return ChildSpec(id=f"master:{phone}", actor="actors.session:MasterSession",
                     args={"ctx": ctx, "phone": phone}, restart="permanent",
                     shutdown=5.0, backoff=backoff(cfg))


class MastersSupervisor(Supervisor):
    """Sessions are later children (supervision/supervisor.py): added once this supervisor has
    started, so one master's failing or slow start neither blocks nor fails the daemon's start;
    it is restarted with backoff like any crash. The flags (daemon/tree.py) start several
    at once and keep sibling addresses out of their peers."""

    def later_children(self, args):
        ctx = args.extra
        cfg = config.load(ctx.home)
        # Open, read, close: a child forked while we hold LMDB open would inherit the handle.
        with Store(ctx.home) as store, store.read() as txn:
            running = [m.phone for m in masters.all(txn) if m.desired == "running"]
        return [master_child(ctx, cfg, phone) for phone in running]
