"""The HA monitor: heartbeats in; health states, restarts of hung sessions, alerts and metrics out.

A thin shell over health/book.py (the health of every master),
alerts.py (levels, de-duplication) and record.py (what is kept in LMDB).
On every health transition it writes the master's health, an event and the
change history in one transaction, then tells the balancer (HealthChanged:
`failed` starts a failover). Alerts (its own, and the balancer's `Alert`s)
pass the gate, are stored, and are queued to every admin in the outbox.
It rebuilds its trackers and gate from LMDB when it restarts.
"""
from __future__ import annotations

import os
import time

import structlog
from thespian.actors import ThespianWatch, WatchMessage

from health import record
from health.storage_alerts import any_new_quarantined, quarantine_alerts
from health.alerts import AlertGate, all_down_alert, make_alert, queue_alerts, transition_alerts
from health.book import GiveUp, HealthBook, Restart, eval_interval, policy_from
from actors import store_room
from actors.ha_probes import ProbesMixin
from actors.store_room import StoreRoom
from actors.messages import (AdminReply, Alert, DeviceStateChanged, HealthChanged, MonitorStatus,
                             Heartbeat, OutboxChanged)
from runtime.beatboard import BeatReader
from runtime.pidwatch import PidWatch
from runtime import config, logs, procs
from storage import Store, events, masters, metrics
from supervision import messages as sup
from supervision.actor import SupervisedActor
from supervision.thespian_internals import close_idle_sockets_after

log = structlog.get_logger("ha-monitor")

SYNC_S = 2.0           # re-read which masters should run (decodes every master: 4 % of a core at 500 every 0.5 s;
                       # a new master is synced at its first heartbeat, a stopped one at its process end)
SAMPLE_S = 1.0         # queue depth sample (and its alerts)
SAVE_HISTORY_S = 10.0  # persist the queue-depth history
# The whole tree's restart counts (for the metrics): every session's status crosses three
# processes, so at hundreds of masters once a second was a steady idle cost.
TREE_SAMPLE_S = 30.0   # (every 10 s: the masters supervisor and the root at 0.8 % of a core with 500 masters)
IDLE_SOCKET_S = 5.0    # a connection unused this long is closed (sessions write beats to the board)


class HAMonitor(ProbesMixin, StoreRoom, SupervisedActor):   # store_room.py: a full disk
    def on_start(self, ctx):
        self.ctx = ctx
        self.cfg = config.load(ctx.home)
        logs.configure(self.cfg.logging.level, actor="ha-monitor")
        self.store = Store(ctx.home)
        self.book = HealthBook(policy_from(self.cfg.health))
        # Its periodic look every twentieth of a heartbeat; a session's end wakes it at once through
        # the pidfds (receiveMessage's watch), so no 50 ms tick turning thespian's loop for that.
        self.tick_s = eval_interval(self.cfg.health.heartbeat_s)
        self.start_probes(policy_from(self.cfg.health))   # the siblings: actors/ha_probes.py
        now = time.time()
        with self.store.read() as txn:
            running = {m.phone for m in masters.all(txn) if m.desired == "running"}
            for data in record.load_trackers(txn):
                if data.get("phone") in running:
                    self.book.restore(data, now)
            self.gate: AlertGate = record.load_gate(txn, self.cfg.alerts.repeat_s)
            self.queue = record.load_queue_history(txn, SAMPLE_S)
        self.book.sync(running, now)
        # Ended sessions are noticed through pidfds, not by asking every pid each tick (runtime/pidwatch.py)
        self.pidwatch, self.gone = PidWatch(), set()
        for pid in self.book.pids.values():
            self.pidwatch.watch(pid)
        self.last_eval = self.last_tree = 0.0
        self.beats = BeatReader(ctx.home)   # the sessions' periodic heartbeats (runtime/beatboard.py)
        close_idle_sockets_after(IDLE_SOCKET_S)
        self.held_write(lambda txn: [record.note_state(txn, phone, t.state, now)
                                      for phone, t in self.book.trackers.items()])
        self.last_sync = self.last_sample = self.last_save = time.monotonic()
        self.queue_depth = 0
        self.restart_refs: dict[str, str] = {}   # RestartChild ref → phone
        self.dead_refs: dict[str, list] = {}     # WhichChildren ref → [(phone, pid)] found gone
        self.tree_ref = ""
        self.tree_restarts: dict[str, int] = {}  # actor id → restarts, as the supervisors count them
        self.metrics_server = None   # a thread of this process; its socket ends with the process
        if self.cfg.metrics.port:
            from health.prom import serve
            self.metrics_server = serve(self, self.ctx.bind, self.cfg.metrics.port)
        self.after(self.tick_s, "tick")
        log.info("ha_monitor_started", masters=sorted(self.book.trackers), tick_s=self.tick_s,
                 metrics_port=self.cfg.metrics.port or None)

    def on_stop(self):
        """The daemon (or the monitor) stops on purpose: no data while it is down."""
        now = time.time()
        self.held_write(lambda txn: [record.note_state(txn, phone, "unknown", now)
                                      for phone in self.book.trackers])

    # ------------------------------------------------------------------ messages

    def on_message(self, msg, sender):
        now = time.time()
        if isinstance(msg, Heartbeat):
            if msg.phone not in self.book.trackers:
                self._sync(now)   # a master added since the last sync
            self._heartbeat(msg.phone, msg.device_state, msg.pid, now, now)
        elif isinstance(msg, DeviceStateChanged):
            self._transitions(self.book.device_state(msg.phone, msg.new, now), now)
        elif isinstance(msg, Alert):
            self._alert_from_peer(msg, now)
        elif isinstance(msg, sup.Children) and msg.ref == self.tree_ref:
            self.tree_restarts = restarts_by_actor(msg.children)
        elif isinstance(msg, sup.Children):
            self._supervisor_answered(msg, now)
        elif isinstance(msg, (sup.Done, sup.SupervisorError)):
            phone = self.restart_refs.pop(msg.ref, None)
            if isinstance(msg, sup.SupervisorError):
                log.warning("restart_refused", master=phone, error=msg.message)
        elif isinstance(msg, sup.Pong):
            self.pong(msg, sender)
        elif isinstance(msg, MonitorStatus):
            self.send(sender, AdminReply(msg.ref, True, data=self.status(now)))
        elif isinstance(msg, WatchMessage):
            self._ended(now)

    def receiveMessage(self, msg, sender):
        super().receiveMessage(msg, sender)
        pidwatch = getattr(self, "pidwatch", None)   # thespian wakes this actor when a session ends
        return None if pidwatch is None else ThespianWatch([pidwatch.fileno()])

    def on_timer(self, name, payload):
        if name == store_room.TIMER:   # a full disk: history and alerts held in memory until room returns
            self.on_store_room(then=self._alerts_written)
            return
        if name != "tick":
            return
        now, mono = time.time(), time.monotonic()
        stalled_s = self.book.stalled(mono, self.tick_s)
        if stalled_s:
            log.warning("monitor_stalled", stalled_s=round(stalled_s, 3), excused=sorted(self.book.trackers))
        self.probe_siblings(mono, stalled_s)
        if mono - self.last_sync >= SYNC_S:
            self.last_sync = mono
            self._sync(now)
            with self.store.read() as txn:
                quarantined = any_new_quarantined(txn)
            if quarantined:
                self._queued(self.held_write(lambda txn: self._store_alerts(txn, quarantine_alerts(txn, now))))
        self._ended(now)
        # Heartbeat ages matter to a twentieth of a heartbeat, not to a tick: at 500 masters,
        # re-evaluating every one every 50 ms was most of the monitor's idle CPU.
        if mono - self.last_eval >= 0.9 * self.tick_s:   # (a timer may fire a hair early)
            self.last_eval = mono
            self._board_beats(now)
            self._transitions(self.book.tick(now), now)
            for action in self.book.recoveries(now):
                self._recover(action)
        if mono - self.last_sample >= SAMPLE_S:
            self.last_sample = mono
            if self.parent is not None and mono - self.last_tree >= TREE_SAMPLE_S:   # restarts, for the metrics
                self.last_tree = mono
                self.tree_ref = f"tree:{os.urandom(4).hex()}"
                self.send(self.parent, sup.WhichChildren(self.tree_ref, recursive=True, timeout_s=0.5))
            self._sample(now, save=mono - self.last_save >= SAVE_HISTORY_S)
        self.after(self.tick_s, "tick")

    # ------------------------------------------------------------------ health

    def _heartbeat(self, phone: str, device: str, pid: int, at: float, now: float) -> None:
        self.pidwatch.watch(pid)
        transitions, restarted = self.book.heartbeat(phone, device, pid, at)
        if restarted:
            self.held_write(lambda txn: metrics.incr(txn, f"restarts:master:{phone}"))
        self._transitions(transitions, now)

    def _board_beats(self, now: float) -> None:
        """The beats sessions wrote to the heartbeat board since the last look (runtime/beatboard.py).
        One older than a heartbeat is no sign of life now (a slot left by an ended process)."""
        beats = [b for b in self.beats.changed() if now - b.ts <= self.cfg.health.heartbeat_s]
        if any(b.phone not in self.book.trackers for b in beats):
            self._sync(now)   # a master added since the last sync
        for b in beats:
            self._heartbeat(b.phone, b.device, b.pid, min(b.ts, now), now)

    def _ended(self, now: float) -> None:
        ended = {pid for pid in self.pidwatch.ended() if not self._alive(pid)}   # (the tests' seam)
        if ended:
            self.gone = (self.gone | ended) & set(self.book.pids.values())
            dead = self.book.dead_processes(lambda pid: pid not in self.gone)
            if dead:
                self._ask_supervisor_about(dead, now)

    def _alive(self, pid: int) -> bool:
        return procs.alive(pid)

    def _sync(self, now: float) -> None:
        with self.store.read() as txn:
            running = [m.phone for m in masters.all(txn) if m.desired == "running"]
        for phone in self.book.sync(running, now):
            self.held_write(lambda txn, phone=phone: masters.update(txn, phone, health="unknown"))
            log.info("master_untracked", master=phone, reason="stopped or removed")

    def _transitions(self, transitions, now: float) -> None:
        if not transitions:
            return
        # A process found dead may belong to a master just stopped on purpose: check first.
        self._sync(now)
        transitions = [t for t in transitions if t.phone in self.book.trackers]
        if not transitions:
            return
        alerts = [a for t in transitions for a in transition_alerts(t)]
        down = all_down_alert(self.book.health(), now)
        if down is not None:
            alerts.append(down)

        def write(txn):
            for t in transitions:
                record.record_transition(txn, t, self.book.trackers.get(t.phone))
            return self._store_alerts(txn, alerts)
        queued = self.held_write(write)
        balancer = self.peers.get("balancer")
        for t in transitions:
            emit = {"failed": log.error, "degraded": log.warning}.get(t.new, log.info)
            emit("health", master=t.phone, old=t.old, new=t.new, reason=t.reason)
            if balancer is not None:
                self.send(balancer, HealthChanged(t.phone, t.old, t.new, t.reason, t.ts))
        self._queued(queued)

    def _ask_supervisor_about(self, dead: list[tuple[str, int]], now: float) -> None:
        """A session process is gone: crashed, or stopped on purpose (master or daemon stop)?
        Its supervisor knows: a crashed child is restarting, a stopped one is stopped or
        gone, and a supervisor stopping every child does not answer at all."""
        target = self.peers.get("masters")
        if target is None:
            for phone, pid in dead:
                self._transitions(self.book.process_ended(phone, pid, now), now)
            return
        ref = f"dead:{os.urandom(4).hex()}"
        self.dead_refs[ref] = dead
        self.send(target, sup.WhichChildren(ref))

    def _supervisor_answered(self, msg, now: float) -> None:
        dead = self.dead_refs.pop(msg.ref, None)
        if dead is None:
            return
        states = {c.id: c.state for c in msg.children}
        for phone, pid in dead:
            state = states.get(f"master:{phone}")
            if state is None or state == "stopped":
                log.info("session_stopped", master=phone, pid=pid, supervisor_state=state)
                self._sync(now)   # stopped or removed on purpose: untrack it now, not at the next sync
                continue
            self._transitions(self.book.process_ended(phone, pid, now), now)

    def _recover(self, action) -> None:
        if isinstance(action, GiveUp):
            log.error("recovery_manual", master=action.phone, attempts=action.attempts)
            self.held_write(lambda txn: events.append(txn, "recovery_manual", action.phone,
                                                       attempts=action.attempts))
            return
        assert isinstance(action, Restart)
        target = self.peers.get("masters")
        log.warning("restart_hung_session", master=action.phone, attempt=action.attempt,
                    reason=action.reason, supervisor_known=target is not None)
        self.held_write(lambda txn: events.append(txn, "restart_requested", action.phone,
                                                   attempt=action.attempt, reason=action.reason))
        if target is not None:
            ref = sup_ref(action.phone, action.attempt)
            self.restart_refs[ref] = action.phone
            self.send(target, sup.RestartChild(ref=ref, child_id=f"master:{action.phone}", kill=True))

    # ------------------------------------------------------------------ alerts

    def _alert_from_peer(self, msg: Alert, now: float) -> None:
        try:
            alert = make_alert(msg.kind, msg.master, msg.text, msg.ts or now, getattr(msg, "subject", None))
        except ValueError as e:
            log.warning("alert_rejected", error=str(e), kind=msg.kind, master=msg.master)
            return

        def write(txn):
            if msg.kind.startswith("failover_"):
                record.count_failover(txn, msg.master, msg.kind)
            return self._store_alerts(txn, [alert])
        self._queued(self.held_write(write))

    def _alerts_written(self) -> bool:
        """Held alerts are in the outbox now: the balancer looks (they were not announced)."""
        self._queued(1)
        return True

    def tell_store_fault(self, level: str, kind: str, text: str) -> None:
        """Its own write found the disk full (actors/store_room.py): alerted as a peer's would be."""
        self._alert_from_peer(Alert(level, kind, None, text, time.time()), time.time())

    def _store_alerts(self, txn, alerts) -> int:
        """Gate, store and queue alerts inside the caller's write; answers messages queued."""
        queued, passed = 0, False
        for alert in alerts:
            sent = self.gate.offer(alert)
            if sent is None:
                log.info("alert_held", kind=alert.kind, master=alert.master)
                continue
            passed = True
            queued += record.record_alert(txn, sent)
            emit = {"critical": log.error, "warning": log.warning}.get(sent.level, log.info)
            emit("alert", alert_level=sent.level, kind=sent.kind, master=sent.master, text=sent.text,
                 repeats=sent.repeats)
        if alerts:
            record.save_gate(txn, self.gate)
        return queued if passed else 0

    def _queued(self, queued: int) -> None:
        if queued and "balancer" in self.peers:
            self.send(self.peers["balancer"], OutboxChanged("alert"))

    def _sample(self, now: float, save: bool) -> None:
        with self.store.read() as txn:
            self.queue_depth = record.queue_depth(txn)
            periodic = record.periodic_alerts(txn, self.book.health(), now) if save else []
        self.queue.add(now, self.queue_depth)
        alerts = queue_alerts(self.queue_depth, now, self.cfg.alerts.queue_warning, self.cfg.alerts.queue_critical)
        alerts += periodic   # uptime and balance change slowly: looked at when the history is saved

        def write(txn):
            if save:
                record.save_queue_history(txn, self.queue)
            return self._store_alerts(txn, alerts) if alerts else 0
        if save or alerts:
            if save:
                self.last_save = time.monotonic()
            self._queued(self.held_write(write))

    # ------------------------------------------------------------------ views

    def status(self, now: float) -> dict:
        """For MonitorStatus (health status, the dashboard) and the metrics endpoint (read from its thread)."""
        return {"pid": os.getpid(), "tick_s": self.tick_s, "queue_depth": self.queue_depth, "masters": {
            phone: {"health": t.state, "reason": t.reason, "device": t.device,
                    "heartbeat_age_s": None if t.heartbeat_age(now) is None else round(t.heartbeat_age(now), 3),
                    "pid": self.book.pids.get(phone), "recovery_attempts": t.recovery_attempts}
            for phone, t in list(self.book.trackers.items())}}


def restarts_by_actor(children, out: dict[str, int] | None = None) -> dict[str, int]:
    """{actor id: restarts} over a WhichChildren answer, sub-supervisors included."""
    out = {} if out is None else out
    for child in children:
        out[child.id] = child.restarts
        if child.children:
            restarts_by_actor(child.children, out)
    return out


def sup_ref(phone: str, attempt: int) -> str:
    return f"restart:{phone}:{attempt}:{os.urandom(3).hex()}"

