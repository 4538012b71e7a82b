"""The masters supervisor: one MasterSession per master whose desired state is running."""
from __future__ import annotations

from actors.tree import master_child
from runtime import config
from storage import Store, masters
from supervision.supervisor import Supervisor


class MastersSupervisor(Supervisor):
    def initial_children(self, args):
        ctx = args.extra
        cfg = config.load(ctx.home)
        # Open, read, close: a child forked while we hold LMDB open would inherit the handle.
        with Store(ctx.home) as store, store.read() as txn:
            running = [m.phone for m in masters.all(txn) if m.desired == "running"]
        return list(args.children) + [master_child(ctx, cfg, phone) for phone in running]
