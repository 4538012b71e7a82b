"""The masters' commands: list, add, remove, start, stop, link — and the daemon's ping.

Each is one function registered with `@command` (commands/registry.py) and
runs in the admin gateway (actors/gateway.py), which starts and stops
sessions through the masters supervisor (`gw.start_master`, `gw.stop_master`)
and reaches a session through the balancer (`gw.link_master`).
"""
from __future__ import annotations

import os
import time

from commands.registry import CommandError, Phone, Poll, UsageError, command
from masters import fields
from masters.lookup import known_master
from runtime import procs
from runtime.phone import normalize
from storage import conversations, events, masters, pairing


def _known(gw, phone: str) -> masters.Master:
    with gw.store.read() as txn:
        return known_master(txn, phone)


@command("ping")
def ping(gw):
    """Check that the daemon answers"""
    return {"pong": True, "pid": os.getpid()}


@command("masters.list")
def masters_list(gw):
    """Every master with its state, health, conversations and session pid"""
    with gw.store.read() as txn:
        counts = conversations.count_by_master(txn)
        out = []
        for m in masters.all(txn):
            running = m.desired == "running" and m.pid and procs.alive(m.pid)
            out.append({"phone": m.phone, "name": m.name, "role": m.role, "priority": m.priority,
                        "weight": m.weight, "region": m.region, "desired": m.desired,
                        "device_state": m.device_state, "health": m.health,
                        "conversations": counts.get(m.phone, 0),
                        "pid": m.pid if running else None})
    return out


@command("master.add")
def master_add(gw, phone: Phone, name, role="primary", priority=0, weight=1.0, region=None):
    """Register a master and start its session"""
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
    return gw.start_master(phone, lambda note: {"added": phone})


@command("master.remove")
def master_remove(gw, phone: Phone):
    """Stop a master's session and forget it"""
    record = _known(gw, phone)

    def forget():
        def drop(txn):
            masters.delete(txn, record.phone)
            events.append(txn, "master_removed", record.phone)
        gw.store.write(drop)
        return {"removed": record.phone}
    return gw.stop_master(record.phone, forget)


@command("master.start")
def master_start(gw, phone: Phone):
    """Start a stopped master (it stays started across daemon restarts)"""
    record = _known(gw, phone)
    gw.store.write(lambda txn: masters.update(txn, record.phone, desired="running"))

    def started(note):
        return {"started": record.phone, **({"note": note} if note else {})}
    return gw.start_master(record.phone, started)


@command("master.stop")
def master_stop(gw, phone: Phone):
    """Stop a master (it stays stopped across daemon restarts)"""
    record = _known(gw, phone)
    gw.store.write(lambda txn: masters.update(txn, record.phone, desired="stopped"))
    return gw.stop_master(record.phone, lambda: {"stopped": record.phone})


def pairing_outcome(store, phone: str, since: float):
    """What a pairing started at `since` came to: connected, a code to type, a failure, or None yet."""
    with store.read() as txn:
        record = masters.get(txn, phone)
        outcome = pairing.get(txn, phone)
    if record is not None and record.device_state == "connected":
        return {"linking": phone, "connected": True}
    if outcome is None or outcome.ts < since:
        return None   # nothing yet, or an earlier pairing's
    if outcome.kind == "code":
        return {"linking": phone, "code": outcome.value}
    if outcome.kind == "failed":
        raise CommandError(f"pairing {phone} failed: {outcome.value}")
    return None


@command("master.pairing")
def master_pairing(gw, phone: Phone):
    """A master's device state and its latest pairing outcome (QR data, code, or why it failed)"""
    phone = normalize(phone)
    with gw.store.read() as txn:
        record = known_master(txn, phone)
        outcome = pairing.get(txn, phone)
    return {"phone": phone, "device_state": record.device_state,
            "pairing": None if outcome is None else {"kind": outcome.kind, "value": outcome.value,
                                                     "ts": outcome.ts}}


@command("master.link")
def master_link(gw, phone: Phone, code=False, relink=False, wait=False):
    """Start pairing a master (QR, or a code typed on the phone)"""
    return _link(gw, phone, bool(code), bool(relink), bool(wait))


def _relink_reply(data) -> str:
    if data.get("code"):
        return (f"Pairing code for {data['linking']}: {data['code']}. On that phone: WhatsApp → "
                "Linked devices → Link with phone number.")
    return f"{data['linking']} is relinked and connected."


def _check_known(txn, phone):
    try:
        known_master(txn, phone)
    except CommandError as e:
        raise UsageError(str(e)) from None


@command("master.relink", chat="relink", usage="!relink +PHONE", reply=_relink_reply,
         ack="Relinking {phone}…", check=_check_known)
def master_relink(gw, phone: Phone):
    """Pair a master again (after a logout)"""
    # Answer only once the master is connected (sim) or has a code to type on the phone (neonize).
    return _link(gw, phone, code=True, relink=True, wait=True)


def _link(gw, phone: str, code: bool, relink: bool, wait: bool):
    record = _known(gw, phone)
    if record.desired != "running":
        raise CommandError(f"master {record.phone} is stopped; start it first: whitecaves master start {record.phone}")
    since = time.time()

    def started():   # the session answered: pairing started
        if wait:
            def outcome(result):
                if result is None:
                    raise CommandError(f"pairing {record.phone} gave neither a connection nor a code in time")
                return result
            return Poll(lambda: pairing_outcome(gw.store, record.phone, since), outcome, timeout=60.0)
        return {"linking": record.phone, "since": since}
    return gw.link_master(record.phone, code, relink, started)
