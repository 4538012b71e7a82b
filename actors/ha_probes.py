"""The HA monitor's probes of its siblings (balancer, admin gateway, masters supervisor, sim).

A mixin of HAMonitor (actors/ha_monitor.py), which owns the store, the alert
gate and `_store_alerts`; the rule is health/probes.py. A hung sibling is
logged, alerted (`actor_hung`), recorded as an event, and its supervisor (the
root) is asked to kill and restart it: `RestartChild(kill=True)`, as the
masters supervisor is for a hung session (docs/health.md).
"""
from __future__ import annotations

import os
import time

import structlog

from health.alerts import make_alert
from health.probes import Hung, ProbeBook
from storage import events
from supervision import messages as sup

log = structlog.get_logger("ha-monitor")


class ProbesMixin:
    def start_probes(self, policy) -> None:
        self.probes = ProbeBook(policy)

    def probe_siblings(self, mono: float, stalled_s: float) -> None:
        """On every tick: probe when due, and mend the siblings found hung."""
        if stalled_s:
            self.probes.excuse(stalled_s)
        targets = {cid: address for cid, address in self.peers.items()
                   if cid != self.child_id and address is not None}
        self.probes.sync(targets, mono)
        if self.probes.due(mono):
            for address in targets.values():
                self.send(address, sup.Ping("probe"))
        for hung in self.probes.hung(mono):
            self._hung_sibling(hung)

    def pong(self, msg: sup.Pong, sender) -> None:
        self.probes.answered(msg.child_id, sender, msg.pid, time.monotonic())

    def _hung_sibling(self, hung: Hung) -> None:
        now = time.time()
        text = (f"{hung.actor} (pid {hung.pid or '?'}) has not answered for {hung.silent_s:.1f} s: "
                f"killed and restarted by its supervisor")
        log.error("actor_hung", hung_actor=hung.actor, hung_pid=hung.pid, silent_s=hung.silent_s)

        def write(txn):
            events.append(txn, "actor_hung", None, actor=hung.actor, pid=hung.pid, silent_s=hung.silent_s)
            return self._store_alerts(txn, [make_alert("actor_hung", None, text, now, subject=hung.actor)])
        self._queued(self.held_write(write))
        if self.parent is not None:
            ref = f"hung:{hung.actor}:{os.urandom(3).hex()}"
            self.send(self.parent, sup.RestartChild(ref=ref, child_id=hung.actor, kill=True))
