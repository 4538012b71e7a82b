"""Every chat command, one decorated function each. Adding one touches only this file.

Read-only commands answer from the store at once. Commands that need the
daemon to act forward to an admin handler (the same one the CLI uses) and
give a `reply` that turns the handler's data into the chat answer.
"""
from __future__ import annotations

import time

from actors.chat.registry import COMMANDS, Request, UsageError, command
from storage import conversations, events, masters


@command("help", "What you can ask me")
def help_(req: Request) -> str:
    lines = ["Commands:"]
    for cmd in sorted(COMMANDS.values(), key=lambda c: c.name):
        if req.is_admin or not cmd.admin:
            lines.append(f"{cmd.usage} — {cmd.help}")
    return "\n".join(lines)


@command("ping", "Check that I answer", usage="!ping [token]")
def ping(req: Request) -> str:
    # The token comes back, so a sender can match answers to questions.
    return " ".join(["pong", *req.args[:1]])[:100]


def _masters_lines(txn, detail: bool) -> list[str]:
    counts: dict[str, int] = {}
    for conv in conversations.all(txn):
        counts[conv.master] = counts.get(conv.master, 0) + 1
    lines = []
    for m in masters.all(txn):
        line = f"{m.phone} {m.name}: {m.device_state}, {m.health}, {counts.get(m.phone, 0)} conversations"
        if detail:
            line += f" ({m.role}, priority {m.priority}, weight {m.weight:g}, region {m.region or '-'}"
            line += ", stopped)" if m.desired == "stopped" else ")"
        lines.append(line)
    return lines or ["No masters registered."]


@command("status", "Each master: state, health, conversations", admin=True)
def status(req: Request) -> str:
    return "\n".join(["Masters:", *_masters_lines(req.txn, detail=False)])


@command("masters", "The masters with role, priority, weight, region", admin=True)
def masters_(req: Request) -> str:
    return "\n".join(_masters_lines(req.txn, detail=True))


def _health_reply(data) -> str:
    lines = [f"Health {data['score']:.0f}/100 ({data['grade']})"]
    for m in data.get("masters", []):
        up = m.get("uptime_pct")
        lines.append(f"{m['phone']}: uptime {'-' if up is None else f'{up:.1f}%'}, "
                     f"failovers {m.get('failovers', 0)}, restarts {m.get('restarts', 0)}")
    return "\n".join(lines)


@command("health", "The health report, short", admin=True, reply=_health_reply)
def health(req: Request) -> str:
    req.forward("health.report")
    return "Computing the health report…"


def _load_reply(data) -> str:
    lines = [f"Balance quality {data['balance_quality']:.0f}/100, strategy {data['strategy']}, "
             f"queue {data['queue_depth']}"]
    for m in data["masters"]:
        lines.append(f"{m['master']} {m['name']}: share {m['load_share']:.0f}%, "
                     f"{m['conversations']} conversations, queue {m['queue_depth']}")
    return "\n".join(lines)


@command("load", "Load share and queue per master", admin=True, reply=_load_reply)
def load(req: Request) -> str:
    req.forward("load.metrics")
    return "Measuring the load…"


@command("failover", "Failover state and recent events", admin=True)
def failover(req: Request) -> str:
    lines = []
    for m in masters.all(req.txn):
        if m.failover_paused:
            lines.append(f"{m.phone}: automatic failover paused (whitecaves failover resume {m.phone})")
    recent = events.recent(req.txn, limit=8, kinds=("failover", "failover_restore"))
    for e in recent:
        when = time.strftime("%H:%M:%S", time.gmtime(e.ts))
        d = e.data
        lines.append(f"{when}Z {e.kind} of {e.master}: {d.get('status', 'done')}, "
                     f"{d.get('moved', d.get('count', 0))} conversations moved {d.get('reason', '')}".rstrip())
    return "\n".join(lines) or "No failovers yet."


def _handover_reply(data) -> str:
    targets = ", ".join(f"{n} to {t}" for t, n in data.get("targets", {}).items()) or "none moved"
    text = f"Handover of {data['failed']}: {data['status']}, {data['moved']} conversations ({targets})"
    return text + (f"; {data['error']}" if data.get("error") else "")


@command("handover", "Move a master's conversations to others", usage="!handover +FROM [+TO]",
         admin=True, reply=_handover_reply)
def handover(req: Request) -> str:
    source = req.phone(0)
    target = req.phone(1) if len(req.args) > 1 else None
    if len(req.args) > 2:
        raise UsageError()
    _require_master(req, source)
    if target is not None:
        _require_master(req, target)
        if target == source:
            raise UsageError("a master cannot hand over to itself")
    req.forward("failover.run", phone=source, to=target)
    return f"Handing over {source}'s conversations{f' to {target}' if target else ''}…"


def _relink_reply(data) -> str:
    if data.get("code"):
        return f"Pairing code for {data['linking']}: {data['code']}. On that phone: WhatsApp → Linked devices → Link with phone number."
    return f"{data['linking']} is relinked and connected."


@command("relink", "Pair a master again (after a logout)", usage="!relink +PHONE", admin=True,
         reply=_relink_reply)
def relink(req: Request) -> str:
    if len(req.args) != 1:
        raise UsageError()
    phone = req.phone(0)
    _require_master(req, phone)
    req.forward("master.link", phone=phone, relink=True, code=True, wait=True)
    return f"Relinking {phone}…"


@command("alerts", "The latest alerts", admin=True)
def alerts(req: Request) -> str:
    recent = events.recent(req.txn, limit=10, kinds=("alert",))
    lines = []
    for e in recent:
        when = time.strftime("%m-%d %H:%M", time.gmtime(e.ts))
        lines.append(f"{when}Z [{e.data.get('level', '?')}] {e.data.get('text', e.data.get('kind', ''))}")
    return "\n".join(lines) or "No alerts."


def _require_master(req: Request, phone: str) -> None:
    if masters.get(req.txn, phone) is None:
        known = ", ".join(m.phone for m in masters.all(req.txn)) or "none"
        raise UsageError(f"unknown master {phone}; registered: {known}")
