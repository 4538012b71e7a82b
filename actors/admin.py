"""The admin gateway: answers `whitecaves` commands sent through the root.

A command is one function registered with `@handler("name")`. It gets the
gateway and the request's arguments and returns the data to send back, or
raises CommandError. A handler that needs another actor's answer starts an
`ask` and the gateway replies when that answer arrives.
"""
from __future__ import annotations

import os
import time
from datetime import timedelta

import structlog
from thespian.actors import WakeupMessage

from actors.messages import AdminReply, AdminRequest, new_ref
from actors.tree import master_child
from masters import fields
from runtime import config, logs, procs
from runtime.phone import BadPhone, normalize
from storage import Store, admins, conversations, events, masters
from supervision.actor import SupervisedActor
from supervision import messages as sup

log = structlog.get_logger("admin")
HANDLERS = {}
ASK_TIMEOUT_S = 10.0


class CommandError(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def handler(name: str):
    def register(fn):
        HANDLERS[name] = fn
        return fn
    return register


class AdminGateway(SupervisedActor):
    def on_start(self, ctx):
        self.ctx = ctx
        self.cfg = config.load(ctx.home)
        logs.configure(self.cfg.logging.level, actor="admin")
        self.store = Store(ctx.home)
        self.waiting: dict[str, tuple] = {}  # our ref → (reply_to, request ref, then(answer) → data)

    def on_message(self, msg, sender):
        if isinstance(msg, AdminRequest):
            self._request(msg, msg.reply_to or sender)
        elif isinstance(msg, WakeupMessage) and isinstance(msg.payload, str):
            self._answered(msg.payload, None)
        elif isinstance(msg, WakeupMessage) and isinstance(msg.payload, Poll):
            self._poll(msg.payload)
        elif getattr(msg, "ref", None) in self.waiting:
            self._answered(msg.ref, msg)

    def _request(self, msg: AdminRequest, reply_to) -> None:
        fn = HANDLERS.get(msg.command)
        if fn is None:
            self._reply(msg, reply_to, AdminReply(msg.ref, False, error=f"unknown command {msg.command!r}", code=2))
            return
        try:
            data = fn(self, **msg.args)
        except CommandError as e:
            self._reply(msg, reply_to, AdminReply(msg.ref, False, error=str(e), code=e.code))
            return
        except BadPhone as e:
            self._reply(msg, reply_to, AdminReply(msg.ref, False, error=str(e), code=2))
            return
        except TypeError as e:  # wrong arguments from a caller: a usage error, not a crash
            self._reply(msg, reply_to, AdminReply(msg.ref, False, error=f"{msg.command}: {e}", code=2))
            return
        self._done_or_wait(msg, reply_to, data)

    def _done_or_wait(self, request: AdminRequest, reply_to, data) -> None:
        """Reply with `data`, or wait for what it says it waits for (Pending, Poll)."""
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

    def _poll(self, poll: "Poll") -> None:
        try:
            result = poll.check()
            if result is None and time.monotonic() < poll.deadline:
                self.wakeupAfter(timedelta(seconds=poll.every), payload=poll)
                return
            data = poll.then(result)
        except CommandError as e:
            self._reply(poll.request, poll.reply_to, AdminReply(poll.request.ref, False, error=str(e), code=e.code))
            return
        self._reply(poll.request, poll.reply_to, AdminReply(poll.request.ref, True, data=data))

    def _answered(self, ref: str, answer) -> None:
        entry = self.waiting.pop(ref, None)
        if entry is None:
            return  # answered already; this is the timeout wakeup
        reply_to, request, then = entry
        try:
            data = then(answer)
        except CommandError as e:
            self._reply(request, reply_to, AdminReply(request.ref, False, error=str(e), code=e.code))
            return
        self._done_or_wait(request, reply_to, data)

    def _reply(self, request: AdminRequest, reply_to, reply: AdminReply) -> None:
        """Answer the CLI, or, for a request a chat command forwarded, the admin over WhatsApp."""
        if not request.chat_to:
            self.send(reply_to, reply)
            return
        from actors.chat.registry import format_forwarded
        from actors.messages import OutboxChanged
        from storage import outbox

        texts = format_forwarded(request.chat_command, reply.ok, reply.data, reply.error)

        def queue(txn):
            for i, body in enumerate(texts):
                outbox.enqueue(txn, request.chat_to, body, kind="reply", key=f"chat:{request.ref}:{i}")
        self.store.write(queue)
        if "balancer" in self.peers:
            self.send(self.peers["balancer"], OutboxChanged("chat command answer"))

    def ask_peer(self, peer: str, make_msg, then, timeout: float = ASK_TIMEOUT_S) -> "Pending":
        target = self.peers.get(peer)
        if target is None:
            raise CommandError(f"the {peer} actor is restarting; try again in a moment")
        ref = new_ref()
        return Pending(ref, target, make_msg(ref), then, timeout)


class Pending:
    """A handler's answer that waits for another actor's reply (matched by ref)."""
    def __init__(self, ref, target, msg, then, timeout):
        self.ref, self.target, self.msg, self.then, self.timeout = ref, target, msg, then, timeout


class Poll:
    """A handler's answer that is ready once `check()` returns something other than None
    (checked every `every` s); at the timeout `then(None)` decides. The gateway's loop stays free."""
    def __init__(self, check, then, timeout: float, every: float = 0.5):
        self.check, self.then, self.timeout, self.every = check, then, timeout, every
        self.request = self.reply_to = None
        self.deadline = 0.0


def _known(gw, phone: str) -> masters.Master:
    phone = normalize(phone)
    with gw.store.read() as txn:
        record = masters.get(txn, phone)
        known = [m.phone for m in masters.all(txn)]
    if record is None:
        listing = ", ".join(known) if known else "none registered yet (whitecaves master add)"
        raise CommandError(f"unknown master {phone}; registered masters: {listing}")
    return record


def _expect_done(answer):
    if answer is None:
        raise CommandError("the masters supervisor did not answer in time")
    if isinstance(answer, sup.SupervisorError):
        raise CommandError(answer.message)
    return None


@handler("ping")
def ping(gw):
    return {"pong": True, "pid": os.getpid()}


@handler("masters.list")
def masters_list(gw):
    with gw.store.read() as txn:
        counts: dict[str, int] = {}
        for conv in conversations.all(txn):
            counts[conv.master] = counts.get(conv.master, 0) + 1
        out = []
        for m in masters.all(txn):
            running = m.desired == "running" and m.pid and procs.alive(m.pid)
            out.append({"phone": m.phone, "name": m.name, "role": m.role, "priority": m.priority,
                        "weight": m.weight, "region": m.region, "desired": m.desired,
                        "device_state": m.device_state, "health": m.health,
                        "conversations": counts.get(m.phone, 0),
                        "pid": m.pid if running else None})
    return out


@handler("master.add")
def master_add(gw, phone, name, role="primary", priority=0, weight=1.0, region=None):
    try:   # refused here, a bad weight or role never reaches the balancer (masters/fields.py)
        record = masters.Master(**fields.validate(phone, name, role, priority, weight, region))
    except fields.BadField as e:
        raise CommandError(str(e), code=2) from None
    phone = record.phone

    def add(txn):
        if masters.get(txn, phone) is not None:
            raise CommandError(f"master {phone} is already registered")
        masters.put(txn, record)
        events.append(txn, "master_added", phone, name=record.name, role=role)
    gw.store.write(add)
    spec = master_child(gw.ctx, gw.cfg, phone)
    return gw.ask_peer("masters", lambda ref: sup.StartChild(ref=ref, spec=spec),
                       lambda answer: _expect_done(answer) or {"added": phone})


@handler("master.remove")
def master_remove(gw, phone):
    record = _known(gw, phone)

    def forget(answer):
        def drop(txn):
            masters.delete(txn, record.phone)
            events.append(txn, "master_removed", record.phone)
        gw.store.write(drop)
        return {"removed": record.phone}
    return gw.ask_peer("masters", lambda ref: sup.DeleteChild(ref=ref, child_id=f"master:{record.phone}"),
                       forget)


@handler("master.start")
def master_start(gw, phone):
    record = _known(gw, phone)
    gw.store.write(lambda txn: masters.update(txn, record.phone, desired="running"))
    spec = master_child(gw.ctx, gw.cfg, record.phone)

    def started(answer):
        if isinstance(answer, sup.SupervisorError) and "already" in answer.message:
            return {"started": record.phone, "note": "it was already running"}
        return _expect_done(answer) or {"started": record.phone}
    return gw.ask_peer("masters", lambda ref: sup.StartChild(ref=ref, spec=spec), started)


@handler("master.stop")
def master_stop(gw, phone):
    record = _known(gw, phone)
    gw.store.write(lambda txn: masters.update(txn, record.phone, desired="stopped"))
    return gw.ask_peer("masters", lambda ref: sup.DeleteChild(ref=ref, child_id=f"master:{record.phone}"),
                       lambda answer: {"stopped": record.phone})


def _pairing_outcome(gw, phone: str, since: float):
    """What a pairing started at `since` came to: connected, a code to type, a failure, or None yet."""
    with gw.store.read() as txn:
        record = masters.get(txn, phone)
    if record is not None and record.device_state == "connected":
        return {"linking": phone, "connected": True}
    path = os.path.join(gw.ctx.home, "run", f"pairing-{phone}.txt")
    try:
        if os.path.getmtime(path) < since:
            return None   # an earlier pairing's file
        with open(path) as f:
            kind, _, value = f.read().strip().partition(" ")
    except OSError:
        return None
    if kind == "code":
        return {"linking": phone, "code": value}
    if kind == "failed":
        raise CommandError(f"pairing {phone} failed: {value}")
    return None


@handler("master.link")
def master_link(gw, phone, code=False, relink=False, wait=False):
    """Start pairing. With `wait` (a chat command's !relink) answer only once the master is
    connected (sim) or has a pairing code to type on the phone (neonize, code=True)."""
    from actors.balancer.actor import ToMaster
    from actors.session import Link

    record = _known(gw, phone)
    if record.desired != "running":
        raise CommandError(f"master {record.phone} is stopped; start it first: whitecaves master start {record.phone}")
    since = time.time()

    def started(answer):   # the session answers once pairing started; the balancer if it has none
        if answer is None:
            raise CommandError(f"the session of {record.phone} did not answer in time")
        if not answer.ok:
            raise CommandError(f"{answer.error} (it may be starting: try again in a moment)")
        if wait:
            def outcome(result):
                if result is None:
                    raise CommandError(f"pairing {record.phone} gave neither a connection nor a code in time")
                return result
            return Poll(lambda: _pairing_outcome(gw, record.phone, since), outcome, timeout=60.0)
        return {"linking": record.phone, "since": since}
    return gw.ask_peer("balancer", lambda ref: ToMaster(
        record.phone, Link(code=bool(code), relink=bool(relink), ref=ref, reply_to=gw.myAddress),
        reply_to=gw.myAddress, ref=ref), started)


@handler("admin.add")
def admin_add(gw, phone):
    phone = normalize(phone)

    def add(txn):
        if not admins.add(txn, phone):
            raise CommandError(f"{phone} is already an admin")
        events.append(txn, "admin_added", None, phone=phone)
    gw.store.write(add)
    return {"added": phone}


@handler("admin.remove")
def admin_remove(gw, phone):
    phone = normalize(phone)

    def remove(txn):
        if not admins.remove(txn, phone):
            known = ", ".join(a.phone for a in admins.all(txn)) or "none"
            raise CommandError(f"{phone} is not an admin; admins: {known}")
        events.append(txn, "admin_removed", None, phone=phone)
    gw.store.write(remove)
    return {"removed": phone}


@handler("admin.list")
def admin_list(gw):
    with gw.store.read() as txn:
        return [{"phone": a.phone, "added_ts": a.added_ts} for a in admins.all(txn)]


# Handlers of the other areas live beside their logic; importing registers them.
from actors.balancer import admin as _balancer_admin  # noqa: E402,F401
from actors.health import admin as _health_admin  # noqa: E402,F401
