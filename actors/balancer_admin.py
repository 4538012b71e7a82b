"""The balancer's side of its commands (strategy, resume, restore, watching a send, live figures), and what it tells the admins about stored values it refuses.

A mixin of the Balancer actor (actors/balancer.py), kept apart so each file
stays readable. The commands themselves are in balancing/commands.py; the
gateway passes them here as AdminRequests and relays the AdminReply.
"""
from __future__ import annotations

import time

import structlog

from actors import store_room
from actors.messages import AdminReply, AdminRequest
from balancing import failover as fo
from balancing.handover import plan_restore
from commands import registry
from commands.registry import CommandError, UsageError
from runtime.vocabulary import DEAD_DEVICE_STATES, STRATEGIES
from storage import masters, outbox
from storage.faults import StoreFull

log = structlog.get_logger("balancer")
THROUGHPUT_WINDOW_S = 60.0


class BalancerAdmin:
    """What the balancer's commands (balancing/commands.py, `runs_in="balancer"`) call."""

    def run_command(self, msg: AdminRequest, sender) -> None:
        """An AdminRequest the gateway passed on: run its command here and answer it.

        A command that answers later (send.watch) returns None and answers itself."""
        cmd = registry.get(msg.command)
        if cmd is None or cmd.runs_in != "balancer":
            self.send(sender, AdminReply(msg.ref, False, error=f"not a balancer command: {msg.command!r}", code=2))
            return
        self.asking = (msg.ref, sender)
        held = self.held_count
        try:
            data = cmd.fn(self, **msg.args)
        except CommandError as e:
            self.send(sender, AdminReply(msg.ref, False, error=str(e), code=e.code))
            return
        except StoreFull as e:   # nothing of it was written
            self.store_full(e)
            self.send(sender, AdminReply(msg.ref, False, error=str(e), code=1))
            return
        finally:
            self.asking = None
        if data is not None and self.held_count > held:   # a person must know it is not on disk yet
            self.send(sender, AdminReply(msg.ref, False, code=1, error=(
                f"{msg.command}: done, but the disk of the store is full: kept in memory and written "
                f"when room returns (lost if the balancer restarts first)")))
            return
        if data is not None:
            self.send(sender, AdminReply(msg.ref, True, data=data))

    def set_strategy(self, name: str) -> dict:
        if name not in STRATEGIES:
            raise UsageError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGIES)}")
        old, self.state.strategy = self.state.strategy, name
        self._save()
        log.info("strategy_changed", old=old, new=name)
        return {"strategy": name, "previous": old}

    def resume_failover(self, phone: str) -> dict:
        self.state.gate.resume(phone)
        self.state.down.discard(phone)
        self._save(lambda txn: masters.update(txn, phone, failover_paused=False))
        if self.device.get(phone) in DEAD_DEVICE_STATES:
            self.failover(phone, f"device {self.device[phone]} (after resume)")
        else:
            self._recovered(phone)
        return {"resumed": phone}

    def restore(self, phone: str) -> dict:
        # connected is enough: a master kept out by a manual failover is not "usable" yet
        if self.device.get(phone) != "connected" or phone not in self.sessions:
            raise CommandError(f"master {phone} is not connected (device {self.device.get(phone, 'unknown')}); "
                               f"restore it once it is connected")
        self.state.down.discard(phone)
        self._save()
        with self.store.read() as txn:
            pairs = fo.handed_over(txn, phone)
        f = self.cfg.failover
        self.restoring[phone] = plan_restore(phone, pairs, max(1, f.restore_batch), max(0.01, f.restore_step_s))
        self.restoring_step[phone] = 0
        first = self._restore_batch(phone)
        plan = self.restoring.get(phone)
        return {"restored": phone, "count": first, "total": len(pairs),
                "batches": len(plan.batches) if plan else 1, "step_s": f.restore_step_s}

    def watch_send(self, entry_id: int, key: str, wait_s: float) -> dict | None:
        """Answer the asker once the entry is sent (or, after `wait_s`, with its state)."""
        with self.store.read() as txn:
            if outbox.get(txn, entry_id) is None:
                known = outbox.key_record(txn, key) or {}
                return {"id": entry_id, "state": "sent", "master": known.get("master")}
        self.dispatch()
        ref, sender = self.asking
        self.watchers.setdefault(entry_id, []).append((ref, sender, time.time() + wait_s))
        return None

    def _restore_batch(self, phone: str) -> int:
        """Move the next batch of a restore back to `phone`; arm the timer for the one after."""
        plan, step = self.restoring.get(phone), self.restoring_step.get(phone, 0)
        if plan is None or step >= len(plan.batches):
            self.restoring.pop(phone, None)
            return 0
        if step and not any(v.phone == phone and v.healthy for v in self.views(fresh=True)):
            log.warning("restore_stopped", master=phone, reason="not healthy any more")
            self.restoring.pop(phone, None)
            return 0
        batch = set(plan.batches[step])
        try:
            data = self.store.write(lambda txn: fo.run_restore(txn, phone, self.cfg.failover.note, batch))
        except StoreFull as e:   # nothing moved back: this step again with room (actors/store_room.py)
            self.store_full(e)
            self.after(store_room.RETRY_S, f"restore:{phone}")
            return 0
        self.restoring_step[phone] = step + 1
        if step + 1 < len(plan.batches):
            self.after(plan.step_s, f"restore:{phone}")
        else:
            self.restoring.pop(phone, None)
        self._views = None
        self.dispatch()
        return data["count"]

    def on_timer(self, name, payload):
        if name.startswith("restore:"):
            self._restore_batch(name.removeprefix("restore:"))
        elif name in ("dispatch", "dispatch-soon"):
            self.dispatch()
        elif name.startswith("grace:"):
            self._grace_over(name.removeprefix("grace:"), payload)
        elif name == store_room.TIMER:   # room again: held saves, then waiting failovers and sends
            self.on_store_room(then=self._room_again)

    def _room_again(self) -> bool:
        """Held saves are written: the failovers that waited for room, then the sends."""
        self._complete_waiting()
        self.dispatch()
        return True

    def status(self) -> dict:
        now = time.time()
        throughput = {}
        for phone, times in self.sent_log.items():
            while times and now - times[0] > THROUGHPUT_WINDOW_S:
                times.popleft()
            throughput[phone] = round(len(times) / THROUGHPUT_WINDOW_S, 3)
        in_flight: dict[str, int] = {}
        for master, _ in self.in_flight.values():
            in_flight[master] = in_flight.get(master, 0) + 1
        return {"strategy": self.state.strategy, "in_flight": in_flight, "devices": dict(self.device),
                "throughput_per_s": throughput, "down": sorted(self.state.down),
                "waiting": self.state.waiting, "recovering": sorted(self.recovering),
                "paused": sorted(self.state.gate.paused_set), "restoring": sorted(self.restoring),
                "running": sorted(p for p in self.state.gate.locks if self.state.gate.running(p))}

    def _refused_value(self, refusal: tuple[str, str, str]) -> None:
        """A stored master field that would not pass `master add`: routed on a safe value; said once."""
        if refusal in self.refusals_said:
            return
        self.refusals_said.add(refusal)
        phone, field_name, why = refusal
        log.warning("stored_value_refused", master=phone, field=field_name, why=why)
        self._alert("warning", "stored_value_refused", phone,
                    f"master {phone}: stored {why}; routed on a safe value until it is fixed "
                    f"(whitecaves master remove/add)")
