"""Chat's own commands (help, ping, what the store can tell at once) and who the admins are.

Each is one function registered with `@command` (commands/registry.py); its
docstring's first line is its help. Commands that belong to a domain (a
handover, a relink, the health report) live in that domain's commands module.
"""
from __future__ import annotations

import time

from commands.registry import CommandError, Phone, command, table
from runtime.phone import normalize
from storage import admins, conversations, events, masters


@command("chat.help", runs_in="session", chat="help", admin=False)
def help_(call) -> str:
    """What you can ask me"""
    lines = ["Commands:"]
    for cmd in sorted((c for c in table().values() if c.chat), key=lambda c: c.chat):
        if call.is_admin or not cmd.admin:
            lines.append(f"{cmd.usage} — {cmd.help}")
    return "\n".join(lines)


@command("chat.ping", runs_in="session", chat="ping", admin=False, usage="!ping [token]")
def ping(call, words=()) -> str:
    """Check that I answer"""
    # The token comes back, so a sender can match answers to questions.
    return " ".join(["pong", *words[:1]])[:100]


def _masters_lines(txn, detail: bool) -> list[str]:
    counts = conversations.count_by_master(txn)
    lines = []
    for m in masters.all(txn):
        line = f"{m.phone} {m.name}: {m.device_state}, {m.health}, {counts.get(m.phone, 0)} conversations"
        if detail:
            line += f" ({m.role}, priority {m.priority}, weight {m.weight:g}, region {m.region or '-'}"
            line += ", stopped)" if m.desired == "stopped" else ")"
        lines.append(line)
    return lines or ["No masters registered."]


@command("chat.status", runs_in="session", chat="status")
def status(call) -> str:
    """Each master: state, health, conversations"""
    return "\n".join(["Masters:", *_masters_lines(call.txn, detail=False)])


@command("chat.masters", runs_in="session", chat="masters")
def masters_(call) -> str:
    """The masters with role, priority, weight, region"""
    return "\n".join(_masters_lines(call.txn, detail=True))


@command("chat.failover", runs_in="session", chat="failover")
def failover(call) -> str:
    """Failover state and recent events"""
    lines = []
    for m in masters.all(call.txn):
        if m.failover_paused:
            lines.append(f"{m.phone}: automatic failover paused (whitecaves failover resume {m.phone})")
    for e in events.recent(call.txn, limit=8, kinds=("failover", "failover_restore")):
        when = time.strftime("%H:%M:%S", time.gmtime(e.ts))
        d = e.data
        lines.append(f"{when}Z {e.kind} of {e.master}: {d.get('status', 'done')}, "
                     f"{d.get('moved', d.get('count', 0))} conversations moved {d.get('reason', '')}".rstrip())
    return "\n".join(lines) or "No failovers yet."


@command("chat.alerts", runs_in="session", chat="alerts")
def alerts(call) -> str:
    """The latest alerts"""
    lines = []
    for e in events.recent(call.txn, limit=10, kinds=("alert",)):
        when = time.strftime("%m-%d %H:%M", time.gmtime(e.ts))
        lines.append(f"{when}Z [{e.data.get('level', '?')}] {e.data.get('text', e.data.get('kind', ''))}")
    return "\n".join(lines) or "No alerts."


# --- admins: the people who may use admin chat commands and get alerts ---------------

@command("admin.add")
def admin_add(gw, phone: Phone):
    """Register an admin (their WhatsApp number is their identity)"""
    phone = normalize(phone)

    def add(txn):
        if not admins.add(txn, phone):
            raise CommandError(f"{phone} is already an admin")
        events.append(txn, "admin_added", None, phone=phone)
    gw.store.write(add)
    return {"added": phone}


@command("admin.remove")
def admin_remove(gw, phone: Phone):
    """Remove an admin"""
    phone = normalize(phone)

    def remove(txn):
        if not admins.remove(txn, phone):
            known = ", ".join(a.phone for a in admins.all(txn)) or "none"
            raise CommandError(f"{phone} is not an admin; admins: {known}")
        events.append(txn, "admin_removed", None, phone=phone)
    gw.store.write(remove)
    return {"removed": phone}


@command("admin.list")
def admin_list(gw):
    """The admins"""
    with gw.store.read() as txn:
        return [{"phone": a.phone, "added_ts": a.added_ts} for a in admins.all(txn)]
