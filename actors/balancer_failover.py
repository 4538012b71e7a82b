"""The balancer's failover: a master declared failed (or dead) has its conversations and
outbox moved to healthy siblings, once, under the failover gate; with no healthy sibling
it waits and completes when one is usable (balancing/failover.py does the transaction)."""
from __future__ import annotations

import time

import structlog

from actors.messages import Alert, HealthChanged
from balancing import failover as fo
from storage import masters
from storage.faults import StoreFull

log = structlog.get_logger("balancer")


class BalancerFailover:
    """Needs from Balancer: cfg, state, store, device, views(), dispatch(), StoreRoom's methods."""

    def _health_changed(self, msg: HealthChanged) -> None:
        self._views = None   # health decides who is usable: never route on a stale view
        grace = self.cfg.failover.grace_s
        if msg.new == "failed":
            if grace > 0 and self.device.get(msg.phone) not in fo.DEAD_STATES:
                # A crash or hang its supervisor is already mending: moving every customer
                # (for good) over a restart of milliseconds is worse than the short wait.
                # Meanwhile its customers' messages wait for it (hold).
                self.in_grace.add(msg.phone)
                self.after(grace, f"grace:{msg.phone}", msg.reason or "health failed")
            else:
                self.failover(msg.phone, msg.reason or "health failed")
        elif msg.new == "healthy":
            self.in_grace.discard(msg.phone)
            self.cancel_timer(f"grace:{msg.phone}")
            self._recovered(msg.phone)
        self.grant_budgets(msg.phone)   # health decides who may send its own replies
        self.dispatch_soon()

    def _grace_over(self, phone: str, reason: str) -> None:
        self.in_grace.discard(phone)
        with self.store.read() as txn:
            record = masters.get(txn, phone)
        if record is not None and record.health == "failed":
            self.failover(phone, f"{reason} (not back within {self.cfg.failover.grace_s:g} s)")

    def failover(self, phone: str, reason: str, automatic: bool = True, to: str | None = None,
                 completing: bool = False) -> fo.FailoverResult | None:
        """Move `phone`'s conversations away; None when it did not run (already done, paused, busy)."""
        if automatic and not completing and phone in self.state.down:
            return None   # this master is already failed over: one failover per failure
        decision = self.state.gate.acquire(phone, automatic=automatic and not completing)
        if not decision.allowed:
            if decision.reason == "paused" and phone not in self.state.down:
                self.state.down.add(phone)
                self._save(lambda txn: masters.update(txn, phone, failover_paused=True))
                self._alert("critical", "failover_paused", phone,
                            f"automatic failover of {phone} is paused after {self.cfg.failover.max_per_window} "
                            f"failovers in {self.cfg.failover.window_s:g} s: whitecaves failover resume {phone}")
            elif decision.reason == "running":
                self.state.waiting.setdefault(phone, {"reason": reason, "since": time.time(), "to": to})
                self._save()
            return None
        self.state.down.add(phone)
        # Noted before the transaction: a balancer that dies mid-way completes it after its restart.
        self.state.waiting[phone] = {"reason": reason, "to": to,
                                     "since": self.state.waiting.get(phone, {}).get("since", time.time())}
        self._save()
        if not completing:
            self._alert("critical", "failover_started", phone, f"failover of {phone} started: {reason}")
        started = time.time()
        try:
            views = self.views(fresh=True)
            result = self.store.write(lambda txn: fo.run_failover(
                txn, phone, views, reason, self.cfg.failover.note, to=to, started=started,
                notes_mode=self.cfg.failover.note_mode))
        except StoreFull as e:   # nothing moved; it waits (state.waiting) and is run again with room
            self.state.gate.release(phone)
            self.store_full(e)
            return None
        except Exception as e:  # rolled back: nothing moved
            log.exception("failover_failed", master=phone)
            error = repr(e)
            result = self.held_write(lambda txn: fo.record_failed(txn, phone, reason, error, started))
            self.state.gate.release(phone)
            self.state.waiting.pop(phone, None)
            self._save()
            self._alert("critical", "failover_failed", phone, f"failover of {phone} failed: {e}")
            return result
        self.state.gate.release(phone)
        self._views = None
        if result.status != "waiting":
            self.state.waiting.pop(phone, None)
            self._alert("info", "failover_completed", phone,
                        f"failover of {phone} completed: {result.moved} "
                        f"conversation{'' if result.moved == 1 else 's'} to "
                        + (", ".join(f"{p} ({n})" for p, n in result.targets.items()) or "nobody")
                        + f" in {result.duration_s * 1000:.0f} ms")
        self._save()
        log.info("failover", master=phone, status=result.status, moved=result.moved,
                 targets=result.targets, retargeted=result.retargeted, waiting=result.waiting,
                 duration_s=result.duration_s, event_seq=result.event)
        if not any(v.healthy for v in self.views()):
            self._alert("critical", "all_masters_down", None,
                        "no master is healthy: outbound messages are held in the outbox")
        self.dispatch()
        return result

    def _recovered(self, phone: str) -> None:
        with self.store.read() as txn:
            record = masters.get(txn, phone)
        if record is None or record.health == "failed" and self.device.get(phone) != "connected":
            return
        changed = phone in self.state.down or phone in self.state.waiting
        if phone in self.state.down:
            self.state.down.discard(phone)
            self.recovering.add(phone)
            log.info("master_recovered", master=phone)
        self.state.waiting.pop(phone, None)   # back before any sibling: it keeps its conversations
        self._views = None
        if changed:   # (every master's first connect at start wrote the same state, 500 commits)
            self._save()
        self._complete_waiting()

    def _complete_waiting(self) -> None:
        if not self.state.waiting:   # (before views(): each of 500 masters connecting recounted all)
            return
        healthy = {v.phone for v in self.views() if v.healthy}
        if not healthy:
            return
        for phone, info in list(self.state.waiting.items()):
            if info.get("to") and info["to"] not in healthy:
                continue   # `failover run --to` waits for that master only
            self.failover(phone, info.get("reason", ""), to=info.get("to"), completing=True)

    def _alert(self, level: str, kind: str, master: str | None, text_: str) -> None:
        # The HA monitor logs the alert itself, at its level; here only that it was passed on.
        log.debug("alert_raised", alert_level=level, kind=kind, master=master)
        monitor = self.peers.get("ha-monitor")
        if monitor is not None:
            self.send(monitor, Alert(level, kind, master, text_, time.time()))

    def _save(self, extra=None) -> None:
        def write(txn):
            fo.save_state(txn, self.state)
            if extra is not None:
                extra(txn)
        self.held_write(write, key="state" if extra is None else None)   # the state saved whole

    # ------------------------------------------------------------------ dispatch
