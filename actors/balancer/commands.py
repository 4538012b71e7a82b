"""The balancer's admin commands: what only the balancer can do (failover, strategy, restore, live figures).

A mixin of the Balancer actor (actor.py), kept apart so each file stays readable.
The admin gateway sends a BalancerCommand and gets an AdminReply with the same ref.
"""
from __future__ import annotations

import time

import structlog

from actors.balancer import failover as fo
from actors.balancer.handover import plan_restore
from actors.balancer.strategies import STRATEGIES
from actors.messages import AdminReply
from storage import masters, outbox
from storage.codec import text

log = structlog.get_logger("balancer")
THROUGHPUT_WINDOW_S = 60.0


class BalancerCommand:
    """Admin gateway → balancer: a command only the balancer can carry out; answered with AdminReply(ref)."""
    def __init__(self, ref: str, command: str, args: dict | None = None):
        self.ref, self.command, self.args = ref, command, args or {}


class Refused(Exception):
    """The command is fine but cannot be carried out now (exit status 1, not a usage error)."""


class BalancerCommands:
    # ------------------------------------------------------------------ admin commands

    def _command(self, msg: BalancerCommand, sender) -> None:
        try:
            data = self._run_command(msg, sender)
        except ValueError as e:
            self.send(sender, AdminReply(msg.ref, False, error=str(e), code=2))
            return
        except Refused as e:
            self.send(sender, AdminReply(msg.ref, False, error=str(e), code=1))
            return
        if data is not None:
            self.send(sender, AdminReply(msg.ref, True, data=data))

    def _run_command(self, msg: BalancerCommand, sender):
        a = msg.args
        if msg.command == "failover.run":
            result = self.failover(a["phone"], a.get("reason") or "manual failover", automatic=False,
                                   to=a.get("to"))
            if result is None:
                raise Refused(f"a failover of {a['phone']} is already running; try again in a moment")
            return result.as_dict()
        if msg.command == "failover.resume":
            self.state.gate.resume(a["phone"])
            self.state.down.discard(a["phone"])
            self._save(lambda txn: masters.update(txn, a["phone"], failover_paused=False))
            if self.device.get(a["phone"]) in fo.DEAD_STATES:
                self.failover(a["phone"], f"device {self.device[a['phone']]} (after resume)")
            else:
                self._recovered(a["phone"])
            return {"resumed": a["phone"]}
        if msg.command == "failover.restore":
            phone = a["phone"]
            # connected is enough: a master kept out by a manual failover is not "usable" yet
            if self.device.get(phone) != "connected" or phone not in self.sessions:
                raise Refused(f"master {phone} is not connected (device {self.device.get(phone, 'unknown')}); "
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
        if msg.command == "balancer.strategy":
            if a["name"] not in STRATEGIES:
                raise ValueError(f"unknown strategy {a['name']!r}; valid: {', '.join(STRATEGIES)}")
            old, self.state.strategy = self.state.strategy, a["name"]
            self._save()
            log.info("strategy_changed", old=old, new=a["name"])
            return {"strategy": a["name"], "previous": old}
        if msg.command == "send.watch":
            entry_id = int(a["id"])
            with self.store.read() as txn:
                pending = outbox.get(txn, entry_id) is not None
                if not pending:
                    known = txn.get("outbox_keys", text(a.get("key", ""))) or {}
                    return {"id": entry_id, "state": "sent", "master": known.get("master")}
            self.dispatch()
            self.watchers.setdefault(entry_id, []).append((msg.ref, sender, time.time() + float(a.get("wait_s", 2.0))))
            return None
        if msg.command == "balancer.status":
            return self.status()
        raise ValueError(f"unknown balancer command {msg.command!r}")

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
        data = self.store.write(lambda txn: fo.run_restore(txn, phone, self.cfg.failover.note, batch))
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
