"""The admin gateway: runs the commands `whitecaves` and admins' chat messages ask for.

A command is one function in the registry (commands/registry.py). The root
passes each AdminRequest here; the gateway looks the command up and runs it
(`runs_in="gateway"`), or passes it to the balancer (`runs_in="balancer"`) and
relays the answer. A command that needs another actor's answer returns what
`ask_peer` gives (Pending) or a Poll, and the gateway replies when the answer
arrives, its own loop free meanwhile. A request a chat command forwarded is
answered to the admin over WhatsApp, through the outbox.
"""
from __future__ import annotations

import time
from datetime import timedelta

import structlog
from thespian.actors import WakeupMessage

from actors import store_room
from actors.masters import master_child
from actors.store_room import StoreRoom
from agents import timers as lead_timers
from actors.messages import AdminReply, AdminRequest, Link, MonitorStatus, OutboxChanged, ToMaster, new_ref
from chat.dispatch import format_forwarded
from commands import registry
from commands.registry import CommandError, Poll
from runtime import config, logs
from runtime.phone import BadPhone
from storage import Store, outbox
from storage.faults import StoreFull, StoreReplaced
from supervision import messages as sup
from supervision.actor import SupervisedActor

log = structlog.get_logger("admin")
ASK_TIMEOUT_S = 10.0
LICENCE_FIRST_S = 5.0   # the first licence check soon after a start, then daily


class Pending:
    """A command's answer that waits for another actor's reply (matched by ref)."""
    def __init__(self, ref, target, msg, then, timeout):
        self.ref, self.target, self.msg, self.then, self.timeout = ref, target, msg, then, timeout


class AdminGateway(StoreRoom, SupervisedActor):   # store_room.py: its timers' writes on a full disk
    def on_start(self, ctx):
        self.ctx = ctx
        self.cfg = config.load(ctx.home)
        logs.configure(self.cfg.logging.level, actor="admin")
        self.store = Store(ctx.home)
        self.waiting: dict[str, tuple] = {}  # our ref → (reply_to, request, then(answer) → data)
        self.arm_leads()
        self.after(LICENCE_FIRST_S, "licences")

    # --- the leads' clocks (agents/timers.py) ----------------------------------------

    def arm_leads(self) -> None:
        """(Re)arm the accept timer for the earliest offer's deadline (at least every accept_timeout_s)."""
        with self.store.read() as txn:
            self.after(lead_timers.next_in(txn, time.time(), self.cfg.leads), "leads")

    def on_timer(self, name: str, payload) -> None:
        try:
            if name == "leads":
                if self.store.write(lambda txn: lead_timers.expire_due(txn, time.time(), self.cfg.leads)):
                    self.poke_balancer("lead handed on")
                self.arm_leads()
            elif name == "licences":
                if self.store.write(lambda txn: lead_timers.licence_due(txn, time.time())):
                    self.poke_balancer("licence alert")
                self.after(lead_timers.DAY_S, "licences")
        except StoreFull as e:   # nothing of it written: the same timer again soon (actors/store_room.py)
            self.store_full(e)
            self.after(store_room.RETRY_S, name)
        if name == store_room.TIMER:
            self.on_store_room()

    def on_message(self, msg, sender):
        if isinstance(msg, AdminRequest):
            self._request(msg, msg.reply_to or sender)
        elif isinstance(msg, WakeupMessage) and isinstance(msg.payload, str):
            self._answered(msg.payload, None)
        elif isinstance(msg, WakeupMessage) and isinstance(msg.payload, Poll):
            self._poll(msg.payload)
        elif getattr(msg, "ref", None) in self.waiting:
            self._answered(msg.ref, msg)

    # --- running a command ---------------------------------------------------------

    def _request(self, msg: AdminRequest, reply_to) -> None:
        cmd = registry.get(msg.command)
        if cmd is None or cmd.runs_in == "session":
            self._reply(msg, reply_to, AdminReply(msg.ref, False, error=f"unknown command {msg.command!r}", code=2))
            return
        self._run(msg, reply_to, lambda: self._call(cmd, msg))

    def _call(self, cmd, msg: AdminRequest):
        if cmd.check is not None:
            with self.store.read() as txn:
                cmd.check(txn, **msg.args)
        if cmd.runs_in == "balancer":
            return self.ask_balancer(cmd.name, **msg.args)
        return cmd.fn(self, **msg.args)

    def _run(self, request: AdminRequest, reply_to, step) -> None:
        """Run one step of a command; reply with its data, its error, or wait for what it waits for."""
        try:
            data = step()
        except CommandError as e:
            self._reply(request, reply_to, AdminReply(request.ref, False, error=str(e), code=e.code))
            return
        except BadPhone as e:
            self._reply(request, reply_to, AdminReply(request.ref, False, error=str(e), code=2))
            return
        except (StoreFull, StoreReplaced) as e:   # nothing was written; a full disk may find room again
            if isinstance(e, StoreFull):
                self.store_full(e)   # and the admins hear of it (actors/store_room.py)
            self._reply(request, reply_to, AdminReply(request.ref, False, error=str(e), code=1))
            return
        except TypeError as e:  # wrong arguments from a caller: a usage error, not a crash
            self._reply(request, reply_to, AdminReply(request.ref, False, error=f"{request.command}: {e}", code=2))
            return
        if isinstance(data, Pending):
            self.waiting[data.ref] = (reply_to, request, data.then)
            self.send(data.target, data.msg)
            self.wakeupAfter(timedelta(seconds=data.timeout), payload=data.ref)
        elif isinstance(data, Poll):
            data.request, data.reply_to = request, reply_to
            data.deadline = time.monotonic() + data.timeout
            self.wakeupAfter(timedelta(seconds=data.every), payload=data)
        else:
            self._reply(request, reply_to, AdminReply(request.ref, True, data=data))

    def _poll(self, poll: Poll) -> None:
        def step():
            result = poll.check()
            if result is None and time.monotonic() < poll.deadline:
                return poll    # not yet: look again
            return poll.then(result)
        if poll.request is not None:
            self._run(poll.request, poll.reply_to, step)

    def _answered(self, ref: str, answer) -> None:
        entry = self.waiting.pop(ref, None)
        if entry is None:
            return  # answered already; this is the timeout wakeup
        reply_to, request, then = entry
        self._run(request, reply_to, lambda: then(answer))

    def _reply(self, request: AdminRequest, reply_to, reply: AdminReply) -> None:
        """Answer the CLI, or, for a request a chat command forwarded, the admin over WhatsApp."""
        if not request.chat_to:
            self.send(reply_to, reply)
            return
        texts = format_forwarded(request.chat_command, reply.ok, reply.data, reply.error)

        def queue(txn):
            for i, body in enumerate(texts):
                outbox.enqueue(txn, request.chat_to, body, kind="reply", key=f"chat:{request.ref}:{i}")
        self.store.write(queue)
        self.poke_balancer("chat command answer")

    # --- what commands may ask of the gateway ----------------------------------------

    def ask_peer(self, peer: str, make_msg, then, timeout: float = ASK_TIMEOUT_S) -> Pending:
        target = self.peers.get(peer)
        if target is None:
            raise CommandError(f"the {peer} actor is restarting; try again in a moment")
        ref = new_ref()
        return Pending(ref, target, make_msg(ref), then, timeout)

    def ask_balancer(self, command: str, then=None, on_silence=None, **args) -> Pending:
        """Run the balancer command `command` with `args`; `then(data)` shapes its answer.

        `on_silence(why)`, when given, answers instead of an error when the balancer
        is restarting or does not answer in time (a send that is queued all the same)."""
        def answered(reply):
            if reply is None and on_silence is not None:
                return on_silence("the balancer did not answer in time")
            data = _balancer_answer(reply)
            return then(data) if then else data
        try:
            return self.ask_peer("balancer", lambda ref: AdminRequest(command, args, ref=ref), answered)
        except CommandError as e:
            if on_silence is None:
                raise
            return on_silence(str(e))

    def poke_balancer(self, reason: str) -> None:
        """Tell the balancer the outbox has new entries."""
        balancer = self.peers.get("balancer")
        if balancer is not None:
            self.send(balancer, OutboxChanged(reason))

    def start_master(self, phone: str, then) -> Pending:
        """Start `phone`'s session; `then(note)` once it runs (note: "it was already running" or "")."""
        spec = master_child(self.ctx, self.cfg, phone)

        def started(answer):
            if isinstance(answer, sup.SupervisorError) and "already" in answer.message:
                return then("it was already running")
            _expect_done(answer)
            return then("")
        return self.ask_peer("masters", lambda ref: sup.StartChild(ref=ref, spec=spec), started)

    def stop_master(self, phone: str, then) -> Pending:
        """Stop `phone`'s session and forget its spec (OTP: terminate_child, then delete_child);
        `then()` once it is gone. A master not running (stopped before) is fine."""
        child = f"master:{phone}"

        def forget(answer):
            if isinstance(answer, sup.SupervisorError) and answer.code != "not_found":
                raise CommandError(f"could not stop master {phone}: {answer.message}")
            _expect_answer(answer)
            return then()

        def terminated(answer):
            if isinstance(answer, sup.SupervisorError) and answer.code != "not_found":
                raise CommandError(f"could not stop master {phone}: {answer.message}")
            _expect_answer(answer)
            return self.ask_peer("masters", lambda ref: sup.DeleteChild(ref=ref, child_id=child), forget)
        return self.ask_peer("masters", lambda ref: sup.TerminateChild(ref=ref, child_id=child), terminated)

    def link_master(self, phone: str, code: bool, relink: bool, then) -> Pending:
        """Ask `phone`'s session to pair (through the balancer, which knows the sessions); `then()`
        once pairing started."""
        def started(answer):
            if answer is None:
                raise CommandError(f"the session of {phone} did not answer in time")
            if not answer.ok:
                raise CommandError(f"{answer.error} (it may be starting: try again in a moment)")
            return then()
        return self.ask_peer("balancer", lambda ref: ToMaster(
            phone, Link(code=code, relink=relink, ref=ref, reply_to=self.myAddress),
            reply_to=self.myAddress, ref=ref), started)

    def monitor_status(self, then, timeout: float = 3.0):
        """Ask the HA monitor for its live view (heartbeat ages); `then(status or None)`."""
        def answered(answer):
            return then(answer.data if answer is not None and getattr(answer, "ok", False) else None)
        try:
            return self.ask_peer("ha-monitor", MonitorStatus, answered,
                                 timeout=timeout)
        except CommandError:
            return then(None)   # the monitor is restarting: show what LMDB knows


def _expect_done(answer) -> None:
    if answer is None:
        raise CommandError("the masters supervisor did not answer in time")
    if isinstance(answer, sup.SupervisorError):
        raise CommandError(answer.message)


def _expect_answer(answer) -> None:
    if answer is None:
        raise CommandError("the masters supervisor did not answer in time")


def _balancer_answer(reply):
    if reply is None:
        raise CommandError("the balancer did not answer in time; try again")
    if not reply.ok:
        raise CommandError(reply.error, code=reply.code or 1)
    return reply.data
